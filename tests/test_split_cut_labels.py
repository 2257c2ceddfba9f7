"""Session 14's cut labels (classifiers/split_cut/label_faces.py, train.py): per-cell face accuracy, which
candidates are run, and the training targets built from the path's best run."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classifiers" / "split_cut"))

from label_faces import cell_accuracy, run_set  # noqa: E402
from train import accuracy_loss, labels  # noqa: E402


def test_cell_accuracy_is_min_of_recall_and_precision():
    fc = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    owner = np.array([0, 0, 0, 1, 1, 1, 1, -1])  # soma 0 is cell 0, soma 1 cell 1; one face unowned
    acc = cell_accuracy(fc, owner, np.array([0, 1]), 2)
    assert np.allclose(acc, [0.75, 0.75])  # recall 3/4 each; precision 1 and 3/4
    assert np.allclose(cell_accuracy(fc, owner, np.array([1, 0]), 2), [0.25, 0.0])  # somata swapped


def test_run_set_covers_branch_points_stride_and_hand_top():
    s = np.arange(50) * 500.0  # a vertex every 0.5 µm
    cand = np.ones(50, bool)
    cand[:3] = cand[-3:] = False
    junction = np.zeros(50, bool)
    junction[[20, 40]] = True
    hand = np.zeros(50)
    hand[33] = 5.0
    ran = run_set(s, cand, hand, junction, stride_um=2.0, top=1)
    assert {19, 20, 21, 39, 40, 41, 33} <= set(ran.tolist())
    assert cand[ran].all() and len(ran) < cand.sum()
    assert np.all(np.diff(np.floor(s[ran] / 2000.0)) <= 1)  # no 2 µm bin of the path is skipped


def test_accuracy_targets_grade_the_loss_against_the_paths_best():
    d = {"acc_pair": np.array([0.99, 0.988, 0.975, 0.90, 0.5, 0.5]), "path": np.array([0, 0, 0, 0, 1, 1]),
         "dist_um": np.array([1.0, 10.0, 1.0, 1.0, 0.0, 9.0])}
    rows = np.arange(6)
    assert np.allclose(accuracy_loss(d, rows), [0, 0.002, 0.015, 0.09, 0, 0])
    assert labels(d, rows, "rank_acc").tolist() == [3, 3, 2, 0, 3, 3]
    assert labels(d, rows, "rank_acc_dist").tolist() == [4, 3, 2, 0, 4, 3]
    assert np.allclose(labels(d, rows, "regress_acc"), [0, -0.002, -0.015, -0.09, 0, 0])
