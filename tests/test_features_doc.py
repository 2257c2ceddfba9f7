"""docs/features.md must match the registry (regenerate with python -m neurd_lite.feature.docs)."""
from __future__ import annotations

from neurd_lite.feature.docs import DEFAULT_PATH, main, render


def test_features_doc_is_current():
    assert DEFAULT_PATH.is_file(), "docs/features.md missing: run python -m neurd_lite.feature.docs"
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), \
        "docs/features.md is stale: run python -m neurd_lite.feature.docs"


def test_doc_lists_every_feature_and_check_mode(tmp_path):
    from neurd_lite.feature import REGISTRY

    text = render()
    for f in REGISTRY:
        assert f"`{f.name}`" in text
    out = tmp_path / "f.md"
    assert main([str(out), "--check"]) == 1  # absent file is stale
    assert main([str(out)]) == 0
    assert main([str(out), "--check"]) == 0
