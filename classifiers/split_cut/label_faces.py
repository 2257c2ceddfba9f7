"""Label cut candidates by the face accuracy the whole splitter reaches when it cuts there (session 14).

    python classifiers/split_cut/label_faces.py /tmp/merge14/tune /tmp/merge14/rows_faces.npz

Session 11's labels judged a candidate by its distance from the true switch (round 1) or by the faces hanging
off the path on either side of it (round 2), neither of which is what the metric sees: after the cut the contact
zone is resolved by continuity, side branches vote (evidence, growth) and second contacts are repaired. Here each
labelled candidate is scored by running :func:`neurd_lite.proofread.split.find_cuts` with that path's cut forced to
the candidate (every other path cut as the default splitter cuts it), then :func:`face_owner`, then the face
accuracy of each true cell (min of recall and precision, as ``benchmarks/eval_split.py`` scores it).

One run costs a whole ``find_cuts`` (0.1-0.2 s), so not every vertex is run: the path's branch points and their
path neighbours, every ``stride_um`` of path, and the hand score's top candidates; every other candidate takes
the label of the nearest run vertex along the path (between two branch points the same subtrees hang on each side,
so the label barely changes there). Rows and features are those of ``capture.paths_of`` (each path also read from
its other soma). Tune seeds only (< 1000).
"""
from __future__ import annotations

import glob
import importlib
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from capture import paths_of  # noqa: E402


def cell_accuracy(fc: np.ndarray, owner: np.ndarray, soma_cell: np.ndarray, n_cells: int) -> np.ndarray:
    """(n_cells,) min(recall, precision) of each true cell's faces; owner: soma index per face (< 0: neither);
    soma_cell: true cell of each soma."""
    got = np.where(owner >= 0, soma_cell[np.clip(owner, 0, None)], -1)
    out = np.zeros(n_cells)
    for t in range(n_cells):
        mine, held = fc == t, got == t
        both = float((mine & held).sum())
        out[t] = min(both / max(mine.sum(), 1), both / held.sum() if held.any() else 0.0)
    return out


def forced_accuracy(case: dict, path_index: int, k: int, params=None, memo: dict | None = None) -> np.ndarray:
    """Per true cell accuracy after splitting with the ``path_index``-th path's cut forced to position ``k``.
    memo: path scores by path (a path's scores depend only on its vertices), shared between runs of one merge."""
    from neurd_lite.proofread.cuts import SplitParams

    S = importlib.import_module("neurd_lite.proofread.split")
    n, fc, C = case["n"], np.asarray(case["fc"]), np.asarray(case["C"])
    orig = S._choose_cut
    calls = [0]

    def forced(n_, pa, sc, forest, arrays, somas, p_):
        i = calls[0]
        calls[0] += 1
        return (k, None) if i == path_index else orig(n_, pa, sc, forest, arrays, somas, p_)

    scores = S.path_scores
    memo = {} if memo is None else memo

    def remembered(x, *args, **kw):
        key = (np.asarray(x).tobytes(), np.asarray(args[0]).tobytes())
        if key not in memo:
            memo[key] = scores(x, *args, **kw)
        return memo[key]

    S._choose_cut, S.path_scores = forced, remembered
    try:
        vo, _ = S.find_cuts(n, params or SplitParams(cut_model=None))  # other paths: the hand score
    finally:
        S._choose_cut, S.path_scores = orig, scores
    soma_cell = np.array([int(np.argmin(np.linalg.norm(C - s.center_nm, axis=1))) for s in n.somas])
    return cell_accuracy(fc, S.face_owner(n, vo), soma_cell, len(C))


