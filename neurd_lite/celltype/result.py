"""``ClassificationResult`` and the one status scheme of every cell-type answer.

``status`` is the most severe of the reasons found (``status_detail`` lists every reason, most severe first):

- ``"ok"``: the answer comes from models whose inputs are all inside their training range, the views that were
  used agree, the E/I probability is decisive and the neuron carries no doubt flag.
- ``"doubtful"``: an answer is given but should not be trusted as one cell's: a neuron flag of ``DOUBT_FLAGS``
  (merge of several cells, no soma, wrong units, not a minnie65 cortex frame), an E/I probability between
  ``1 - EI_CONFIDENCE`` and ``EI_CONFIDENCE``, or perisomatic inputs partly missing (table path).
- ``"views_disagree"``: the perisomatic and the dendritic view were both used and call different sides; E/I is
  their product (``ei_sources`` holds each).
- ``"out_of_range"``: an input of a consulted model is outside that model's training range (``out_of_range``
  names model, input, value and range). Inside the full training extent the answer is an extrapolation; outside
  it the model is not used, and when no usable view is left ``ei`` is None.
- ``"insufficient_features"``: no answer; ``missing`` names the inputs that would be needed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

OK, DOUBTFUL, VIEWS_DISAGREE, OUT_OF_RANGE, INSUFFICIENT = (
    "ok", "doubtful", "views_disagree", "out_of_range", "insufficient_features")
#: Status values in increasing severity.
STATUSES: tuple[str, ...] = (OK, DOUBTFUL, VIEWS_DISAGREE, OUT_OF_RANGE, INSUFFICIENT)
#: A calibrated E/I probability below this (for the called side) makes the answer ``doubtful``.
EI_CONFIDENCE = 0.8


def worse(a: str, b: str) -> str:
    """The more severe of two status values."""
    return a if STATUSES.index(a) >= STATUSES.index(b) else b


def table_status(n: int, reasons: list[tuple[str, np.ndarray, list[str] | np.ndarray]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``status`` and ``status_detail`` of a table from ``(status, row mask, per-row reason text)``
    triples: the status is the most severe flagged one, the detail lists every reason, most severe first (the
    same text form as :meth:`ClassificationResult.flag`)."""
    level = np.zeros(n, dtype=int)
    parts: list[list[tuple[int, str]]] = [[] for _ in range(n)]
    for status, mask, text in reasons:
        k = STATUSES.index(status)
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            level[i] = max(level[i], k)
            parts[i].append((k, f"{status}: {text[i]}"))
    detail = np.array(["; ".join(t for _, t in sorted(p, key=lambda kt: -kt[0])) for p in parts], dtype=object)
    return np.asarray(STATUSES, dtype=object)[level], detail


def _prob(p: float) -> str:
    """A probability for display: 3 decimals, or 2 significant digits near 0 and 1."""
    if 0.001 <= p <= 0.999:
        return f"{p:.3f}"
    return f"{p:.1e}" if p < 0.001 else f"1 - {1 - p:.1e}"


