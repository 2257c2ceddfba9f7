"""neurd_lite.celltype: shipped cell-type models, loading without pickle, prediction, calibration.

``classify(n)`` (one neuron) and ``classify_perisomatic(df)`` (a table) are the entry points; the models are
LightGBM text files with JSON sidecars in ``neurd_lite/models`` (built by ``classifiers/train_all.py``).
"""
from __future__ import annotations

from .models import ShippedModel, load_model, model_names
from .predict import ClassificationResult, classify, classify_perisomatic

__all__ = ["ClassificationResult", "ShippedModel", "classify", "classify_perisomatic", "load_model", "model_names"]
