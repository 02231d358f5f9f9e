"""What a user waits for, next to bench.py's bare loop: a big CSV, `nnapp train` per epoch, a sweep.

    .venv/bin/python benchmarks/user_view.py [--quick]     # these cases alone (bench.py runs them too)

CSV loading: a 300,000-row x 10-column numeric CSV (plus an integer label column, about 29 MB), written to
a temporary folder, read by `np.loadtxt` (numpy's C parser, the floor) and by nnapp's CSV reader (the
raw Table `nnapp train` builds: features, labels, checks), interleaved. Time is wall clock; peak memory is
tracemalloc's peak during the read (numpy's allocations included), in separate runs so that tracing does
not slow the timed ones, as a multiple of the float64 data (rows x 10 x 8 bytes). The careful reader
(the csv module, used for files the fast path leaves to it) is timed once for comparison.

Black-box per epoch: `nnapp train configs/<name>.yaml -q` as a fresh process (plots off, early stopping
off) at two epoch counts; (wall(E1) - wall(E0)) / (E1 - E0) is what one more epoch costs the user, with
everything a run does per epoch (metrics, gradient checks, progress, checkpoints). scikit-learn's
MLPClassifier is timed the same way (fit at two epoch counts) on the same split with the same settings.

A sweep: the README's 27-run iris sweep at `--jobs 2`, whole process, next to one `nnapp train` of the
same config (plots off), both fresh processes, interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import DataConfig, load_config
from nnapp.data import csvtable
from nnapp.data.datasets import load_table
from nnapp.orchestration.job import load_data
from nnapp.tools.compare import comparable_config, sklearn_settings

ROOT = Path(__file__).resolve().parent.parent
CSV_ROWS, CSV_COLUMNS = 300_000, 10


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated measurements."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def text(self, scale: float = 1.0, digits: int = 2) -> str:
        lo, mid, hi = min(self.values) * scale, self.median * scale, max(self.values) * scale
        return f"{mid:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


@dataclass(frozen=True)
class CsvLoading:
    rows: int
    columns: int
    file_mb: float
    loadtxt_s: Spread
    nnapp_s: Spread
    careful_s: float
    loadtxt_peak: Spread  # peak bytes / float64 data bytes
    nnapp_peak: Spread

    @property
    def time_ratio(self) -> float:
        return self.nnapp_s.median / self.loadtxt_s.median


def write_numeric_csv(path: Path, rows: int, columns: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns))
    y = rng.integers(0, 3, rows)
    with path.open("w") as handle:
        handle.write(",".join([*(f"x{i}" for i in range(columns)), "label"]) + "\n")
        np.savetxt(handle, np.column_stack([X, y]), fmt=["%.6g"] * columns + ["%d"], delimiter=",")


def _peak(read: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure_csv_loading(repeats: int, rows: int = CSV_ROWS) -> CsvLoading:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numeric.csv"
        write_numeric_csv(path, rows, CSV_COLUMNS)
        cfg = DataConfig(dataset="csv", path=str(path), target="label")

        def numpy_floor() -> Any:
            return np.loadtxt(path, delimiter=",", skiprows=1)

        def nnapp_reader() -> Any:
            return load_table(cfg, seed=0)

        readers = {"loadtxt": numpy_floor, "nnapp": nnapp_reader}
        times: dict[str, list[float]] = {name: [] for name in readers}
        peaks: dict[str, list[float]] = {name: [] for name in readers}
        data_bytes = rows * CSV_COLUMNS * 8
        for _ in range(repeats):
            for name, read in readers.items():  # interleaved: load from elsewhere hits both alike
                started = time.perf_counter()
                read()
                times[name].append(time.perf_counter() - started)
        for _ in range(max(1, repeats // 2)):
            for name, read in readers.items():
                peaks[name].append(_peak(read) / data_bytes)
        started = time.perf_counter()
        csvtable.careful_table(path, cfg)
        careful = time.perf_counter() - started
        size = path.stat().st_size / 1e6
    return CsvLoading(
        rows,
        CSV_COLUMNS,
        size,
        Spread(tuple(times["loadtxt"])),
        Spread(tuple(times["nnapp"])),
        careful,
        Spread(tuple(peaks["loadtxt"])),
        Spread(tuple(peaks["nnapp"])),
    )


@dataclass(frozen=True)
class BlackBox:
    dataset: str
    epochs: tuple[int, int]
    nnapp_ms: Spread  # per epoch of `nnapp train`, whole process
    sklearn_ms: Spread  # per epoch of MLPClassifier.fit

    @property
    def ratio(self) -> float:
        return self.sklearn_ms.median / self.nnapp_ms.median


def _train_seconds(name: str, epochs: int, out_dir: str) -> float:
    nnapp = str(Path(sys.executable).parent / "nnapp")
    argv = [
        nnapp,
        "train",
        str(ROOT / "configs" / f"{name}.yaml"),
        f"train.epochs={epochs}",
        "train.early_stopping.patience=0",
        "output.plots=false",
        f"output.dir={out_dir}",
        "-q",
    ]
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def _sklearn_seconds(name: str, epochs: int) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    loaded = load_config(ROOT / "configs" / f"{name}.yaml", [f"train.epochs={epochs}"])
    cfg = comparable_config(loaded.config)
    data = load_data(loaded)
    model = MLPClassifier(**sklearn_settings(replace(cfg, train=replace(cfg.train, epochs=epochs))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        model.fit(data.X_train, data.y_train)
    return time.perf_counter() - started


def measure_black_box(name: str, epochs: tuple[int, int], repeats: int) -> BlackBox:
    short, long = epochs
    nnapp_ms, sklearn_ms = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            gap = _train_seconds(name, long, tmp) - _train_seconds(name, short, tmp)
            nnapp_ms.append(1000 * gap / (long - short))
            gap = _sklearn_seconds(name, long) - _sklearn_seconds(name, short)
            sklearn_ms.append(1000 * gap / (long - short))
    return BlackBox(name, epochs, Spread(tuple(nnapp_ms)), Spread(tuple(sklearn_ms)))


def csv_lines(result: CsvLoading) -> list[str]:
    return [
        f"A {result.rows:,}-row x {result.columns}-column numeric CSV plus an integer label column "
        f"({result.file_mb:.0f} MB), written to a temporary folder. Median (min–max) of "
        f"{len(result.nnapp_s.values)} interleaved reads; peak memory is tracemalloc's, as a multiple "
        "of the float64 data.",
        "",
        "| reader | seconds | × np.loadtxt | peak memory ÷ data |",
        "|---|---|---|---|",
        f"| `np.loadtxt` | {result.loadtxt_s.text()} | 1.0× | {result.loadtxt_peak.text(digits=1)} |",
        f"| nnapp (CSV → Table) | {result.nnapp_s.text()} | {result.time_ratio:.1f}× | "
        f"{result.nnapp_peak.text(digits=1)} |",
        f"| nnapp's careful reader alone (once) | {result.careful_s:.2f} | "
        f"{result.careful_s / result.loadtxt_s.median:.1f}× | – |",
    ]


def black_box_lines(results: list[BlackBox]) -> list[str]:
    return [
        "`nnapp train configs/<name>.yaml -q` as a fresh process (plots and early stopping off) at two "
        "epoch counts, and MLPClassifier.fit likewise: the extra wall time per extra epoch. Median "
        "(min–max) over the repeats; ratio = scikit-learn ÷ nnapp (higher: nnapp faster).",
        "",
        "| config | epochs | nnapp train ms/epoch | scikit-learn ms/epoch | ratio |",
        "|---|---|---|---|---|",
        *[
            f"| {b.dataset} | {b.epochs[0]} → {b.epochs[1]} | {b.nnapp_ms.text()} | {b.sklearn_ms.text()} | "
            f"{b.ratio:.1f}× |"
            for b in results
        ],
    ]


BLACK_BOX_CASES = {"iris": (100, 1100), "digits": (20, 220)}  # gaps of seconds: well above start-up noise

# The README's sweep: 3 learning rates x 3 hidden sizes x 3 seeds = 27 runs of configs/iris.yaml.
SWEEP_ARGS = ("optim.lr=0.01,0.1,1", "model.hidden=4,16,64", "--seeds", "0,1,2", "--jobs", "2")


@dataclass(frozen=True)
class SweepCost:
    sweep_s: Spread  # the whole `nnapp sweep` process, 27 runs
    train_s: Spread  # one `nnapp train configs/iris.yaml output.plots=false` process

    @property
    def ratio(self) -> float:
        return self.sweep_s.median / self.train_s.median


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def measure_sweep(repeats: int) -> SweepCost:
    """The README's 27-run iris sweep at --jobs 2 next to one `nnapp train` of the same config, as fresh
    processes, interleaved (each sweep into a new folder: a rerun would find its points finished)."""
    nnapp = str(Path(sys.executable).parent / "nnapp")
    config = str(ROOT / "configs" / "iris.yaml")
    sweeps, trains = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            train = [nnapp, "train", config, "output.plots=false", f"output.dir={tmp}/train", "-q"]
            trains.append(_wall(train))
            sweeps.append(_wall([nnapp, "sweep", config, *SWEEP_ARGS, "--out", f"{tmp}/sweep{i}"]))
    return SweepCost(Spread(tuple(sweeps)), Spread(tuple(trains)))


def sweep_lines(result: SweepCost) -> list[str]:
    return [
        f"`nnapp sweep configs/iris.yaml {' '.join(SWEEP_ARGS)}` (27 runs, the README's) and one "
        "`nnapp train configs/iris.yaml output.plots=false -q`, as fresh processes, interleaved: "
        f"median (min–max) of {len(result.sweep_s.values)}.",
        "",
        "| command | seconds | × one train |",
        "|---|---|---|",
        f"| `nnapp train` (one run) | {result.train_s.text()} | 1.0× |",
        f"| `nnapp sweep` (27 runs, 2 workers) | {result.sweep_s.text()} | {result.ratio:.1f}× |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    csv = measure_csv_loading(repeats)
    print("\n".join(csv_lines(csv)))
    boxes = [
        measure_black_box(name, epochs, max(2, repeats // 2)) for name, epochs in BLACK_BOX_CASES.items()
    ]
    print("\n".join(black_box_lines(boxes)))
    print("\n".join(sweep_lines(measure_sweep(repeats))))


if __name__ == "__main__":
    main()
