"""Weighted and grouped quantiles shared by the skeleton, spine and feature code."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` in [0, 1] of ``values`` weighted by ``weights`` (NaN values ignored), interpolated
    between weighted mid-points; NaN when no value has a positive weight. Units are those of ``values``."""
    ok = np.isfinite(values) & (weights > 0)
    if ok.all():  # no masked copies (the per-shell calls of a spine profile: ~30 % of their time is overhead)
        v, w = values, weights
    elif not ok.any():
        return np.nan
    else:
        v, w = values[ok], weights[ok]
    order = v.argsort()
    v, w = v[order], w[order]
    cw = w.cumsum()
    cw -= 0.5 * w
    return float(np.interp(q * w.sum(), cw, v))


def group_weighted_median(group: np.ndarray, values: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups,) weighted median of ``values`` per group with :func:`weighted_quantile`'s interpolation between
    weighted mid-points (NaN for groups without a positive weight)."""
    out = np.full(n_groups, np.nan)
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return out
    g, v, w = (group, values, weights) if ok.all() else (group[ok], values[ok], weights[ok])
    span_v = float(np.abs(v).max()) * 4.0 + 1.0
    order = np.argsort(g + (v + span_v / 2) / span_v)  # by group, then value (one sort on a composite key)
    g, v, w = g[order], v[order], w[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    size = np.diff(np.r_[starts, len(g)])
    total = np.add.reduceat(w, starts)
    cw = np.cumsum(w)
    mid = cw - np.repeat(cw[starts] - w[starts], size) - 0.5 * w  # weighted mid-points within each group
    x = np.repeat(0.5 * total, size)
    below = np.add.reduceat((mid <= x).astype(np.int64), starts)  # mid-points at or below the half weight
    lo = starts + np.maximum(below - 1, 0)
    hi = np.minimum(lo + 1, starts + size - 1)
    span = mid[hi] - mid[lo]
    frac = np.where((below > 0) & (hi > lo) & (span > 0), (0.5 * total - mid[lo]) / np.where(span > 0, span, 1), 0.0)
    out[g[starts]] = v[lo] + np.clip(frac, 0.0, 1.0) * (v[hi] - v[lo])
    return out


def stable_int_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of integer keys (any shape, flattened), by a counting sort when their
    range is at most 4x their count: the positions as the columns of a (range, n) sparse matrix with one entry
    per (key, position), whose canonical CSR form lists each row's columns ascending, i.e. each key's positions
    in their given order (750k working-face corners: 0.069 -> 0.010 s). Other keys: the argsort."""
    k = np.asarray(keys).reshape(-1)
    if len(k) < 4096 or k.dtype.kind not in "iu" or len(k) >= 2**31 - 1:
        return np.argsort(k, kind="stable")
    lo, hi = int(k.min()), int(k.max())
    if hi - lo > 4 * len(k) + 1024:
        return np.argsort(k, kind="stable")
    m = sp.csr_matrix((np.ones(len(k), dtype=np.int8), (k.astype(np.int64) - lo, np.arange(len(k)))),
                      shape=(hi - lo + 1, len(k)))
    m.sort_indices()  # canonical already (distinct entries); a no-op check
    return m.indices.astype(np.int64)


def group_value_order(group: np.ndarray, values: np.ndarray, stable: bool = True) -> np.ndarray:
    """Permutation sorting by ``group``, then ``values``: ``np.lexsort((values, group))`` (stable: the same
    permutation) as two argsorts, the group pass a radix sort when the ids fit 16 bits (538k pairs: 0.105 ->
    0.065 s). ``stable=False``: rows equal in both keys may come in another order (for order statistics)."""
    group = np.asarray(group)
    o = np.argsort(values, kind="stable" if stable else None)
    g = group[o]
    if len(g) and g.dtype.kind in "iu" and g.min() >= 0 and g.max() < 65536:
        return o[np.argsort(g.astype(np.uint16), kind="stable")]
    return o[stable_int_order(g)]