def _plain(value: Any) -> Any:
    """Python scalars / lists / dicts in place of numpy types (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


@dataclass
class ClassificationResult:
    """E/I and subclass of one neuron with calibrated probabilities, the models and features used.

    status / status_detail: see the module docstring (one scheme; ``doubtful`` is ``status != "ok"``).
    ei, p_inhibitory: the E/I call and its calibrated probability (None when refused).
    subclass, subclass_probabilities: restricted to the decided E/I side and renormalised (``subclass_rule``);
    ``subclass_probabilities_unrestricted`` is the subclass model's own output. ``subclass_status`` is the
    subclass alone: ``"ok"``, ``"out_of_range"`` (refused: inputs outside the training extent) or
    ``"insufficient_features"``.
    ei_sources: calibrated P(inhibitory) of each view consulted; ei_decided_by: the views the call used.
    out_of_range: per model, ``{input: "value outside [lo, hi] (what range)"}``.
    flags: the neuron's quality flags (verbatim; empty for a feature table).
    """

    status: str
    status_detail: str = ""
    ei: str | None = None
    p_inhibitory: float | None = None
    subclass: str | None = None
    subclass_status: str | None = None
    subclass_probabilities: dict[str, float] = field(default_factory=dict)
    subclass_rule: str | None = None
    subclass_probabilities_unrestricted: dict[str, float] = field(default_factory=dict)
    ei_sources: dict[str, float] = field(default_factory=dict)
    ei_decided_by: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    features_used: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    out_of_range: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def flag(self, status: str, reason: str) -> None:
        """Record a reason; ``status`` becomes the most severe so far and ``status_detail`` lists all reasons."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
        self.reasons.append((status, reason))
        self.status = worse(self.status, status)
        ordered = sorted(self.reasons, key=lambda r: -STATUSES.index(r[0]))
        self.status_detail = "; ".join(f"{s}: {r}" for s, r in ordered)

    @property
    def doubtful(self) -> bool:
        """True unless the status is ``"ok"``."""
        return self.status != OK

    @property
    def subclass_probability(self) -> float | None:
        return self.subclass_probabilities.get(self.subclass) if self.subclass else None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (str, float, int, bool, None, lists and dicts of them): JSON-ready."""
        d = asdict(self)
        d.pop("reasons")
        d["doubtful"] = self.doubtful
        d["subclass_probability"] = self.subclass_probability
        return _plain(d)

    def to_frame(self, index: Any = None) -> pd.DataFrame:
        """One-row DataFrame (scalar columns) for batches: ``pd.concat([r.to_frame(i) for i, r in ...])``.

        Columns: status, status_detail, ei, p_inhibitory, subclass, subclass_probability, subclass_status,
        ``p_<subclass>`` per class (restricted probabilities), ``p_inhibitory_<model>`` per view, ei_decided_by,
        models, out_of_range, missing, flags, notes (lists ";"-joined, out_of_range as ``model.input`` names)."""
        row: dict[str, Any] = {
            "status": self.status, "status_detail": self.status_detail, "ei": self.ei,
            "p_inhibitory": np.nan if self.p_inhibitory is None else float(self.p_inhibitory),
            "subclass": self.subclass,
            "subclass_probability": np.nan if self.subclass_probability is None else self.subclass_probability,
            "subclass_status": self.subclass_status}
        row.update({f"p_{c}": float(v) for c, v in self.subclass_probabilities.items()})
        row.update({f"p_inhibitory_{m}": float(v) for m, v in self.ei_sources.items()})
        row.update({"ei_decided_by": ";".join(self.ei_decided_by), "models": ";".join(self.models),
                    "out_of_range": ";".join(f"{m}.{f}" for m, fs in self.out_of_range.items() for f in fs),
                    "missing": ";".join(self.missing), "flags": ";".join(self.flags), "notes": " | ".join(self.notes)})
        return pd.DataFrame([row], index=[0 if index is None else index])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython / Jupyter display: the multi-line summary of ``str``."""
        p.text("ClassificationResult(...)" if cycle else str(self))

    def __str__(self) -> str:
        lines = []
        if self.ei is None:
            lines.append("cell type: no answer")
        else:
            head = f"cell type: {self.ei} (P(inhibitory) = {_prob(self.p_inhibitory)})"
            if self.subclass:
                head += f", subclass {self.subclass} ({self.subclass_probability:.3f})"
            lines.append(head)
        lines.append(f"status: {self.status}" + (f" - {self.status_detail}" if self.status_detail else ""))
        if self.ei_sources:
            views = ", ".join(f"{m} {_prob(p)}" for m, p in self.ei_sources.items())
            lines.append(f"E/I views (P(inhibitory)): {views}; decided by {' x '.join(self.ei_decided_by) or '-'}")
        if self.subclass_probabilities:
            top = sorted(self.subclass_probabilities.items(), key=lambda kv: -kv[1])[:4]
            lines.append("subclass: " + ", ".join(f"{c} {p:.3f}" for c, p in top)
                         + (f" ({self.subclass_rule})" if self.subclass_rule else ""))
        elif self.subclass_status and self.subclass_status != OK:
            lines.append(f"subclass: none ({self.subclass_status})")
        for model, feats in self.out_of_range.items():
            lines.append(f"out of range in {model}: " + "; ".join(f"{f} {why}" for f, why in feats.items()))
        if self.missing:
            lines.append(("missing inputs: " if self.ei is None else "missing for the subclass: ")
                         + ", ".join(self.missing))
        if self.flags:
            lines.append("neuron flags: " + ", ".join(self.flags))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)
