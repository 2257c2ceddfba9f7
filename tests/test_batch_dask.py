"""The CLI against a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes started in another
folder on 127.0.0.1, relative input and output paths on the client (issue 21). Slow: a minute or more."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, worker processes); the workers run in their own folder."""
    home = tmp_path_factory.mktemp("cluster")
    sched_file = home / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--dashboard-address", ":0", "--scheduler-file", str(sched_file)],
                              cwd=home, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    deadline = time.time() + 120
    while not sched_file.is_file() and time.time() < deadline:
        time.sleep(0.2)
    address = json.loads(sched_file.read_text())["address"]
    workers = []
    for i in range(2):
        wdir = home / f"worker{i}"
        wdir.mkdir()
        workers.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                         "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                         "--local-directory", str(wdir)],
                                        cwd=wdir, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True))
    with distributed.Client(address) as c:
        c.wait_for_workers(2, timeout=120)
    yield address, workers
    for p in workers + procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in workers + procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    """A client folder holding cells/ (3 tiny interneurons) and cells/syn/ (their tables)."""
    from neurd_lite.testing.synthetic import make_neuron

    home = tmp_path_factory.mktemp("client")
    (home / "cells" / "syn").mkdir(parents=True)
    for seed in range(3):
        sn = make_neuron(kind="interneuron", seed=seed, target_faces=6000, union=False)
        sn.mesh.export(home / "cells" / f"c{seed}.ply")
        sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].to_csv(home / "cells" / "syn" / f"c{seed}.csv", index=False)
    (home / "cells" / "broken.ply").write_bytes(b"ply\nbroken")
    return home


def _cli(client_dir: Path, out: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "neurd_lite.cli", "featurize", "cells", "--synapses", "cells/syn", "--out", out,
           "--quiet", "--no-save-neuron", *extra]
    return subprocess.Popen(cmd, cwd=client_dir, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_cli_on_a_real_cluster_with_relative_paths(cluster, client_dir):
    address, _ = cluster
    local = _cli(client_dir, "local")
    assert local.wait(timeout=900) == 1  # broken.ply fails
    proc = _cli(client_dir, "dask_out", "--dask-scheduler", address)
    code = proc.wait(timeout=900)
    err = proc.stderr.read().decode()
    assert code == 1, err[-3000:]
    assert "ClientExecutor" not in err and "Traceback" not in err
    out = client_dir / "dask_out"
    feats = pd.read_parquet(out / "features.parquet")
    pd.testing.assert_frame_equal(feats, pd.read_parquet(client_dir / "local" / "features.parquet"))
    errors = pd.read_csv(out / "errors.csv")
    assert list(errors["name"]) == ["broken"] and "could not parse" in errors["message"].iloc[0]
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["this_run"]["done"] == 3 and manifest["this_run"]["failed"] == 1
    # nothing was written in the workers' folders
    assert not list(Path(client_dir).parent.glob("cluster*/worker*/dask_out"))
    # resume: a second run skips the finished neurons and retries only the broken one
    again = _cli(client_dir, "dask_out", "--dask-scheduler", address)
    assert again.wait(timeout=600) == 1
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["this_run"]["skipped"] == 3 and manifest["this_run"]["failed"] == 1


def test_killing_a_worker_mid_run_loses_no_neuron(cluster, client_dir):
    address, workers = cluster
    proc = _cli(client_dir, "killed_out", "--dask-scheduler", address)
    time.sleep(8)  # both workers busy on their first neuron
    os.killpg(workers[0].pid, signal.SIGKILL)
    code = proc.wait(timeout=900)
    err = proc.stderr.read().decode()
    assert code == 1, err[-3000:]
    out = client_dir / "killed_out"
    feats = pd.read_parquet(out / "features.parquet")
    errors = pd.read_csv(out / "errors.csv")
    assert sorted([*feats.index, *errors["name"]]) == ["broken", "c0", "c1", "c2"]  # retried or listed
    done = sorted(feats.index)
    pd.testing.assert_frame_equal(feats.loc[done].drop(columns="source_file"),
                                  pd.read_parquet(client_dir / "local" / "features.parquet").loc[done]
                                  .drop(columns="source_file"))
