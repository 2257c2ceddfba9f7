"""Session 24: force the soma-path cut at one cell's own branch point and read where its sibling goes (diagnosis).

    python benchmarks/split_forced.py --out /tmp/merge24/forced_tune.json /tmp/merge24/tune "" "zone_undecided_nm=40000"

Held-out failures of the splitter (fam2174 / 2175 / 2218) were cuts placed at a cell's own branch point with a
large sibling left with the other cell; tune merges rarely show that cut naturally, so this script makes it: on
every 2-cell merge cache of DIR (``split_causes.load_case``), each junction of the soma-to-soma path whose two path
neighbours share one true cell and that lies >= 5 µm from the path's true switch (and >= 15 µm from both ends) is
chosen as the cut (``split._choose_cut`` replaced, ``end_on_stretch_nm=0``), once on each of its two path edges.
For every off-path branch leaving there (reach >= 10 µm) a row records its true cell ("A": the first soma's), the
owner each ARM (``SplitParams`` keywords) gives it, its faces and reach, its whole-subtree growth vote and the
cues read at the junction (cosines of its direction with the two path arms over 2-10 µm, their median radii),
and each arm's face accuracy per true cell (min(recall, precision)) under that forced cut (``ARM_cells``).
The forced cut keeps the path's ranker scores (session 25: ``own_junction_recut`` moves the cut by them).

    python benchmarks/split_forced.py /tmp/merge24/tune "" "own_junction_recut=True"
"""
from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from split_causes import _path, load_case  # noqa: E402

from neurd_lite.proofread import SplitParams, face_owner, find_cuts  # noqa: E402
from neurd_lite.proofread.forest import _Forest, _soma_vertices  # noqa: E402
from neurd_lite.proofread.growth import zone_growth_vote  # noqa: E402
from neurd_lite.proofread.stretch import _unit  # noqa: E402
from neurd_lite.testing.merge import skeleton_vertex_cell  # noqa: E402

SPLIT = importlib.import_module("neurd_lite.proofread.split")
FORCED = {"k": 0}
_CHOOSE = SPLIT._choose_cut


def _forced_cut(*args) -> tuple[int, np.ndarray | None]:
    """The forced cut with the path's own ranker scores (None without a ranker)."""
    return FORCED["k"], _CHOOSE(*args)[1]


def cell_accuracy(n, vo: np.ndarray, fc: np.ndarray, st: list[int]) -> list[float]:
    """Face accuracy min(recall, precision) of each true cell (index of ``st``'s soma order) under owners ``vo``."""
    fo = face_owner(n, vo)
    own = np.asarray(st + [-1])[np.where(fo >= 0, fo, len(st))]
    out = []
    for c in range(len(st)):
        mine, got = fc == st[c], own == st[c]
        out.append(round(min(float(got[mine].mean()), float(mine[got].mean()) if got.any() else 0.0), 4))
    return out


def arm_params(arm: str) -> SplitParams:
    """The forced-cut ``SplitParams`` of one arm: ``end_on_stretch_nm=0`` and the arm's keywords
    (``name=value, ...``, values Python literals; "" = the defaults otherwise)."""
    try:
        call = ast.parse(f"f({arm})", mode="eval").body
        if call.args:
            raise ValueError("positional value")
        kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (SyntaxError, ValueError) as e:
        raise SystemExit(f"split_forced: arm {arm!r} is not name=value keywords ({e}); "
                         "e.g. \"zone_undecided_nm=40000, zone_long_nm=30000\"") from e
    return SplitParams(**{"end_on_stretch_nm": 0.0, **kw})


def _junction_cues(fo: _Forest, r: np.ndarray, p: np.ndarray, s: np.ndarray, q: int, u: int) -> dict:
    """Cosines of the branch entered at path position ``q`` through ``u`` with the two path arms, and the three
    median radii (nm), all read 2-10 µm from the junction."""
    v, x, d, i = int(p[q]), fo.x, np.abs(s - s[q]), np.arange(len(p))
    arms = [(d >= 2000) & (d <= 10000) & (i < q), (d >= 2000) & (d <= 10000) & (i > q)]
    near, _ = fo.reach(u, v, 10000)
    near = near[np.linalg.norm(x[near] - x[v], axis=1) >= 2000]

    def med(idx: np.ndarray) -> float:
        a = r[idx]
        a = a[np.isfinite(a)]
        return round(float(np.median(a))) if len(a) else -1

    da, db = (_unit(x[p[w]].mean(0) - x[v]) if w.any() else np.zeros(3) for w in arms)
    ds = _unit(x[near].mean(0) - x[v]) if len(near) else np.zeros(3)
    return {"cos_sib_armA": round(float(ds @ da), 2), "cos_sib_armB": round(float(ds @ db), 2),
            "r_armA": med(p[arms[0]]), "r_armB": med(p[arms[1]]), "r_sib": med(near)}