def unique_inverse(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)`` of non-negative integer ids; by one ``bincount`` and a lookup when
    the largest id is small against the count (branch ids of 5.2M faces: ~0.05 s instead of a 0.1-0.9 s sort)."""
    x = np.asarray(ids).reshape(-1)
    if not len(x) or x.dtype.kind not in "iu" or x.min() < 0 or x.max() > 4 * len(x) + 1024:
        u, inv = np.unique(x, return_inverse=True)
        return u, inv.reshape(-1)
    u = np.flatnonzero(np.bincount(x))
    lut = np.zeros(int(u[-1]) + 1, dtype=np.int64)
    lut[u] = np.arange(len(u))
    return u.astype(x.dtype), lut[x]


def weighted_group_quantile(group: np.ndarray, values: np.ndarray, weights: np.ndarray, q: float,
                            n_groups: int) -> np.ndarray:
    """(n_groups,) weighted ``q``-quantile of ``values`` per group: the first value (in sorted order) whose
    cumulative weight fraction reaches ``q``, no interpolation (NaN for empty groups)."""
    out = np.full(n_groups, np.nan)
    if len(values) == 0:
        return out
    order = group_value_order(group, values)
    g, v, w = group[order], values[order], weights[order]
    cw = np.cumsum(w)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    before = np.r_[0.0, cw[:-1]][starts]
    total = np.add.reduceat(w, starts)
    frac = (cw - np.repeat(before, np.diff(np.r_[starts, len(g)]))) / np.repeat(np.maximum(total, 1e-12),
                                                                               np.diff(np.r_[starts, len(g)]))
    hit = frac >= q
    # first index per group where the cumulative fraction reaches q
    idx = np.flatnonzero(hit)
    first = pd.Series(idx).groupby(g[idx]).min()
    out[first.index.to_numpy()] = v[first.to_numpy()]
    return out


def group_quantiles(group: np.ndarray, values: np.ndarray, qs: tuple[float, ...], n_groups: int) -> np.ndarray:
    """(n_groups, len(qs)) unweighted quantiles (lower order statistic) of ``values`` per group; NaN if empty.
    One sort for all quantiles (float values: :func:`_banded_group_quantiles`, the same values)."""
    out = np.full((n_groups, len(qs)), np.nan)
    if len(values) == 0:
        return out
    values = np.asarray(values)
    if values.dtype == np.float64 and not (np.signbit(values) & (values == 0)).any():
        return _banded_group_quantiles(np.asarray(group), values, qs, n_groups, out)
    return sorted_group_quantiles(np.asarray(group), values, qs, n_groups, out)


def sorted_group_quantiles(group: np.ndarray, values: np.ndarray, qs: tuple[float, ...], n_groups: int,
                           out: np.ndarray) -> np.ndarray:
    """:func:`group_quantiles` by one full (group, value) sort, written into ``out`` (n_groups, len(qs)) NaN."""
    order = group_value_order(group, values, stable=False)  # equal values: the same order statistics
    g, v = group[order], values[order]
    cnt = np.bincount(g, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    has = cnt > 0
    for k, q in enumerate(qs):
        out[has, k] = v[start[has] + np.floor(q * (cnt[has] - 1)).astype(np.int64)]
    return out


def _banded_group_quantiles(group: np.ndarray, values: np.ndarray, qs: tuple[float, ...], n_groups: int,
                            out: np.ndarray) -> np.ndarray:
    """:func:`group_quantiles` of float64 values without -0.0: each group's values as one row of a NaN-padded
    matrix (groups banded by size, 2^(b-1) < count <= 2^b, so padding at most doubles a band) sorted row by row
    with ``np.sort`` (values only, no permutation). An order statistic is a value, whatever order equal values
    take, and NaN sorts last in both (-0.0 is excluded: it equals 0.0 but is another value). 614k pairs in 21k
    groups (the 1.3M cell's shaft fits): 0.071 -> 0.025 s."""
    grouped = values[stable_int_order(group)]  # each group's values contiguous (their order is not read)
    cnt = np.bincount(group, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    has = np.flatnonzero(cnt > 0)
    band = np.ceil(np.log2(cnt[has])).astype(np.int64)
    by_band = np.argsort(band, kind="stable")
    for part in np.split(by_band, np.flatnonzero(np.diff(band[by_band])) + 1):
        gs = has[part]
        c = cnt[gs]
        col = np.arange(int(c.max()))
        rows = np.where(col < c[:, None], grouped[np.minimum(start[gs][:, None] + col, len(grouped) - 1)], np.nan)
        rows.sort(axis=1)
        at = np.arange(len(gs))
        for k, q in enumerate(qs):
            out[gs, k] = rows[at, np.floor(q * (c - 1)).astype(np.int64)]
    return out


def group_mode(group: np.ndarray, values: np.ndarray, n_groups: int, default: object) -> np.ndarray:
    """(n_groups,) most common of ``values`` per ``group`` id in [0, n_groups) (ties: the smallest value in
    sorted order); ``default`` for groups without values. One sort, no per-group loop."""
    values = np.asarray(values)
    out = np.full(n_groups, default, dtype=object if values.dtype.kind in "OUS" else np.result_type(values, type(default)))
    if len(values) == 0:
        return out
    names, inv = np.unique(values, return_inverse=True)
    group = np.asarray(group, dtype=np.int64).reshape(-1)
    inv = inv.reshape(-1)
    if len(group) and 0 <= group.min() and group.max() < np.iinfo(np.int64).max // max(len(names), 1):
        # the (group, value) pairs as one int64 key: a 1-D unique in the same lexicographic order as the row
        # unique below (inv < len(names)), ~5x faster than np.unique(axis=0)'s structured sort
        key, counts = np.unique(group * len(names) + inv, return_counts=True)
        pairs = np.column_stack([key // len(names), key % len(names)])
    else:
        pairs, counts = np.unique(np.column_stack([group, inv]), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))  # per group: most votes first, then smallest value
    pairs = pairs[order]
    first = np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]
    out[pairs[first, 0]] = names[pairs[first, 1]]
    return out


def group_normal_equations(grp: np.ndarray, w: np.ndarray, feats: list[np.ndarray], q: np.ndarray,
                           n_grp: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the weighted normal equations of a linear least-squares fit: A (n_grp, nf, nf) = sum of
    w f_i f_j and b (n_grp, nf) = sum of w f_i q over the group's rows (``feats``: nf contiguous (K,) columns).
    Each product is formed as (w f_i) f_j and summed by ``np.bincount`` in row order. When ``feats`` and ``q``
    are finite, rows of weight 0 add exactly +-0 to every sum and are left out (a bincount sum starts at +0 and
    x + -0 = x): the same sums over the other rows in the same order, bit for bit. The spine shaft fits give
    45-60 % of their rows weight 0 (~25 % less time on 894k rows). A bool ``w`` is the weights 0 / 1: with
    finite data the kept rows' products are formed without the factor 1 (1 x f = f, bit for bit)."""
    nf = len(feats)
    A = np.zeros((n_grp, nf, nf))
    b = np.zeros((n_grp, nf))
    unit = False
    if all(np.isfinite(x).all() for x in (*feats, q)):
        rows = np.flatnonzero(w)
        unit = np.asarray(w).dtype == bool
        if len(rows) < len(w):
            grp, q, feats = grp[rows], q[rows], [x[rows] for x in feats]
            w = w if unit else w[rows]
    if not unit:
        w = np.asarray(w, dtype=np.float64)
    for i in range(nf):
        wi = feats[i] if unit else w * feats[i]
        b[:, i] = np.bincount(grp, weights=wi * q, minlength=n_grp)
        for j in range(i, nf):
            A[:, i, j] = A[:, j, i] = np.bincount(grp, weights=wi * feats[j], minlength=n_grp)
    return A, b
