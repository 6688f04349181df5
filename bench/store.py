"""What keeping a run costs: bytes per run in the store and in a bundle, and the time to save, list, reopen, export
and import it, for a real explorer run (bundled MNIST SmallCNN, ℓ2, every iterate kept).

    python bench/store.py                   # 1000 steps (the paper's budget), 20 runs in a temporary store file
    python bench/store.py --steps 100 --runs 50
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alma.images import to_model_input  # noqa: E402
from alma.models import DEFAULT_MODEL, get_info, load_model  # noqa: E402
from alma.samples import load_sample  # noqa: E402
from ui.config import AttackSettings, InputRef, RunConfig  # noqa: E402
from ui.outcome import NoJob, run_attack  # noqa: E402
from ui.store.bundle import export_bundle, import_bundle  # noqa: E402
from ui.store.codec import decode, encode, load  # noqa: E402
from ui.store.store import RunStore  # noqa: E402

from timing import machine  # noqa: E402


def _ms(fn, repeats: int) -> float:
    """Median milliseconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(machine(torch.device("cpu")))
    info = get_info(DEFAULT_MODEL)
    config = RunConfig(model=DEFAULT_MODEL, input=InputRef(sample="mnist/3"),
                       attack=AttackSettings(num_steps=args.steps))
    outcome = run_attack(NoJob(), load_model(DEFAULT_MODEL), to_model_input(load_sample("mnist/3"), info)[0], config)
    record = encode(outcome)
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "runs.sqlite")
        save_ms = _ms(lambda: store.put(encode(outcome)), args.runs)
        ids = [s.id for s in store.list()]
        list_ms = _ms(store.list, 5)
        load_ms = _ms(lambda: load(store, ids[0]), 5)
        bundle = export_bundle(store.record(i) for i in ids)
        export_ms = _ms(lambda: export_bundle(store.record(i) for i in ids), 3) / len(ids)
        import_ms = _ms(lambda: import_bundle(RunStore(":memory:"), bundle), 3) / len(ids)
        file_bytes = sum(p.stat().st_size for p in Path(folder).iterdir()) / len(ids)
    print(f"ALMA ℓ2, {args.steps} steps, {len(outcome.trace.snapshots)} iterates kept; {len(ids)} runs\n")
    print("| record KB | of which iterates KB | store file KB per run | bundle KB per run | save ms | list ms "
          f"({len(ids)} runs) | reopen ms | decode ms | export ms per run | import ms per run |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {record.size / 1024:.0f} | {len(record.files.get('snapshots.npz', b'')) / 1024:.0f} | "
          f"{file_bytes / 1024:.0f} | {len(bundle) / len(ids) / 1024:.0f} | {save_ms:.1f} | {list_ms:.1f} | "
          f"{load_ms:.1f} | {_ms(lambda: decode(record), 5):.1f} | {export_ms:.1f} | {import_ms:.1f} |")


if __name__ == "__main__":
    main()