def forced_rows(path: Path, arms: list[str]) -> list[dict]:
    """One row per (own branch point, cut edge, sibling) of a 2-cell merge cache (see the module doc)."""
    n, fc, C, _, _ = load_case(path)
    if len(n.somas) != 2 or len(C) != 2:
        return []
    sv = _soma_vertices(n)
    p, s = _path(n, sv[0], sv[1])
    st = [int(np.argmin(np.linalg.norm(C - so.center_nm, axis=1))) for so in n.somas]
    vt = skeleton_vertex_cell(n, fc)
    t = vt[p]
    agree = np.cumsum(t == st[0]) + np.concatenate([np.cumsum((t == st[1])[::-1])[::-1][1:], [0]])
    sw = s[int(np.argmax(agree))]
    f2s = np.asarray(n.face_to_skeleton)
    fpv = np.bincount(f2s[f2s >= 0], minlength=n.skeleton.n_vertices)
    fo, onp = _Forest.from_skeleton(n.skeleton), set(p.tolist())
    r = np.asarray(n.skeleton.radius, float)
    centres = (np.asarray(n.somas[0].center_nm), np.asarray(n.somas[1].center_nm))
    params = [arm_params(a) for a in arms]
    rows = []
    for q in range(3, len(p) - 3):
        v = int(p[q])
        if len(fo.adj[v]) < 3 or abs(s[q] - sw) < 5000 or min(s[q], s[-1] - s[q]) < 15000 \
                or not (t[q - 1] == t[q] == t[q + 1] >= 0):
            continue
        sibs = []
        for u in fo.adj[v] - onp:
            sub, far = fo.reach(u, v, np.inf)
            tv = vt[sub][vt[sub] >= 0]
            if far >= 10000:
                sibs.append((u, sub, far, int(np.bincount(tv).argmax()) if len(tv) else -1))
        for k in (q, q - 1) if sibs else ():
            FORCED["k"] = k
            owners = [find_cuts(n, prm)[0] for prm in params]
            cells = [cell_accuracy(n, vo, fc, st) for vo in owners]
            for u, sub, far, tc in sibs:
                row = {"case": path.stem, "junction_um": round(s[q] / 1000, 1), "switch_um": round(sw / 1000, 1),
                       "junction_cell": "A" if t[q] == st[0] else "B", "kept_on": "A" if k == q else "B",
                       "reach_um": round(far / 1000, 1), "faces": int(fpv[sub].sum()),
                       "true": "A" if tc == st[0] else "B",
                       "growth": round(zone_growth_vote(fo, v, u, centres, set(sv)), 3),
                       **_junction_cues(fo, r, p, s, q, u)}
                for a, vo, acc in zip(arms, owners, cells):
                    o = vo[sub][vo[sub] >= 0]
                    row[a or "default"] = "A" if len(o) and np.bincount(o).argmax() == 0 else "B"
                    row[(a or "default") + "_cells"] = acc
                rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("arms", nargs="*", default=[""], help='SplitParams keywords per arm ("" = default)')
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    SPLIT._choose_cut = _forced_cut
    rows = [r for f in sorted(Path(args.folder).glob("fam*.pkl")) for r in forced_rows(f, args.arms)]
    cuts = {(r["case"], r["junction_um"], r["kept_on"]): r for r in rows}  # one per forced cut
    for a in args.arms:
        wrong = [r for r in rows if r[a or "default"] != r["true"]]
        acc = [c for r in cuts.values() for c in r[(a or "default") + "_cells"]]
        print(f"{a or 'default'}: {len(rows)} rows, sibling on the wrong side {len(wrong)}, "
              f"faces {sum(r['faces'] for r in wrong)}; {len(cuts)} forced cuts, cells >= .95 "
              f"{sum(c >= .95 for c in acc)} of {len(acc)}, mean {np.mean(acc) if acc else float('nan'):.4f}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=0))


if __name__ == "__main__":
    main()
