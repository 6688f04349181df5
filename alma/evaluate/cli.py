"""`alma-eval` (also `python -m alma.evaluate`): attacks over a dataset slice under AttackBench's query budget, one
table row per sample, a summary with optimality, resumable, sharded over torchrun's processes.

    alma-eval --model mnist-smallcnn --dataset mnist --data ../shared/data --n 1000 --attacks alma-l2 ddn --out runs/a
    torchrun --nproc-per-node=4 -m alma.evaluate ...same arguments, with --num-samples for --n...
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..compare import ATTACKS, DEFAULT_BUDGET, get_attack
from ..models import UnknownModel, get_info, load_model
from . import chunks as ch
from . import distributed
from .config import EvalConfig, OutFolderError, claim
from .datasets import DatasetError, load_dataset
from .figures import write_curves
from .run import run_share
from .steps import normalised_steps
from .summary import attack_distances, summarise, write_summary


def _eps(values: list[str]) -> dict[str, list[float]]:
    chosen = {}
    for value in values:
        distance, _, numbers = value.partition("=")
        try:
            chosen[distance] = [float(v) for v in numbers.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"--eps takes DISTANCE=V[,V...], e.g. l2=0.5,1,2; got {value!r}") from None
    return chosen


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="alma-eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a model of the registry (alma.models.list_models)")
    p.add_argument("--dataset", required=True, help="mnist, cifar10 (found under --data), a folder of class "
                                                    "sub-folders, or an .npz with x and y")
    p.add_argument("--data", type=Path, default=Path(os.environ.get("ALMA_WEIGHTS_DIR") or "data"),
                   help="folder holding the named datasets (default: $ALMA_WEIGHTS_DIR, else ./data)")
    p.add_argument("--start", "--first", dest="start", type=int, default=0,
                   help="first sample of the slice (under torchrun write --first: torchrun takes --start for its "
                        "--start-method)")
    p.add_argument("--n", "--num-samples", dest="n", type=int, default=None,
                   help="samples in the slice, default: to the end (under torchrun write --num-samples: torchrun "
                        "rejects --n as ambiguous)")
    p.add_argument("--attacks", nargs="+", required=True, metavar="NAME", help=f"any of {', '.join(ATTACKS)}")
    p.add_argument("--steps", type=int, default=None,
                   help="N for every attack (default: normalised to the budget, e.g. 1000 ALMA steps for 2000)")
    p.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="forwards + backwards allowed per sample")
    p.add_argument("--batch-size", type=int, default=256, help="samples per chunk (the unit of work and resumption)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: the local GPU if any, else cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eps", nargs="+", default=[], metavar="DIST=V,V",
                   help="distance budgets for robust accuracy, e.g. l2=0.5,1 (default: the envelope's quartiles)")
    p.add_argument("--out", type=Path, required=True, help="output folder (rerun the same command to resume)")
    p.add_argument("--csv", action="store_true", help="also write samples.csv")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _config(args: argparse.Namespace) -> tuple[EvalConfig, object, object]:
    """Everything checked before any work: the model, attacks, dataset, slice and numbers."""
    info = get_info(args.model)
    attacks = tuple(get_attack(a).name for a in args.attacks)
    if len(set(attacks)) != len(attacks):
        raise ValueError(f"an attack is named twice in --attacks: {' '.join(attacks)}")
    for name, value in (("--budget", args.budget), ("--batch-size", args.batch_size), ("--steps", args.steps or 1)):
        if value < 1:
            raise ValueError(f"{name} must be ≥ 1, got {value}")
    data = load_dataset(args.dataset, args.data, info)
    n = len(data) - args.start if args.n is None else args.n
    if args.start < 0 or n < 1 or args.start + n > len(data):
        raise ValueError(f"the slice --start {args.start} --n {args.n} is not within the {len(data)} samples of "
                         f"{data.name}")
    numel = 1
    for size in info.input_shape:
        numel *= size
    steps = tuple(args.steps or normalised_steps(a, args.budget, len(info.class_names), numel) for a in attacks)
    dataset = args.dataset if args.dataset in ("mnist", "cifar10") else str(Path(args.dataset).resolve())
    config = EvalConfig(args.model, dataset, args.start, n, attacks, steps, args.budget, args.batch_size, args.seed)
    return config, info, data


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        eps = _eps(args.eps)
        config, info, data = _config(args)
        claim(args.out, config, write=False)
    except (UnknownModel, DatasetError, OutFolderError, ValueError, argparse.ArgumentTypeError) as err:
        print(f"alma-eval: error: {err}", file=sys.stderr)
        return 2
    ranks, device = distributed.start(args.device)
    try:
        distributed.barrier()
        if ranks.is_main:
            claim(args.out, config, write=True)
        distributed.barrier()
        model = load_model(config.model, device)
        run_share(model, data, config, args.out, ranks, device, args.quiet)
        distributed.barrier()
        if ranks.is_main:
            table = ch.merge(args.out, list(config.attacks), ch.plan(config.start, config.n, config.batch_size))
            table.to_parquet(args.out / "samples.parquet", index=False)
            if args.csv:
                table.to_csv(args.out / "samples.csv", index=False)
            command = list(sys.orig_argv) if argv is None else ["alma-eval", *argv]
            summary = summarise(table, config, command, eps)
            write_summary(summary, args.out)
            write_curves({d: values for d, values in attack_distances(table, config.attacks).items()}, args.out)
            if not args.quiet:
                print((args.out / "summary.md").read_text())
    finally:
        distributed.stop()
    return 0
