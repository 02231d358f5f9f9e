"""What a user waits for, next to bench.py's bare loop: a big CSV, `nnapp train` per epoch, a sweep.

    .venv/bin/python benchmarks/user_view.py [--quick]     # these cases alone (bench.py runs them too)

CSV loading: a 300,000-row x 10-column numeric CSV (plus an integer label column, about 29 MB), written to
a temporary folder, read by `np.loadtxt` (numpy's C parser, the old floor), by `pandas.read_csv` alone
(the C engine nnapp's reader uses) and by nnapp's CSV reader (the raw Table `nnapp train` builds:
sniffing, parsing, features, labels, checks), interleaved. Time is wall clock; peak memory is the growth
of the peak resident set (VmHWM, reset after the imports) during one read in a fresh process (pandas'
tokenizer allocates outside Python's allocator, where tracemalloc would not see it), as a multiple of the
float64 data (rows x 10 x 8 bytes).

Black-box per epoch: `nnapp train configs/<name>.yaml -q` as a fresh process (plots off, early stopping
off) at two epoch counts; (wall(E1) - wall(E0)) / (E1 - E0) is what one more epoch costs the user, with
everything a run does per epoch (metrics, gradient checks, progress, checkpoints). scikit-learn's
MLPClassifier is timed the same way (fit at two epoch counts) on the same split with the same settings.

Pictures: what a two-feature run (configs/moons.yaml) waits for after training: each picture drawn in
process from the run's records, as `nnapp train` draws them (matplotlib already imported: a fresh process
pays about 0.9 s more to import it), next to the training call itself (`train()`, checks on).

A sweep: the 27-run iris sweep of docs/sweeps.md at `--jobs 2`, whole process, next to one
`nnapp train` of the same config (plots off), both fresh processes, interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import DataConfig, load_config
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
    pandas_s: Spread
    nnapp_s: Spread
    loadtxt_peak: Spread  # peak bytes / float64 data bytes
    pandas_peak: Spread
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


_PEAK_SCRIPT = """
import sys
import numpy as np, pandas as pd
from nnapp.config import DataConfig
from nnapp.data.datasets import load_table


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024


path, reader = sys.argv[1], sys.argv[2]
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # resets the peak resident set (VmHWM) to the current one: imports do not count
before = status("VmRSS")
if reader == "loadtxt":
    np.loadtxt(path, delimiter=",", skiprows=1)
elif reader == "pandas":
    pd.read_csv(path, engine="c")
else:
    load_table(DataConfig(dataset="csv", path=path, target="label"), seed=0)
print(status("VmHWM") - before)
"""


def _peak(path: Path, reader: str) -> int:
    """Growth of the peak resident set (bytes) while one reader reads the file, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(path), reader], check=True, capture_output=True, text=True
    )
    return int(done.stdout.strip())


