"""What checkpointing costs training: none, the default (at most one write per 0.5 s), every epoch.

.venv/bin/python benchmarks/checkpoint_cost.py [--repeats 5]

Best of `repeats` wall-clock times of `train` alone (no plots), early stopping off so every run trains
all its epochs, gradient checks off so they do not blur the difference.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import timeit
from pathlib import Path

from threadpoolctl import threadpool_info

from nnapp.config import load_config
from nnapp.rundir.checkpoint import CheckpointWriter, RunInfo, checkpoint_bytes, snapshot
from nnapp.rundir.job import load_data
from nnapp.training.trainer import train

ROOT = Path(__file__).resolve().parent.parent
MODES = (("no checkpoints", None), ("default (0.5 s)", 0.5), ("every epoch", 0.0))


def best_time(cfg, data, interval: float | None, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            writers = [] if interval is None else [CheckpointWriter(Path(tmp), RunInfo(None), interval)]
            t0 = time.perf_counter()
            train(cfg, data, writers)
            for writer in writers:
                writer.flush()
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    threads = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(f"{os.cpu_count()} CPUs; {threads}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}\n")
    print("| config | epochs | " + " | ".join(m for m, _ in MODES) + " | copy per epoch | serialise once |")
    print("|---|---|" + "---|" * (len(MODES) + 2))
    for name in ("iris", "digits"):
        os.chdir(ROOT)
        loaded = load_config(
            ROOT / "configs" / f"{name}.yaml", ["train.early_stopping.patience=0", "gradcheck.every=0"]
        )
        cfg, data = loaded.config, load_data(loaded)
        seconds = [best_time(cfg, data, interval, args.repeats) for _, interval in MODES]
        state = train(cfg, data).state
        copy_s = min(timeit.repeat(lambda state=state: snapshot(state), number=200, repeat=3)) / 200
        write_s = (
            min(
                timeit.repeat(lambda state=state: checkpoint_bytes(state, RunInfo(None)), number=10, repeat=3)
            )
            / 10
        )
        cells = " | ".join(f"{s:.3f} s" for s in seconds)
        print(f"| {name} | {cfg.train.epochs} | {cells} | {copy_s * 1e6:.0f} µs | {write_s * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
