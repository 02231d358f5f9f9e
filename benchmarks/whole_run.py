"""Whole runs, as a user starts them: a big CSV through `nnapp train`, and what output.tensorboard costs.

    .venv/bin/python benchmarks/whole_run.py [--quick]     # these cases alone (bench.py runs them too)

Big CSV: a 300,000-row x 10-column numeric CSV (plus an integer label column) and a 1,000-row file of the
same columns, each trained for one epoch at batch 4096 with gradient checks and pictures off, as fresh
`nnapp train` processes taking turns. The extra time is the big file's median wall clock minus the small
one's, next to `np.loadtxt`'s median read of the big file (in this process, between the runs); the extra
memory is the difference of the processes' peak resident sets (each its own VmHWM), as a multiple of the
data's float64 size (rows x 10 x 8 bytes). Where they go: one in-process run split into its stages (parse,
split and standardize, fingerprint, train, write the run directory) after one on the small file (so that
imports do not count), timed, then again under tracemalloc for each stage's peak above what was held
before it; the timed run also gives each stage's growth of the resident set's peak (VmHWM reset before
it), which sees pandas' tokenizer as tracemalloc does not.

TensorBoard: `nnapp train configs/iris.yaml -q` and the same with output.tensorboard=true, with and
without pictures, in fresh processes, CPU seconds (user + system: on a shared machine less noisy than wall
clock). The two are measured in pairs, one right after the other, alternately in either order (off, on;
on, off; ...) so that neither side always comes first, after one unmeasured run of each. What the option
adds is the median of the pairs' on/off ratios (a pair's two runs see about the same load, so the ratio
keeps less of the load's drift than the ratio of two medians over the whole measurement, shown too).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from user_view import CSV_COLUMNS, CSV_ROWS, Spread, write_numeric_csv

ROOT = Path(__file__).resolve().parent.parent
SMALL_ROWS = 1000
GOAL_TIME, GOAL_MEMORY, GOAL_TENSORBOARD = 2.5, 4.0, 1.10
TENSORBOARD_PAIRS = {True: 4, False: 21}  # by --quick: its cost is a few percent, the noise ±15% a process

CONFIG = """
name: {name}
seed: 0
data:
  dataset: csv
  path: {path}
  target: label
train:
  epochs: 1
  batch_size: 4096
  early_stopping:
    patience: 0
gradcheck:
  enabled: false
output:
  dir: {runs}
  plots: false
"""

# One `nnapp train` in a fresh process; prints its wall clock, peak resident set and CPU seconds on its
# last line. The peak is the process's own VmHWM, not getrusage's ru_maxrss: Linux carries the largest
# resident set of the process image an exec replaced into ru_maxrss, and subprocess starts the child by
# vfork + exec from this process, so ru_maxrss read this (benchmark) process's peak whenever it was the
# larger (367 MB for both files when bench.py ran it: "0.0x the data").
PROCESS = """
import resource, sys, time
started = time.perf_counter()
from nnapp.cli.launcher import main
sys.argv = ["nnapp", "train", *sys.argv[1:], "-q"]
try:
    main()
except SystemExit as exit:
    if exit.code:
        raise