def measure_csv_loading(repeats: int, rows: int = CSV_ROWS) -> CsvLoading:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numeric.csv"
        write_numeric_csv(path, rows, CSV_COLUMNS)
        cfg = DataConfig(dataset="csv", path=str(path), target="label")

        def numpy_floor() -> Any:
            return np.loadtxt(path, delimiter=",", skiprows=1)

        def pandas_alone() -> Any:
            import pandas as pd

            return pd.read_csv(path, engine="c")

        def nnapp_reader() -> Any:
            return load_table(cfg, seed=0)

        readers: dict[str, Callable[[], Any]] = {
            "loadtxt": numpy_floor,
            "pandas": pandas_alone,
            "nnapp": nnapp_reader,
        }
        times: dict[str, list[float]] = {name: [] for name in readers}
        peaks: dict[str, list[float]] = {name: [] for name in readers}
        data_bytes = rows * CSV_COLUMNS * 8
        for _ in range(repeats):
            for name, read in readers.items():  # interleaved: load from elsewhere hits both alike
                started = time.perf_counter()
                read()
                times[name].append(time.perf_counter() - started)
        for _ in range(max(1, repeats // 2)):
            for name in readers:
                peaks[name].append(_peak(path, name) / data_bytes)
        size = path.stat().st_size / 1e6
    return CsvLoading(
        rows,
        CSV_COLUMNS,
        size,
        Spread(tuple(times["loadtxt"])),
        Spread(tuple(times["pandas"])),
        Spread(tuple(times["nnapp"])),
        Spread(tuple(peaks["loadtxt"])),
        Spread(tuple(peaks["pandas"])),
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
        f"{len(result.nnapp_s.values)} interleaved reads; peak memory is the growth of a fresh process's "
        "peak resident set during one read, as a multiple of the float64 data. Before nnapp read CSVs "
        "with pandas (its own reader: numpy's C parser in chunks, else the csv module), the same case "
        "read 1.2× `np.loadtxt`'s time (0.66 s vs 0.57 s) at 2.1× the data by tracemalloc.",
        "",
        "| reader | seconds | × np.loadtxt | peak memory ÷ data |",
        "|---|---|---|---|",
        f"| `np.loadtxt` | {result.loadtxt_s.text()} | 1.0× | {result.loadtxt_peak.text(digits=1)} |",
        f"| `pandas.read_csv` alone | {result.pandas_s.text()} | "
        f"{result.pandas_s.median / result.loadtxt_s.median:.1f}× | {result.pandas_peak.text(digits=1)} |",
        f"| nnapp (CSV → Table) | {result.nnapp_s.text()} | {result.time_ratio:.1f}× | "
        f"{result.nnapp_peak.text(digits=1)} |",
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

# docs/sweeps.md's sweep: 3 learning rates x 3 hidden sizes x 3 seeds = 27 runs of configs/iris.yaml.
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
        f"`nnapp sweep configs/iris.yaml {' '.join(SWEEP_ARGS)}` (27 runs, docs/sweeps.md's) and one "
        "`nnapp train configs/iris.yaml output.plots=false -q`, as fresh processes, interleaved: "
        f"median (min–max) of {len(result.sweep_s.values)}.",
        "",
        "| command | seconds | × one train |",
        "|---|---|---|",
        f"| `nnapp train` (one run) | {result.train_s.text()} | 1.0× |",
        f"| `nnapp sweep` (27 runs, 2 workers) | {result.sweep_s.text()} | {result.ratio:.1f}× |",
    ]


@dataclass(frozen=True)
class PictureTimes:
    """Seconds to draw each picture of a moons run, next to its training."""

    train: Spread
    pictures: dict[str, Spread]


def measure_pictures(repeats: int) -> PictureTimes:
    from nnapp import pictures
    from nnapp.orchestration.experiment import run_experiment
    from nnapp.pictures.run import model_pictures
    from nnapp.rundir.runs import load_run, read_checks, read_history, rebuild_dataset
    from nnapp.training.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_config(ROOT / "configs" / "moons.yaml", [f"output.dir={tmp}", "output.plots=false"])
        run = load_run(run_experiment(loaded).run_dir)
        history, checks, data = read_history(run.path), read_checks(run.path), rebuild_dataset(run)
    cfg = run.config
    draws: dict[str, Callable[[], Any]] = {
        "curves.png": lambda: pictures.curves_png(history, run.summary.best_epoch, "moons"),
        "diagnostics.png": lambda: pictures.diagnostics_png(history, "moons"),
        "gradcheck.png": lambda: pictures.gradcheck_png(checks, cfg.gradcheck.tol, cfg.gradcheck.fail),
        "confusion, decision regions, hidden units": lambda: model_pictures(cfg, data, run.params),
    }
    for draw in draws.values():  # the first call pays for matplotlib's imports and font cache
        draw()
    times: dict[str, list[float]] = {name: [] for name in draws}
    trains = []
    for _ in range(repeats):
        started = time.perf_counter()
        train(cfg, data)
        trains.append(time.perf_counter() - started)
        for name, draw in draws.items():
            started = time.perf_counter()
            draw()
            times[name].append(time.perf_counter() - started)
    return PictureTimes(Spread(tuple(trains)), {k: Spread(tuple(v)) for k, v in times.items()})


def picture_lines(result: PictureTimes) -> list[str]:
    total = sum(s.median for s in result.pictures.values())
    return [
        "| moons (2 features) | median s (min–max) |",
        "|---|---|",
        f"| training, `train()` | {result.train.text(digits=3)} |",
        *[f"| {name} | {spread.text(digits=3)} |" for name, spread in result.pictures.items()],
        f"| all pictures | {total:.3f} ({total / result.train.median:.1f}× the training) |",
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
