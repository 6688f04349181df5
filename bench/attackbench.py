"""AttackBench's protocol (Cinà, Rony et al., AAAI 2025) on the offline models: every attack of a threat model under a
per-sample budget of forwards + backwards, the best distance at any query, and local optimality against the envelope
of all the attacks, ranked by its mean over the models, as AttackBench prints it.

    python bench/attackbench.py --dataset mnist --n 256                      # ℓ1 and ℓ2, 7 MNIST models, budget 2000
    python bench/attackbench.py --dataset cifar10 --n 256 --launcher "torchrun --nproc-per-node=8"
    python bench/attackbench.py --overhead                                   # the query recorder's cost

Each model is one `alma-eval` run (resumable: rerun the same command to complete it) under OUT/<dataset>/<model>;
`--launcher` prefixes it (e.g. torchrun over GPUs). Prints the ranking tables and, per model, where our ALMA stands
against adv_lib's ALMA and which attack beats it by how much; writes OUT/<dataset>/report.md. Weights and data come
from --data (default $ALMA_WEIGHTS_DIR, else ../shared/data).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from alma.compare import get_attack, run_attack
from alma.evaluate import local_optimality, ranking
from alma.evaluate.summary import attack_distances
from alma.models import load_model
from alma.models.mnist import load_mnist

from timing import best_times, machine

REPO = Path(__file__).resolve().parents[1]
MODELS = {
    "mnist": ("mnist-smallcnn-paper", "mnist-smallcnn-ddn", "mnist-smallcnn-trades", "mnist-smallcnn",
              "mnist-smallcnn-pgd-l2", "mnist-lenet5", "mnist-lenet5-linf"),
    "cifar10": ("cifar10-resnet20", "cifar10-resnet56", "cifar10-resnet2b-pgd", "cifar10-resnet4b-pgd"),
}
THREATS = {
    "l1": ("alma-l1", "adv_lib-alma-l1", "fmn-l1", "fab-l1"),
    "l2": ("alma-l2", "adv_lib-alma-l2", "ddn", "fmn-l2", "fab-l2", "apgd-t-l2"),
}
OURS, THEIRS = "alma-{}", "adv_lib-alma-{}"


def evaluate(model: str, attacks: list[str], args: argparse.Namespace, out: Path) -> None:
    command = [*(shlex.split(args.launcher) if args.launcher else [sys.executable]), "-m", "alma.evaluate",
               "--model", model, "--dataset", args.dataset, "--data", str(args.data), "--num-samples", str(args.n),
               "--attacks", *attacks, "--budget", str(args.budget), "--batch-size", str(args.batch_size),
               "--out", str(out), "--quiet"]
    if args.device:
        command += ["--device", args.device]
    print("$ " + shlex.join(command), file=sys.stderr)
    subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def optimality_rows(folder: Path) -> list[dict]:
    """(model, distance, attack, optimality, median best) from one alma-eval folder."""
    table = pd.read_parquet(folder / "samples.parquet")
    config = json.loads((folder / "run.json").read_text())
    correct = (table["prediction"] == table["label"]).to_numpy()
    rows = []
    for distance, values in attack_distances(table, tuple(config["attacks"])).items():
        for attack, score in local_optimality(values, correct).items():
            rows.append({"model": config["model"], "distance": distance, "attack": attack, "optimality": score,
                         "steps": config["steps"][config["attacks"].index(attack)]})
    return rows


def report(rows: pd.DataFrame, header: str) -> str:
    lines = [header]
    for distance, part in rows.groupby("distance", sort=False):
        table = ranking(part)
        models = [c for c in table.columns if c not in ("rank", "attack", "mean")]
        lines += ["", f"Local optimality, {distance} (mean over {len(models)} models; 1 = the envelope):", "",
                  "| rank | attack | steps | " + " | ".join(models) + " | mean |",
                  "|---:|---|---:|" + "---:|" * (len(models) + 1)]
        steps = part.groupby("attack")["steps"].first()
        for _, row in table.iterrows():
            lines.append(f"| {row['rank']} | {get_attack(row['attack']).label} | {steps[row['attack']]} | "
                         + " | ".join(f"{row[m]:.3f}" for m in models) + f" | {row['mean']:.3f} |")
        ours, theirs = OURS.format(distance), THEIRS.format(distance)
        lines.append("")
        for model, scores in part.groupby("model", sort=False):
            score = scores.set_index("attack")["optimality"]
            if ours not in score:
                continue
            best = score.drop(ours).idxmax()
            verdict = ("first" if score[ours] >= score.max() else
                       f"beaten by {get_attack(best).label} by {score[best] - score[ours]:.3f}")
            above = "not above" if theirs in score and score[theirs] <= score[ours] else "ABOVE"
            versus = "" if theirs not in score else f"; adv_lib's ALMA {score[theirs]:.3f} ({above} ours)"
            lines.append(f"- {model}: our ALMA {score[ours]:.3f}, {verdict}{versus}")
    return "\n".join(lines)


def overhead(args: argparse.Namespace) -> None:
    """ALMA ℓ2 on the MNIST SmallCNN with and without the query recorder (best of rounds)."""
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    images, labels = load_mnist(args.data / "mnist", train=False)
    x, y = images[:args.batch_size].to(device), labels[:args.batch_size].to(device)
    model = load_model("mnist-smallcnn", device)
    steps = args.steps
    times = best_times({
        "plain": lambda: run_attack(model, x, y, "alma-l2", steps),
        "recorded": lambda: run_attack(model, x, y, "alma-l2", steps, query_budget=2 * steps)}, device, args.repeats)
    print(f"ALMA ℓ2, {steps} steps, batch {len(x)}, mnist-smallcnn; {machine(device)}\n\n"
          "| run | seconds |\n|---|---:|\n" + "\n".join(f"| {k} | {v:.3f} |" for k, v in times.items())
          + f"\n\noverhead of the query recorder: {100 * (times['recorded'] / times['plain'] - 1):.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=list(MODELS), default="mnist")
    parser.add_argument("--models", nargs="+", help="default: every offline model of the dataset")
    parser.add_argument("--distances", nargs="+", choices=list(THREATS), default=list(THREATS))
    parser.add_argument("--attacks", nargs="+", help="default: every attack of each distance")
    parser.add_argument("--n", type=int, default=256, help="the first N test images")
    parser.add_argument("--budget", type=int, default=2000, help="forwards + backwards per sample")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default=None)
    parser.add_argument("--launcher", default="", help='e.g. "torchrun --nproc-per-node=8"')
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ALMA_WEIGHTS_DIR") or REPO.parent / "shared"
                                                          / "data"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "attackbench")
    parser.add_argument("--overhead", action="store_true", help="only time the query recorder")
    parser.add_argument("--steps", type=int, default=100, help="with --overhead: ALMA steps")
    parser.add_argument("--repeats", type=int, default=3, help="with --overhead: rounds")
    args = parser.parse_args()
    args.data = args.data.resolve()
    if args.overhead:
        overhead(args)
        return
    attacks = [a for d in args.distances for a in THREATS[d] if not args.attacks or a in args.attacks]
    began = time.perf_counter()
    rows = []
    for model in args.models or MODELS[args.dataset]:
        folder = args.out / args.dataset / model
        evaluate(model, attacks, args, folder)
        rows += optimality_rows(folder)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    header = (f"AttackBench protocol, {args.dataset}, first {args.n} test images, budget {args.budget} forwards + "
              f"backwards per sample; {machine(device)}; {time.perf_counter() - began:.0f} s (this invocation).\n"
              f"Command: `python {shlex.join(sys.argv)}`")
    text = report(pd.DataFrame(rows), header)
    (args.out / args.dataset).mkdir(parents=True, exist_ok=True)
    (args.out / args.dataset / "report.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
