"""viz: the rasterised projection paints every label's colour where its faces are; other views run."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import trimesh  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from neurd_lite import viz  # noqa: E402
from neurd_lite.neuron import Neuron  # noqa: E402


def _two_boxes() -> Neuron:
    left = trimesh.creation.box(extents=(4000, 4000, 4000))
    right = trimesh.creation.box(extents=(4000, 4000, 4000))
    right.apply_translation((10000, 0, 0))
    mesh = trimesh.util.concatenate([left, right])
    n = Neuron(name="boxes", mesh=mesh)
    n.face_compartment[:] = "soma"
    n.face_compartment[len(left.faces):] = "axon"
    return n


def test_projection_paints_each_label_where_it_is():
    n = _two_boxes()
    ax = viz.plot_mesh_projection(n, width_px=200, legend=False)
    image = ax.get_images()[0].get_array()
    x0, x1, _, _ = ax.get_images()[0].get_extent()
    cols = image.shape[1]
    left_col = int((0 - x0) / (x1 - x0) * cols)     # x = 0 µm: the soma box
    right_col = int((10 - x0) / (x1 - x0) * cols)   # x = 10 µm: the axon box
    mid_row = image.shape[0] // 2
    np.testing.assert_allclose(image[mid_row, left_col], to_rgba(viz.LABEL_COLORS["soma"]))
    np.testing.assert_allclose(image[mid_row, right_col], to_rgba(viz.LABEL_COLORS["axon"]))
    gap_col = int((5 - x0) / (x1 - x0) * cols)       # between the boxes nothing is painted
    assert image[mid_row, gap_col, 3] == 0
    assert ax.yaxis_inverted()  # pia (-y) at the top


def test_zoom_keeps_only_faces_in_bounds():
    n = _two_boxes()
    ax = viz.plot_mesh_projection(n, bounds_um=(-3, 3, -3, 3), width_px=100, legend=False)
    x0, x1, _, _ = ax.get_images()[0].get_extent()
    assert x1 < 5  # the axon box at x = 10 µm was left out


def test_plot_spines_uses_the_one_palette(tmp_path):
    assert not hasattr(viz, "SPINE_COLORS")
    n = _two_boxes()
    n.face_labels[:4] = "spine_head"
    n.face_labels[4:8] = "spine_neck"
    out = viz.plot_spines(n, tmp_path / "pics" / "boxes.png", center_nm=np.zeros(3), radius_nm=5000.0,
                          view=np.array([1.0, 1.0, 1.0]), title="boxes")
    assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.colors import to_rgb
    from matplotlib.image import imread

    px = imread(out)[..., :3].reshape(-1, 3)
    for part in ("spine_head", "spine_neck"):  # shaded faces keep the palette colour's proportions
        ref = np.asarray(to_rgb(viz.LABEL_COLORS[part]))
        scale = px @ ref / (ref @ ref)
        close = np.linalg.norm(px - scale[:, None] * ref, axis=1) < 0.02
        assert np.count_nonzero(close & (scale > 0.4) & (scale < 1.01)) > 20, part
