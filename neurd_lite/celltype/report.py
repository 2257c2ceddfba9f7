"""Metrics, plots, model files and model cards written by the training scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..model.shipped import write_booster, write_sidecar
from .calibration import brier, expected_calibration_error, reliability_curve
from .models import unit_of


def label_metrics(y: Sequence[str], pred: Sequence[str | None], classes: Sequence[str]) -> dict[str, Any]:
    """Balanced accuracy, accuracy, per-class precision/recall/support and the confusion matrix (rows: truth).

    A prediction outside ``classes`` (e.g. None, "Unsure") counts as wrong and appears in no column.
    """
    y = np.asarray(y, dtype=object)
    pred = np.asarray([p if p in classes else "__other__" for p in pred], dtype=object)
    cm = np.array([[int(np.sum((y == t) & (pred == p))) for p in classes] for t in classes])
    per_class = {}
    recalls = []
    for i, c in enumerate(classes):
        support = int(np.sum(y == c))
        n_pred = int(np.sum(pred == c))
        recall = cm[i, i] / support if support else float("nan")
        if support:
            recalls.append(recall)
        per_class[c] = {"precision": round(cm[i, i] / n_pred, 4) if n_pred else None,
                        "recall": round(float(recall), 4) if support else None, "support": support}
    return {"balanced_accuracy": round(float(np.mean(recalls)), 4),
            "accuracy": round(float(np.mean(y == pred)), 4), "n": int(len(y)),
            "per_class": per_class, "confusion": cm.tolist(), "confusion_classes": list(classes)}


def proba_metrics(y_idx: np.ndarray, proba: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """``label_metrics`` of the arg-max plus Brier score and ECE of the probabilities."""
    pred = [classes[i] for i in proba.argmax(1)]
    out = label_metrics([classes[i] for i in y_idx], pred, classes)
    out["brier"] = round(brier(proba, y_idx), 4)
    out["ece"] = round(expected_calibration_error(proba, y_idx), 4)
    return out


def plot_confusion(metrics: dict[str, Any], path: Path, title: str) -> Path:
    """Row-normalised confusion matrix with counts, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(metrics["confusion"], dtype=float)
    classes = metrics["confusion_classes"]
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = 1.2 + 0.55 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted (out-of-fold)")
    ax.set_ylabel("hand label")
    ax.set_title(f"{title}\nbalanced accuracy {metrics['balanced_accuracy']:.3f}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of row")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> Path:
    """Reliability diagram of top-class confidence for each named (probabilities, labels) pair."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    for name, (proba, y) in curves.items():
        c = reliability_curve(proba, y)
        ax.plot(c["confidence"], c["accuracy"], marker="o", label=f"{name} (Brier {brier(proba, y):.3f})")
    ax.set_xlabel("predicted confidence (top class)")
    ax.set_ylabel("observed accuracy")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_model(booster: Any, meta: dict[str, Any], directory: Path, name: str) -> tuple[Path, Path]:
    """Write ``NAME.txt`` (LightGBM text) and ``NAME.json`` (sidecar) into ``directory``."""
    return write_booster(booster, _sidecar(meta, name, f"{name}.txt"), directory, name)


def save_sidecar(meta: dict[str, Any], directory: Path, name: str, model_file: str | None = None) -> Path:
    """Write ``NAME.json`` (features with units, plain JSON types); alone (``model_file`` None) for a JSON-only
    logistic model."""
    return write_sidecar(_sidecar(meta, name, model_file), directory, name)


def _sidecar(meta: dict[str, Any], name: str, model_file: str | None) -> dict[str, Any]:
    """The sidecar of a cell-type model: its name, model file and features with units."""
    meta = dict(meta, name=name, model_file=model_file)
    meta["features"] = [{"name": f, "unit": unit_of(f)} for f in meta["features"]]
    return meta


def metrics_table(rows: dict[str, dict[str, Any]]) -> str:
    """Markdown table of balanced accuracy / accuracy / Brier for named metric dicts."""
    lines = ["| model | n | balanced accuracy | accuracy | Brier |", "|---|---|---|---|---|"]
    for name, m in rows.items():
        b = m.get("brier")
        lines.append(f"| {name} | {m['n']} | {m['balanced_accuracy']:.3f} | {m['accuracy']:.3f} | "
                     f"{'–' if b is None else f'{b:.3f}'} |")
    return "\n".join(lines)


def per_class_table(m: dict[str, Any]) -> str:
    """Markdown per-class precision / recall / support."""
    lines = ["| class | precision | recall | support |", "|---|---|---|---|"]
    for c, v in m["per_class"].items():
        p = "–" if v["precision"] is None else f"{v['precision']:.3f}"
        r = "–" if v["recall"] is None else f"{v['recall']:.3f}"
        lines.append(f"| {c} | {p} | {r} | {v['support']} |")
    return "\n".join(lines)


def feature_table(features: Sequence[str]) -> str:
    """Markdown list of features with units."""
    return "\n".join(f"- `{f}` ({unit_of(f)})" for f in features)
