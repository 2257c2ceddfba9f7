"""The feature columns' order does not depend on which feature family module was imported first."""
from __future__ import annotations

import json
import subprocess
import sys


def _names(first_import: str) -> list[str]:
    code = (f"import {first_import}\n"
            "from neurd_lite.feature import REGISTRY\n"
            "import json; print(json.dumps([f.name for f in REGISTRY]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_registry_order_independent_of_import_order():
    via_api = _names("neurd_lite.feature.api")
    via_spines = _names("neurd_lite.feature.spines")  # what the pipeline's stages module imports first
    via_synapses = _names("neurd_lite.feature.synapses")
    assert via_api == via_spines == via_synapses
    from neurd_lite.feature.registry import FAMILIES, REGISTRY
    ranks = [FAMILIES.index(f.family) for f in REGISTRY]
    assert ranks == sorted(ranks)