usage = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(time.perf_counter() - started, peak, usage.ru_utime + usage.ru_stime)
"""


def _process(*args: str) -> tuple[float, float, float]:
    """(wall seconds, peak resident bytes, CPU seconds) of one `nnapp train ARGS` in a fresh process."""
    done = subprocess.run([sys.executable, "-c", PROCESS, *args], capture_output=True, text=True, check=True)
    wall, peak, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(peak), float(cpu)


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    peak: float | None  # bytes above what was held before the stage, by tracemalloc (Python's allocator)
    resident: float | None  # growth of the resident set's peak over the stage: pandas' tokenizer included


@dataclass(frozen=True)
class BigCsv:
    data_bytes: int
    big_s: Spread
    small_s: Spread
    loadtxt_s: Spread
    big_rss: Spread
    small_rss: Spread
    stages: list[Stage]

    @property
    def extra_seconds(self) -> float:
        return self.big_s.median - self.small_s.median

    @property
    def time_ratio(self) -> float:
        return self.extra_seconds / self.loadtxt_s.median

    @property
    def memory_ratio(self) -> float:
        return (self.big_rss.median - self.small_rss.median) / self.data_bytes


def _stages(config: Path, traced: bool) -> list[Stage]:
    """One run in this process, stage by stage (under tracemalloc if `traced`)."""
    from nnapp.config import load_config
    from nnapp.data.datasets import load_table, split_and_scale
    from nnapp.data.fingerprint import fingerprint
    from nnapp.orchestration.job import execute, prepare_new

    loaded = load_config(config)
    cfg = loaded.config
    found: list[Stage] = []

    def stage(name: str, work: Callable[[], Any]) -> Any:
        before = tracemalloc.get_traced_memory()[0] if traced else 0
        if traced:
            tracemalloc.reset_peak()
        resident_before = _reset_resident_peak()
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - before if traced else None
        found.append(Stage(name, seconds, peak, _status_bytes("VmHWM") - resident_before))
        return result

    if traced:
        tracemalloc.start()
    try:
        table = stage("parse the CSV", lambda: load_table(cfg.data, cfg.seed))
        data = stage("split and standardize", partial(split_and_scale, table, cfg.data, cfg.seed, "csv"))
        del table
        stage("fingerprint", lambda: fingerprint(cfg.data, data, None))
        job = prepare_new(loaded, data=data)
        outcome = stage("train and write the run", lambda: execute(job))
    finally:
        if traced:
            tracemalloc.stop()
    train_s = outcome.result.seconds
    last = found.pop()
    found.append(Stage("train and write the run directory", last.seconds, last.peak, last.resident))
    found.append(Stage("… of which training (1 epoch, per-epoch record)", train_s, None, None))
    return found


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(key + ":"))


def _reset_resident_peak() -> int:
    """Set this process's VmHWM to its current resident set (Linux: clear_refs 5); returns that size."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return _status_bytes("VmRSS")


def measure_big_csv(repeats: int) -> BigCsv:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        configs = {}
        for name, rows in (("big", CSV_ROWS), ("small", SMALL_ROWS)):
            write_numeric_csv(folder / f"{name}.csv", rows, CSV_COLUMNS)
            configs[name] = folder / f"{name}.yaml"
            configs[name].write_text(
                CONFIG.format(name=name, path=folder / f"{name}.csv", runs=folder / "runs")
            )
        walls: dict[str, list[float]] = {"big": [], "small": [], "loadtxt": []}
        peaks: dict[str, list[float]] = {"big": [], "small": []}
        for _ in range(repeats):
            for name, config in configs.items():
                wall, peak, _ = _process(str(config))
                walls[name].append(wall)
                peaks[name].append(peak)
            started = time.perf_counter()
            np.loadtxt(folder / "big.csv", delimiter=",", skiprows=1)
            walls["loadtxt"].append(time.perf_counter() - started)
        _stages(configs["small"], False)  # imports everything a run imports: they do not count below
        timed, traced = _stages(configs["big"], False), _stages(configs["big"], True)
        stages = [Stage(t.name, t.seconds, m.peak, t.resident) for t, m in zip(timed, traced, strict=True)]
    return BigCsv(
        CSV_ROWS * CSV_COLUMNS * 8,
        Spread(tuple(walls["big"])),
        Spread(tuple(walls["small"])),
        Spread(tuple(walls["loadtxt"])),
        Spread(tuple(peaks["big"])),
        Spread(tuple(peaks["small"])),
        stages,
    )


@dataclass(frozen=True)
class TensorboardCost:
    plots: bool
    off_s: Spread  # CPU seconds (user + system) of the whole process: less sensitive to other load
    on_s: Spread  # off_s.values[i] and on_s.values[i]: one pair, run one right after the other

    @property
    def pair_ratios(self) -> Spread:
        return Spread(tuple(on / off for on, off in zip(self.on_s.values, self.off_s.values, strict=True)))

    @property
    def ratio(self) -> float:
        """What the option adds: the median of the pairs' on/off ratios."""
        return self.pair_ratios.median


