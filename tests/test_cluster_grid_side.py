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
    monkeypatch.setattr(cl, "_cluster_ids", lambda v, vn, h: sides["grid"].append(h) or grid(v, vn, h))
    monkeypatch.setattr(cl, "_optimal_points",
                        lambda v, f, ids, n, h: sides["step"].append(h) or points(v, f, ids, n, h))
    box = trimesh.creation.box(extents=(2000.0, 2000.0, 2000.0))
    v, f = cl.cluster_reduce(np.asarray(box.vertices), np.asarray(box.faces), 2)
    assert len(f) == 12 and len(sides["grid"]) == cl.CLUSTER_SIZE_TRIES
    assert sides["step"] == sides["grid"][-1:]
