"""What checkpointing costs training: none, the default (at most one write per 0.5 s), every epoch.

.venv/bin/python benchmarks/checkpoint_cost.py [--repeats 5]

Best of `repeats` wall-clock times of `train` alone (no plots), early stopping off so every run trains
all its epochs, gradient checks off so they do not blur the difference. Then, on the trained state: the
writer's work after each epoch that is not written (`on_epoch_done`), one periodic write (checkpoint.npz
and metrics.csv, `flush`), and encoding the checkpoint from scratch; the last two also after 3000 epochs
(iris), where the writer's cost must not have grown with the history but for the bytes themselves.
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
from nnapp.orchestration.job import load_data
from nnapp.rundir.checkpoint import CheckpointWriter, RunInfo, checkpoint_bytes
from nnapp.training.trainer import train

ROOT = Path(__file__).resolve().parent.parent
MODES = (("no checkpoints", None), ("default (0.5 s)", 0.5), ("every epoch", 0.0))


def best_time(cfg, data, interval: float | None, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            # every epoch: a clock that stands still, or the writer would space writes by their duration
            clock = (lambda: 0.0) if interval == 0.0 else time.monotonic
            writers = (
                [] if interval is None else [CheckpointWriter(Path(tmp), RunInfo(None), interval, clock)]
            )
            t0 = time.perf_counter()
            train(cfg, data, writers)
            for writer in writers:
                writer.flush()
            times.append(time.perf_counter() - t0)
    return min(times)


def writer_costs(cfg, data) -> tuple[float, float, float]:
    """Seconds per epoch of the writer's copy, per flush, and per from-scratch encoding, after `cfg`'s run."""
    with tempfile.TemporaryDirectory() as tmp:
        writer = CheckpointWriter(Path(tmp), RunInfo(None), interval=1e9)  # writes epoch 0 only
        state = train(cfg, data, [writer]).state
        copy_s = min(timeit.repeat(lambda: writer.on_epoch_done(state), number=200, repeat=3)) / 200

        def flush() -> None:
            writer.pending = True  # the same epoch again: a write's cost
            writer.flush()

        flush_s = min(timeit.repeat(flush, number=10, repeat=3)) / 10
        encode_s = (
            min(timeit.repeat(lambda: checkpoint_bytes(state, RunInfo(None)), number=10, repeat=3)) / 10
        )
    return copy_s, flush_s, encode_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    threads = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(f"{os.cpu_count()} CPUs; {threads}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}\n")
    header = " | ".join(m for m, _ in MODES) + " | copy per epoch | one write | encode from scratch |"
    print("| config | epochs | " + header)
    print("|---|---|" + "---|" * (len(MODES) + 3))
    for name, epochs in (("iris", None), ("digits", None), ("iris", 3000)):
        os.chdir(ROOT)
        overrides = ["train.early_stopping.patience=0", "gradcheck.every=0"]
        loaded = load_config(
            ROOT / "configs" / f"{name}.yaml",
            overrides + ([] if epochs is None else [f"train.epochs={epochs}"]),
        )
        cfg, data = loaded.config, load_data(loaded)
        # a whole run per mode is the table's first columns; at 3000 epochs only the writer's costs
        seconds = (
            [best_time(cfg, data, interval, args.repeats) for _, interval in MODES] if epochs is None else []
        )
        copy_s, flush_s, encode_s = writer_costs(cfg, data)
        cells = " | ".join(f"{s:.3f} s" for s in seconds) if seconds else " | ".join("" for _ in MODES)
        print(
            f"| {name} | {cfg.train.epochs} | {cells} | {copy_s * 1e6:.0f} µs | {flush_s * 1e3:.2f} ms "
            f"| {encode_s * 1e3:.2f} ms |"
        )


if __name__ == "__main__":
    main()
