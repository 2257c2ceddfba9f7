"""Rebuild every shipped cell-type model from the real data (``../shared/data`` via ``neurd_lite.data``).

Usage: ``python classifiers/train_all.py [--out classifiers/models]`` (measured 13 min wall / 148 s user CPU on
2026-12-05 with load average 14-20 from other jobs; the table model, two outer seeds and the stacked subclass
model, is most of it). The
output is deterministic: a rerun reproduces every ``.txt`` model and ``.json`` sidecar byte for byte.
Order: perisomatic table model, perisomatic engine model, then the dendritic model and the combined-rule
evaluation (which reuses the perisomatic out-of-fold E/I probabilities).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent


def load_script(relpath: str) -> ModuleType:
    """Import a training script by path (``classifiers`` is not a package)."""
    path = HERE / relpath
    name = f"_neurd_lite_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "models")
    args = ap.parse_args(argv)
    peri = load_script("perisomatic/train.py")
    dend = load_script("dendritic/train.py")
    data = peri.load_perisomatic_labelled()
    peri_oof: dict[int, float] = {}
    for variant in peri.VARIANTS:
        t0 = time.time()
        ev = peri.train_variant(variant, data, args.out)
        if variant == "perisomatic":
            o = ev["_oof"]
            peri_oof = {int(n): float(p) for n, p in zip(o["nucleus_id"], o["ei_cal"][:, 1])}
        print(f"{variant}: E/I balanced {ev['ei']['model_calibrated']['balanced_accuracy']:.3f}; subclass balanced "
              f"{ev['subclass']['model_calibrated']['balanced_accuracy']:.3f} (hierarchical "
              f"{ev['subclass']['hierarchical']['balanced_accuracy']:.3f}); v83 column "
              f"{ev['subclass']['v83_cell_type_pred']['balanced_accuracy']:.3f} ({time.time() - t0:.0f} s)", flush=True)
    t0 = time.time()
    res = dend.train(args.out, peri_oof=peri_oof)
    m, c = res["metrics"], res["combined"]
    print(f"dendritic_ei: CV balanced {m['model_calibrated']['balanced_accuracy']:.3f}, accuracy "
          f"{m['model_calibrated']['accuracy']:.3f}; NEURD rule in-sample accuracy "
          f"{m['neurd_handset_rule_in_sample']['accuracy']:.3f}; combined on {c.get('n_cells_with_both', 0)} cells: "
          f"{c.get('combined_product', {}).get('balanced_accuracy', float('nan')):.3f} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
