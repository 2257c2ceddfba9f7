"""Command line: ``neurd-lite <subcommand> ...``.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its arguments and sets
``func`` to a ``_run_<name>(args) -> int`` handler. To add a subcommand (classify, featurize, download, ...),
write those two functions and append ``_add_<name>`` to ``_SUBCOMMANDS``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence


def faces_arg(text: str) -> int | str:
    """``--target-faces``: a number of faces or ``auto`` (also used by benchmarks/bench_pipeline.py)."""
    return text if text == "auto" else int(text)


def _parse_units(text: str) -> Any:
    """``nm`` / ``um`` / a number of nm per unit (e.g. ``8`` for 8 nm voxels) / ``4,4,40``."""
    from .units import parse_units

    return parse_units(text)


DESCRIPTION = """neurd-lite: EM neuron meshes -> soma, skeleton, compartments, spines, synapse targets, µm features
and cell types.

start here:
  neurd-lite example --out ex/                          a generated cell, end to end, with a picture
  neurd-lite decompose cell.ply --synapses syn.csv --out out/
  neurd-lite featurize meshes/ --synapses syn/ --out table/   many cells -> parquet tables
  neurd-lite COMMAND --help                             the options of one command"""


def _print_text(text: str) -> None:
    """Print ``text`` as is (µm, not \\u00b5m); on a console that cannot show a character, its escape."""
    try:
        print(text)
    except UnicodeEncodeError:
        print(text.encode("ascii", "backslashreplace").decode("ascii"))


def _print_summary(summary: dict[str, Any]) -> None:
    _print_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False))


def _add_params_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", default=None, metavar="FILE",
                   help="PipelineParams as YAML (.yaml/.yml) or JSON; a partial tree is fine (others: defaults)")


def _load_params(args: argparse.Namespace) -> Any:
    """The ``--params`` file as a PipelineParams (defaults without it)."""
    from .params import PipelineParams

    return PipelineParams() if args.params is None else PipelineParams.load(args.params)


# ---- decompose ------------------------------------------------------------------------------------------
def _add_decompose(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decompose", help="mesh -> soma, skeleton, branch graph, labels; writes DIR/NAME.h5")
    p.add_argument("mesh", help="mesh file (.ply, .off, .obj, .stl, MeshParty .h5)")
    p.add_argument("--synapses", default=None, help="synapse table (csv/parquet) with positions")
    p.add_argument("--units", default="nm",
                   help="mesh units: nm, um, or nm per voxel (e.g. 8 or 4,4,40); default: nm (MICrONS meshes)")
    p.add_argument("--synapse-units", default=None,
                   help="synapse position units, same syntax (default: the units that put the synapses on the "
                        "mesh, tried among the mesh's units, nm, 4,4,40, 8 and um; the choice is printed)")
    p.add_argument("--soma", nargs=3, type=float, default=None, metavar=("X", "Y", "Z"),
                   help="known soma centre in the mesh's units")
    p.add_argument("--target-faces", type=faces_arg, default=None,
                   help="working-mesh size: larger inputs are decimated to about this many faces; 'auto' (the "
                        "default): a size from the surface area, 250k-1M faces (DecimateParams.target_faces)")
    p.add_argument("--backend", default=None, choices=["teasar", "meshparty", "skeletor"],
                   help="skeletonization backend (default: teasar, built in, or the --params file's; "
                        "meshparty, skeletor: optional extras)")
    p.add_argument("--name", default=None, help="neuron name (default: mesh file stem)")
    _add_params_flag(p)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_run_decompose)


def _run_decompose(args: argparse.Namespace) -> int:
    import numpy as np

    from dataclasses import replace

    from .pipeline import decompose
    from .units import scale_to_nm

    if args.name is not None and not _safe_name(args.name):
        print(f"neurd-lite decompose: error: --name {args.name!r} must be a plain file name (no '/', '\\', "
              "'..' or leading '.'), since it names OUT/NAME.h5", file=sys.stderr)
        return 2
    units = _parse_units(args.units)
    soma = None
    if args.soma is not None:
        soma = np.asarray(args.soma, dtype=float) * scale_to_nm(units)
    name = args.name or Path(args.mesh).stem
    params = _load_params(args)
    if args.target_faces is not None:
        params = replace(params, decimate=replace(params.decimate, target_faces=args.target_faces))
    if args.backend is not None:
        params = replace(params, skeleton=replace(params.skeleton, backend=args.backend))
    syn_units = None if args.synapse_units is None else _parse_units(args.synapse_units)
    n = decompose(args.mesh, synapses=args.synapses, units=units, soma=soma, name=name, params=params,
                  synapse_units=syn_units)
    return _save_and_report(n, args.out)


def _safe_name(name: str) -> bool:
    """True when ``name`` can only name a file directly inside the output folder."""
    return bool(name) and not name.startswith(".") and not any(c in name for c in "/\\\0") and name == Path(name).name


def _save_and_report(n: Any, out_dir: str) -> int:
    """Write ``out_dir/NAME.h5`` and print the neuron's summary.

    The summary's ``skeleton_edge_length_um`` is the raw sum of every skeleton edge (edges inside the soma
    included); the ``cable_length_um`` feature of ``nl.features`` counts only the edges of the neuron's compartment
    vertices and is usually a few per cent shorter."""
    out = Path(out_dir) / f"{n.name}.h5"
    if not _safe_name(str(n.name)) or out.resolve().parent != Path(out_dir).resolve():
        raise ValueError(f"neuron name {n.name!r} would write outside {out_dir} (give --name a plain file name: no "
                         "path separators, not starting with '.')")
    n.save(out)
    _print_summary(n.summary())
    su = n.provenance.get("synapse_units")
    if su:
        d = su["median_distance_nm"].get(su["used"])
        _print_text(f"synapse units: {su['used']} ({su['how']}; median synapse {d:.0f} nm from the mesh)")
    print(f"wrote {out}")
    return 0


# ---- example -------------------------------------------------------------------------------------------
def _add_example(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("example", help="decompose, featurize and classify a generated neuron (no data/network); "
                                        "writes the neuron (.h5), its features (.csv) and a picture (.png)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed of the generated neuron (default 0)")
    p.add_argument("--faces", type=int, default=30000,
                   help="approximate face count of the generated shafts and soma; spines add more (default 30000: "
                        "about 90k faces in all for the pyramidal cell)")
    p.add_argument("--kind", default="pyramidal", choices=["pyramidal", "interneuron"],
                   help="which cell to generate (default pyramidal; the interneuron is aspiny and quicker)")
    p.set_defaults(func=_run_example)


def _step(name: str, seconds: float) -> None:
    """One progress line: the stage and its time."""
    _print_text(f"  {name:<13} {seconds:6.1f} s")
    sys.stdout.flush()


def _run_example(args: argparse.Namespace) -> int:
    import time

    from .pipeline import decompose
    from .testing.synthetic import make_neuron

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _print_text(f"neurd-lite example: a generated {args.kind} neuron (seed {args.seed}), by stage:")
    t = time.perf_counter()
    made = make_neuron(kind=args.kind, seed=args.seed, target_faces=args.faces)
    _step("generate", time.perf_counter() - t)
    synapses = made.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]] if len(made.synapses) else None
    n = decompose(made.mesh, synapses=synapses, name="synthetic_example", progress=_step)
    paths = {"neuron": out / f"{n.name}.h5", "features": out / f"{n.name}_features.csv",
             "picture": out / f"{n.name}.png"}
    n.save(paths["neuron"])
    from .celltype import classify
    from .feature import features

    t = time.perf_counter()
    row = features(n)
    row.to_csv(paths["features"])
    _step("features", time.perf_counter() - t)
    t = time.perf_counter()
    result = classify(n)
    _step("classify", time.perf_counter() - t)
    t = time.perf_counter()
    from .viz import plot_cell

    plot_cell(n, paths["picture"])
    _step("picture", time.perf_counter() - t)
    _print_example_result(n, row, result)
    for what, path in paths.items():
        _print_text(f"wrote {what:<9} {path}")
    return 0


def _print_example_result(n: Any, row: Any, result: Any) -> None:
    """A few lines a person reads: what was found, the class, the flags."""
    syn = n.synapses
    targets = syn["target"].value_counts().to_dict() if syn is not None and "target" in syn else {}
    spines = 0 if n.spines is None else len(n.spines)
    _print_text(f"found {len(n.somas)} soma, {len(n.branch_nodes)} branches, {spines} spines; synapse targets "
                + ", ".join(f"{k} {v}" for k, v in targets.items()))
    _print_text(f"{int(row.notna().sum(axis=1).iloc[0])} of {row.shape[1]} features computed")
    res = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    p_sub = (res.get("subclass_probabilities") or {}).get(res.get("subclass"))
    _print_text(f"class: {res.get('ei')} (p_inhibitory {res.get('p_inhibitory', float('nan')):.3f}), subclass "
                f"{res.get('subclass')}" + (f" (p {p_sub:.2f})" if p_sub is not None else "")
                + f"; status {res.get('status')}" + (f"; out of range: {res['out_of_range']}"
                                                     if res.get("out_of_range") else ""))
    _print_text("flags: " + ("; ".join(n.flags) if n.flags else "none"))


# ---- featurize -----------------------------------------------------------------------------------------
FEATURIZE_EXIT_CODES = """exit codes:
  0    every input featurized (or already done in an earlier run)
  1    the batch ran to the end but at least one input failed (listed in OUT/errors.csv)
  2    no input matched (empty folder, glob matching nothing) or bad arguments; nothing was run
  130  interrupted (Ctrl-C): the tables hold what finished; rerun the same command to resume"""


def _add_featurize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("featurize", help="decompose + featurize many meshes into parquet tables (resumable)",
                       epilog=FEATURIZE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="mesh files, folders or glob patterns")
    p.add_argument("--out", required=True, help="output folder (features.parquet, errors.csv, ...)")
    p.add_argument("--synapses", default=None,
                   help="synapse folder (tables named STEM, STEM_synapses or synapses_STEM for mesh STEM.ply; never "
                        "a prefix match), one table, or a pattern with {stem} / {id} (leading digits of the stem), "
                        "e.g. 'syn/{id}_synapses.csv'")
    p.add_argument("--synapse-manifest", default=None,
                   help="csv with columns mesh,synapses naming the table of each mesh (path, file name or stem)")
    p.add_argument("--units", default="nm",
                   help="mesh units: nm, um, nm per voxel (8), or per-input rules 'fly/*=8,*.ply=um,*=nm'")
    p.add_argument("--synapse-units", default=None,
                   help="synapse position units, same syntax as --units (e.g. 8, 4,4,40 or 'fly/*=8,*=4,4,40'; "
                        "inputs no rule matches: from the table layout, e.g. 4,4,40 for MICrONS columns)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--dask-scheduler", default=None, help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786 (optional extra 'dask'; "
                        "workers must read the input paths; results are written here by this process)")
    p.add_argument("--timeout", type=float, default=None, help="per-neuron time limit, seconds")
    p.add_argument("--max-memory-mb", type=float, default=None, help="per-worker memory limit (resident set), MiB; the worker is stopped above it "
                        "and the neuron listed as MemoryError (also with --workers 1)")
    p.add_argument("--no-save-neuron", action="store_true", help="do not write one .h5 per neuron")
    p.add_argument("--segment-id-from-name", action="store_true",
                   help="each mesh's leading digits are its root id: synapse rows of other neurons are left out "
                        "(one CAVE table for several neurons); a --synapse-manifest may instead give a "
                        "segment_id column")
    p.add_argument("--no-split", action="store_true",
                   help="keep a mesh with several somata (a merge) as one row instead of one row per soma")
    p.add_argument("--quiet", action="store_true", help="no progress bar; log lines only")
    _add_params_flag(p)
    p.set_defaults(func=_run_featurize)


def _run_featurize(args: argparse.Namespace) -> int:
    import logging

    from .batch import NoInputs, featurize, flag_summary, parse_units_rules

    logging.basicConfig(level=logging.INFO if args.quiet else logging.WARNING, format="%(levelname)s %(message)s")
    for flag, text in (("--units", args.units), ("--synapse-units", args.synapse_units)):
        try:
            parse_units_rules(text)
        except ValueError as e:
            print(f"neurd-lite featurize: error: {flag}: {e}", file=sys.stderr)
            return 2
    units, syn_units = (text if text is None or "=" in text else _parse_units(text)
                        for text in (args.units, args.synapse_units))  # rules stay text for featurize
    try:
        report = featurize(args.inputs, args.out, synapses=args.synapses, units=units, synapse_units=syn_units,
                           workers=args.workers, dask_scheduler=args.dask_scheduler, timeout_s=args.timeout,
                           max_memory_mb=args.max_memory_mb, progress=not args.quiet,
                           save_neuron=not args.no_save_neuron, synapse_manifest=args.synapse_manifest,
                           split=not args.no_split, segment_ids="name" if args.segment_id_from_name else None,
                           params=_load_params(args))
    except NoInputs as e:
        print(f"neurd-lite featurize: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        done = getattr(e, "report", None)
        counts = "" if done is None else f" {done.n_finished} of {done.n_total} done ({len(done.failed)} failed);"
        print(f"interrupted:{counts} rerun the same command to resume", file=sys.stderr)
        return 130
    for text in report.unmatched:
        print(f"neurd-lite featurize: warning: no mesh files match {text!r}", file=sys.stderr)
    if report.no_synapses:
        print(f"neurd-lite featurize: warning: {len(report.no_synapses)} of {report.n_total} inputs had no "
              f"matching synapse table (--synapses {args.synapses!r}); see run_manifest.json "
              f"inputs_without_synapses", file=sys.stderr)
    if report.dropped_synapse_rows:
        print(f"neurd-lite featurize: warning: {report.dropped_synapse_rows} synapse rows dropped (no finite "
              f"position); listed in {report.out_dir / 'dropped_synapses.csv'}", file=sys.stderr)
    summary = (f"{len(report.done)} featurized, {len(report.skipped)} already done, {len(report.failed)} of "
               f"{report.n_total} inputs failed (see {report.out_dir / 'errors.csv'}) in {report.seconds:.1f} s")
    print(summary, file=sys.stderr if report.failed else sys.stdout)  # once: stderr when something failed
    for line in flag_summary(report.out_dir):
        print(line)
    return 1 if report.failed else 0


# ---- download ------------------------------------------------------------------------------------------
DOWNLOAD_EXIT_CODES = """exit codes:
  0    every segment fetched or already in the cache
  1    at least one segment failed (listed in OUT/download_errors.csv); the others were fetched
  2    bad arguments; nothing was fetched"""


def _add_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch meshes (and synapses) into a local cache (extra 'cloud')",
                       epilog=DOWNLOAD_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("segment_ids", nargs="+", help="segment ids, comma lists, or files with one id per line")
    p.add_argument("--source", required=True, help="neuroglancer precomputed source, e.g. precomputed://gs://...")
    p.add_argument("--out", required=True, help="cache folder (meshes/ID.h5, synapses/ID_synapses.csv)")
    p.add_argument("--datastack", default=None, help="CAVE datastack name to fetch synapse tables")
    p.add_argument("--lod", type=int, default=0, help="mesh level of detail (0 = full resolution)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_download)


def _run_download(args: argparse.Namespace) -> int:
    from .download import download

    report = download(args.segment_ids, args.source, args.out, datastack=args.datastack, lod=args.lod,
                      progress=not args.quiet)
    line = (f"{len(report.fetched)} fetched, {len(report.cached)} cached, {len(report.failed)} failed "
            f"(see {report.out_dir / 'download_errors.csv'})")
    print(line, file=sys.stderr if report.failed else sys.stdout)
    return 1 if report.failed else 0  # like featurize: 1 when any segment failed (all of them included)


# ---- classify ------------------------------------------------------------------------------------------
def _add_classify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="E/I and subclass of one neuron (mesh or Neuron .h5) with probabilities")
    p.add_argument("neuron", help="mesh file (decomposed first) or a Neuron .h5 written by decompose")
    p.add_argument("--synapses", default=None, help="synapse table (csv/parquet) with positions (mesh input)")
    p.add_argument("--units", default="nm", help="mesh units: nm, um, or nm per voxel (e.g. 8 or 4,4,40)")
    p.add_argument("--soma", nargs=3, type=float, default=None, metavar=("X", "Y", "Z"),
                   help="known soma centre in the mesh's units (mesh input)")
    p.add_argument("--nucleus", default=None, help="nucleus mesh file in the same units (optional)")
    _add_params_flag(p)
    p.set_defaults(func=_run_classify)


def _run_classify(args: argparse.Namespace) -> int:
    from .celltype.cli_support import classify_file

    result = classify_file(args.neuron, synapses=args.synapses, units=_parse_units(args.units), soma=args.soma,
                           nucleus=args.nucleus, params=_load_params(args))
    _print_summary(result)
    return 0


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_decompose, _add_example, _add_featurize, _add_download, _add_classify]


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with every registered subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="neurd-lite", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neurd-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def _plain_warnings() -> None:
    """Show a NeurdLiteWarning as one line for the person at the keyboard (no source file and code line)."""
    import warnings

    from .errors import NeurdLiteWarning

    default = warnings.formatwarning

    def fmt(message: Any, category: type, filename: str, lineno: int, line: str | None = None) -> str:
        if issubclass(category, NeurdLiteWarning):
            return f"neurd-lite: warning: {message}\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = fmt  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 bad input or failed stage, 2 usage)."""
    from .errors import NeurdLiteError

    _plain_warnings()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NeurdLiteError as e:
        stage = getattr(e, "stage", None)
        where = f" at stage '{stage}'" if stage and f"stage '{stage}'" not in str(e) else ""
        text = f"neurd-lite {args.command}: error{where}: {e}"
        try:
            print(text, file=sys.stderr)
        except UnicodeEncodeError:
            print(text.encode("ascii", "backslashreplace").decode("ascii"), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
