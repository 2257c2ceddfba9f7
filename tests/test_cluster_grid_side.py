"""Vertex clustering (``mesh/cluster.py``): the quadric points' step bound is the side of the grid that was used."""
import numpy as np
import trimesh

import neurd_lite.mesh.cluster as cl


def test_cluster_step_bound_is_the_grid_side_used(monkeypatch) -> None:
    """When no grid side gives the asked count (a box's 8 corners have 8 normal octants, so 1 cluster is never
    reached) the quadric points are still bounded by the side of the grid that made the clusters, not by a side
    corrected after the last try."""
    sides: dict = {"grid": [], "step": []}
    grid, points = cl._cluster_ids, cl._optimal_points
    monkeypatch.setattr(cl, "_cluster_ids",
                        lambda v, vn, h, alone=None: sides["grid"].append(h) or grid(v, vn, h, alone))
    monkeypatch.setattr(cl, "_optimal_points",
                        lambda v, f, ids, n, h: sides["step"].append(h) or points(v, f, ids, n, h))
    box = trimesh.creation.box(extents=(2000.0, 2000.0, 2000.0))
    v, f = cl.cluster_reduce(np.asarray(box.vertices), np.asarray(box.faces), 2)
    assert len(f) == 12 and len(sides["grid"]) == cl.CLUSTER_SIZE_TRIES
    assert sides["step"] == sides["grid"][-1:]


def test_cluster_reduce_refuses_empty_and_flat_inputs():
    """No faces, or faces of zero area, give an InputError (what and what to do), not a NaN grid."""
    import numpy as np
    import pytest

    from neurd_lite.errors import InputError
    from neurd_lite.mesh.cluster import cluster_reduce

    v = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    with pytest.raises(InputError, match="no faces"):
        cluster_reduce(v, np.zeros((0, 3), int), 100)
    with pytest.raises(InputError, match="zero surface area"):
        cluster_reduce(v, np.array([[0, 1, 2]]), 100)
