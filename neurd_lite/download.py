"""Fetch meshes (and optionally synapse tables) into a local cache that ``featurize`` reads.

Layout of ``out_dir``::

    meshes/SEGMENT_ID.h5                   MeshParty-layout mesh, nm
    synapses/SEGMENT_ID_synapses.csv       x_nm, y_nm, z_nm, is_pre, synapse_id, partner_id, size
    download_errors.csv                    segment_id, stage, error_type, message

Needs the optional extra ``cloud`` (cloud-volume; caveclient for synapses). A segment whose mesh file
already exists is skipped, so an interrupted download resumes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .errors import InputError


@dataclass
class DownloadReport:
    """Segment ids fetched now, already cached, and failed (see download_errors.csv)."""

    out_dir: Path
    fetched: list[int] = field(default_factory=list)
    cached: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def parse_segment_ids(values: Iterable[str | int]) -> list[int]:
    """Integers given directly, comma separated, or as paths to text files with one id per line."""
    ids: list[int] = []
    for v in values:
        text = str(v).strip()
        if Path(text).is_file():
            tokens = Path(text).read_text().replace(",", "\n").split()
        else:
            tokens = text.split(",")
        for t in tokens:
            t = t.strip()
            if not t:
                continue
            if not t.isdigit():
                raise InputError(f"segment id {t!r} is not a non-negative integer", text if Path(text).is_file()
                                 else None, "pass ids like 864691135510518224 or a file with one id per line")
            ids.append(int(t))
    return list(dict.fromkeys(ids))


def _synapse_table(client: Any, segment_id: int) -> pd.DataFrame:
    """Pre- and postsynapses of one segment from a CAVE datastack, positions in nm."""
    frames = []
    for key, is_pre in (("pre_ids", True), ("post_ids", False)):
        df = client.materialize.synapse_query(**{key: segment_id}, desired_resolution=[1, 1, 1])
        if len(df):
            pts = pd.DataFrame(df["ctr_pt_position"].tolist(), columns=["x", "y", "z"], index=df.index)  # nm
            partner = df["post_pt_root_id"] if is_pre else df["pre_pt_root_id"]
            frames.append(pd.DataFrame({"synapse_id": df["id"], "x_nm": pts["x"], "y_nm": pts["y"], "z_nm": pts["z"],
                                        "is_pre": is_pre, "partner_id": partner,
                                        "size": df.get("size", pd.Series(index=df.index, dtype=float))}))
    cols = ["synapse_id", "x_nm", "y_nm", "z_nm", "is_pre", "partner_id", "size"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def download(segment_ids: Iterable[int | str], source: str, out_dir: str | os.PathLike, *,
             datastack: str | None = None, lod: int = 0, progress: bool = True) -> DownloadReport:
    """Fetch each segment's mesh from a neuroglancer precomputed ``source`` (and its synapses from
    ``datastack`` through caveclient when given) into ``out_dir``; one failure never stops the rest."""
    from .io.meshes import load_precomputed, save_meshparty_h5

    out = Path(out_dir)
    (out / "meshes").mkdir(parents=True, exist_ok=True)
    ids = parse_segment_ids(segment_ids)
    report = DownloadReport(out)
    errors = []
    client = None
    if datastack:
        try:
            from caveclient import CAVEclient
        except ImportError as e:
            raise ImportError("synapse download needs caveclient: pip install 'neurd-lite[cloud]'") from e
        client = CAVEclient(datastack)
        (out / "synapses").mkdir(parents=True, exist_ok=True)
    iterator: Iterable[int] = ids
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(ids, unit="segment", desc="download")
    for sid in iterator:
        mesh_path = out / "meshes" / f"{sid}.h5"
        stage = "mesh"
        try:
            if mesh_path.is_file():
                report.cached.append(sid)
            else:
                mesh = load_precomputed(source, sid, lod=lod)
                tmp = mesh_path.with_name(f"{mesh_path.name}.tmp{os.getpid()}")
                save_meshparty_h5(mesh, tmp, overwrite=True)
                os.replace(tmp, mesh_path)
                report.fetched.append(sid)
            syn_path = out / "synapses" / f"{sid}_synapses.csv"
            if client is not None and not syn_path.is_file():
                stage = "synapses"
                table = _synapse_table(client, sid)
                tmp = syn_path.with_name(f"{syn_path.name}.tmp{os.getpid()}")
                table.to_csv(tmp, index=False)
                os.replace(tmp, syn_path)
        except Exception as exc:  # noqa: BLE001 - one bad segment must not stop the download
            report.failed.append(sid)
            errors.append({"segment_id": sid, "stage": stage, "error_type": type(exc).__name__,
                           "message": str(exc) or repr(exc)})
    pd.DataFrame(errors, columns=["segment_id", "stage", "error_type", "message"]).to_csv(
        out / "download_errors.csv", index=False)
    return report
