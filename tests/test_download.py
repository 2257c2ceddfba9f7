"""download: precomputed meshes into a resumable local cache (offline, against a local file:// layer)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import trimesh

from conftest import write_precomputed_layer
from neurd_lite.download import download, parse_segment_ids
from neurd_lite.errors import InputError
from neurd_lite.io.meshes import load_mesh


def test_parse_segment_ids(tmp_path):
    f = tmp_path / "ids.txt"
    f.write_text("11\n12, 13\n\n11\n")
    assert parse_segment_ids(["5,6", str(f), 7]) == [5, 6, 11, 12, 13, 7]
    with pytest.raises(InputError, match="not a non-negative integer"):
        parse_segment_ids(["12a"])


@pytest.mark.slow
def test_download_from_local_precomputed_layer(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=6000.0)
    tube = trimesh.creation.cylinder(radius=500.0, height=20000.0, sections=16)
    source = write_precomputed_layer(tmp_path, {7: sphere, 9: tube})
    out = tmp_path / "cache"
    report = download(["7,9", "8"], source, out, progress=False)
    assert report.fetched == [7, 9] and report.failed == [8]
    errors = pd.read_csv(out / "download_errors.csv")
    assert errors["segment_id"].tolist() == [8] and "8" in errors["message"].iloc[0]
    got = load_mesh(out / "meshes" / "7.h5")
    assert len(got.faces) == len(sphere.faces)
    np.testing.assert_allclose(got.extents, sphere.extents, rtol=1e-6)
    again = download([7, 9], source, out, progress=False)
    assert again.cached == [7, 9] and again.fetched == []