def measure_tensorboard(repeats: int) -> list[TensorboardCost]:
    costs = []
    with tempfile.TemporaryDirectory() as tmp:
        config = str(ROOT / "configs" / "iris.yaml")
        for plots in (True, False):
            common = [f"output.dir={tmp}", f"output.plots={str(plots).lower()}"]

            def cpu_seconds(on: bool, common: list[str] = common) -> float:
                return _process(config, *common, f"output.tensorboard={str(on).lower()}")[2]

            for on in (False, True):  # unmeasured: the first of each may read files the others find cached
                cpu_seconds(on)
            cpu: dict[bool, list[float]] = {False: [], True: []}
            for repeat in range(repeats):
                for on in (False, True) if repeat % 2 == 0 else (True, False):
                    cpu[on].append(cpu_seconds(on))
            costs.append(TensorboardCost(plots, Spread(tuple(cpu[False])), Spread(tuple(cpu[True]))))
    return costs


def big_csv_lines(result: BigCsv) -> list[str]:
    data_mb = result.data_bytes / 1e6
    lines = [
        "### A big CSV through the whole run",
        "",
        f"`nnapp train` of a {CSV_ROWS:,}-row × {CSV_COLUMNS}-column numeric CSV against a "
        f"{SMALL_ROWS:,}-row one (1 epoch, batch 4096, checks and pictures off; fresh processes, "
        f"{len(result.big_s.values)} runs each, median (range)):",
        "",
        "| | seconds | peak resident MB |",
        "|---|---:|---:|",
        f"| big file | {result.big_s.text()} | {result.big_rss.text(1e-6, 0)} |",
        f"| small file | {result.small_s.text()} | {result.small_rss.text(1e-6, 0)} |",
        f"| `np.loadtxt` of the big file | {result.loadtxt_s.text()} | |",
        "",
        f"Extra time {result.extra_seconds:.2f} s = **{result.time_ratio:.1f}× `np.loadtxt`** "
        f"(goal ≤ {GOAL_TIME:g}×); extra memory = **{result.memory_ratio:.1f}× the data's float64 size** "
        f"({data_mb:.0f} MB; goal ≤ {GOAL_MEMORY:g}×).",
        "",
        "Where it goes (one run in process; each stage's peak above what it started with, by tracemalloc "
        "(Python's allocator) and as the growth of the resident set's peak (pandas' tokenizer included; "
        "memory an earlier stage freed may be reused)):",
        "",
        "| stage | seconds | tracemalloc peak (× data) | resident peak (× data) |",
        "|---|---:|---:|---:|",
        *(
            f"| {s.name} | {s.seconds:.2f} | {_times(s.peak, result.data_bytes)} | "
            f"{_times(s.resident, result.data_bytes)} |"
            for s in result.stages
        ),
        "",
    ]
    return lines


def _times(part: float | None, whole: int) -> str:
    return "" if part is None else f"{part / whole:.2f}"


def tensorboard_lines(costs: list[TensorboardCost]) -> list[str]:
    lines = [
        "### What output.tensorboard costs",
        "",
        "`nnapp train configs/iris.yaml -q` (200 epochs) without and with the option, in pairs of fresh "
        f"processes run one right after the other, alternately in either order ({len(costs[0].on_s.values)} "
        "pairs after one unmeasured run of each); CPU seconds (user + system) of the whole process, "
        "median (range); on / off: the median (range) of the pairs' ratios, and the ratio of the medians:",
        "",
        "| pictures | option off | option on | on / off, by pair | ratio of medians |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in costs:
        verdict = "within" if c.ratio <= GOAL_TENSORBOARD else "over"
        lines.append(
            f"| {'on' if c.plots else 'off'} | {c.off_s.text()} | {c.on_s.text()} | "
            f"{c.pair_ratios.text()} ({verdict} the {GOAL_TENSORBOARD:.2f} goal) | "
            f"{c.on_s.median / c.off_s.median:.2f} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    quick = parser.parse_args().quick
    print("\n".join(big_csv_lines(measure_big_csv(2 if quick else 5))))
    print("\n".join(tensorboard_lines(measure_tensorboard(TENSORBOARD_PAIRS[quick]))))


if __name__ == "__main__":
    main()
