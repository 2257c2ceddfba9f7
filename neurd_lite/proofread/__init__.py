"""Proofreading: split merged cells into one Neuron per soma, and flag merge errors within one cell.

``split(n)`` cuts every skeleton path between two somata at its most likely merge point and rebuilds each cell
(:mod:`.split`, :mod:`.cuts`, :mod:`.build`); ``flag_merge_errors(n)`` adds merge-error flags (:mod:`.flags`) and ``cut_flagged(n)`` removes what they point at;
``split_for_batch(n, decompose)`` is what ``featurize`` calls; ``neurd_lite.testing.touching`` builds synthetic merges
with per-face truth and ``neurd_lite.viz.plot_split`` draws a split.
"""
from .build import cut_flagged, split, split_for_batch
from .cuts import SplitParams, path_scores
from .flags import FlagParams, flag_merge_errors, merge_flags
from .split import NEITHER, SplitNeurons, face_owner, find_cuts

__all__ = ["split", "split_for_batch", "cut_flagged", "SplitParams", "path_scores", "FlagParams", "flag_merge_errors",
           "merge_flags", "NEITHER", "SplitNeurons", "face_owner", "find_cuts"]
