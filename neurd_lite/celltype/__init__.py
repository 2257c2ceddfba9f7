"""neurd_lite.celltype: shipped cell-type models, loading without pickle, prediction, calibration.

``classify(n)`` (one neuron), ``classify_perisomatic(df)`` and ``classify_dendritic(df)`` (tables) are the entry
points; ``load_model(name)`` is the one loader of every shipped model; the models are
LightGBM text files with JSON sidecars in ``neurd_lite/models`` (built by ``classifiers/train_all.py``).
"""
from __future__ import annotations

from .models import ShippedModel, load_model, model_names
from .predict import classify, classify_dendritic, classify_perisomatic
from .result import STATUSES, ClassificationResult

__all__ = ["STATUSES", "ClassificationResult", "ShippedModel", "classify", "classify_dendritic",
           "classify_perisomatic", "load_model", "model_names"]