def run_set(s_nm: np.ndarray, cand: np.ndarray, hand: np.ndarray, junction: np.ndarray, stride_um: float,
            top: int) -> np.ndarray:
    """Indices of the candidates that are run: branch points and their path neighbours, one per ``stride_um``,
    and the ``top`` best hand scores."""
    idx = np.flatnonzero(cand)
    if not len(idx):
        return idx
    keep = set()
    for j in np.flatnonzero(junction & cand):
        keep.update(q for q in (j - 1, j, j + 1) if 0 <= q < len(cand) and cand[q])
    bins = np.floor(s_nm[idx] / (stride_um * 1e3)).astype(int)
    _, first = np.unique(bins, return_index=True)
    keep.update(idx[first].tolist())
    keep.update(idx[np.argsort(-hand[idx], kind="stable")[:top]].tolist())
    return np.array(sorted(keep))


def label_case(case: dict, stride_um: float = 2.0, top: int = 12) -> list[dict]:
    """``capture.paths_of`` of one merge (forward and reversed readings) with ``acc`` (m, cells) per candidate:
    run where chosen (``ran``), else copied from the nearest run vertex along the path."""
    got = paths_of(case, reverse=True)
    for j in range(0, len(got), 2):
        g = got[j]
        s = np.asarray(g["X"][:, list_index("s_um")]) * 1e3
        junction = g["X"][:, list_index("is_junction")] > 0
        ran = run_set(s, g["cand"], g["hand"], junction, stride_um, top)
        acc = np.full((len(s), len(case["C"])), np.nan)
        memo: dict = {}
        for k in ran:
            acc[k] = forced_accuracy(case, j // 2, int(k), memo=memo)
        if len(ran):
            near = ran[np.abs(s[:, None] - s[ran][None, :]).argmin(axis=1)]
            acc = acc[near]
        mask = np.zeros(len(s), bool)
        mask[ran] = True
        g["acc"], g["ran"] = acc, mask
        got[j + 1]["acc"], got[j + 1]["ran"] = acc[::-1], mask[::-1]
    return got


def list_index(name: str) -> int:
    from neurd_lite.proofread.cut_model import FEATURES

    return FEATURES.index(name)


def main(case_dir: str, out: str) -> None:
    """Rows (as ``capture.rows``) plus per-candidate pair accuracy of every cached tune merge into one ``.npz``;
    each merge's labelled paths are cached beside the merge (``famSEED.lab.pkl``) so a run can be resumed."""
    cols: dict[str, list] = {k: [] for k in ("X", "dist_um", "path", "seed", "cand", "hand", "polarity_ok",
                                             "decisive", "reversed", "face_loss", "acc_pair", "acc_min", "ran")}
    k = 0
    files = sorted(glob.glob(f"{case_dir}/fam*[0-9].pkl"), key=lambda f: int(Path(f).stem[3:]))
    for f in files:
        sd = int(Path(f).stem[3:])
        assert sd < 1000, f"held-out seed {sd} must not be used for training"
        lab = Path(f).with_suffix(".lab.pkl")
        if lab.exists():
            got = pickle.load(open(lab, "rb"))
        else:
            t0 = time.process_time()
            got = label_case(pickle.load(open(f, "rb")))
            pickle.dump(got, open(lab, "wb"))
            print(sd, len(got), "readings", f"{time.process_time() - t0:.0f}s cpu", flush=True)
        for g in got:
            m = len(g["X"])
            ca, cb = g["cells"]
            pair = g["acc"][:, [ca, cb]]
            for key, val in (("X", g["X"]), ("dist_um", g["dist_um"]), ("cand", g["cand"]), ("hand", g["hand"]),
                             ("polarity_ok", g["polarity_ok"]), ("decisive", np.full(m, g["decisive"])),
                             ("reversed", np.full(m, g["reversed"])), ("face_loss", g["face_loss"]),
                             ("acc_pair", pair.mean(axis=1)), ("acc_min", pair.min(axis=1)), ("ran", g["ran"]),
                             ("path", np.full(m, k)), ("seed", np.full(m, sd))):
                cols[key].append(val)
            k += 1
    np.savez_compressed(out, **{key: np.concatenate(v) for key, v in cols.items()})
    print(out, k, "readings", sum(len(x) for x in cols["X"]), "rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
