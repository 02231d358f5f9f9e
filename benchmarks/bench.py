"""nnapp's training speed next to scikit-learn's MLPClassifier and a hand-written PyTorch loop.

    make bench                      # or: .venv/bin/python benchmarks/bench.py [--quick]

Every trainer gets the same split, architecture (one hidden ReLU layer), batch size, learning rate,
momentum 0.9 and number of epochs, one BLAS/OpenMP thread (threadpoolctl; torch.set_num_threads(1)),
and they take turns (interleaved repeats) so that load from elsewhere on the machine hits all alike.
Each run gives the mean wall-clock time of an epoch; tables show the median over the repeats:

    nnapp         its training loop's own clock (EpochRecord.seconds: shuffle, gather, steps), from
                  trainer.train with early stopping and gradient checks off
    scikit-learn  (fit with E epochs - fit with E0 epochs) / (E - E0): the marginal cost of an epoch,
                  without fit's set-up and validation
    PyTorch       the wall clock of the epochs of the classic loop (randperm, gather, then per batch
                  zero_grad, Linear-ReLU-Linear, CrossEntropyLoss, backward, SGD step), if torch imports
    lean floor    benchmarks/floor.py: nnapp's step arithmetic written inline with preallocated arrays and
                  no safety checks, timed per epoch like nnapp (shuffle, gather, steps); it starts from
                  nnapp's weights and shuffle stream and must end at nnapp's weights bit for bit

A second table measures what the default training config adds to the bare loop (per-epoch metrics,
gradient checks every 10 epochs, progress bar, metrics.csv) by running nnapp's own run_experiment.
Writes benchmarks/results.md and benchmarks/results.png. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import floor  # next to this script
import numpy as np
import user_view
import whole_run
from threadpoolctl import threadpool_info, threadpool_limits

from nnapp.config import Config, load_config
from nnapp.core import network
from nnapp.data.datasets import Dataset
from nnapp.orchestration.job import load_data
from nnapp.rundir import files
from nnapp.tools.compare import comparable_config, sklearn_settings

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DATASETS = ("iris", "wine", "breast_cancer", "digits", "moons")


@dataclass(frozen=True)
class Case:
    label: str
    dataset: str
    hidden: int
    batch: int
    dtype: str
    epochs: int
    group: str  # "datasets" or "scaling"


@dataclass
class Timing:
    epoch_seconds: list[float]
    accuracy: float
    flat: np.ndarray | None = None  # the last weights (nnapp and the floor: they must agree bit for bit)


def cases(quick: bool) -> list[Case]:
    out = []
    for name in DATASETS:
        hidden = load_config(ROOT / "configs" / f"{name}.yaml").config.model.hidden
        out.append(Case(name, name, hidden, 32, "float64", 10 if quick else 100, "datasets"))
    for dtype in ("float64", "float32"):
        for hidden in (64, 256, 1024):
            for batch in (32, 256):
                epochs = 2 if quick else (4 if hidden == 1024 else 10)
                label = f"digits h{hidden} b{batch} {dtype}"
                out.append(Case(label, "digits", hidden, batch, dtype, epochs, "scaling"))
    return out


def case_config(case: Case, epochs: int | None = None) -> tuple[Config, Dataset]:
    overrides = [
        f"model.hidden={case.hidden}",
        f"model.dtype={case.dtype}",
        f"train.batch_size={case.batch}",
        f"train.epochs={epochs or case.epochs}",
        "optim.momentum=0.9",
        "optim.nesterov=false",
    ]
    loaded = load_config(ROOT / "configs" / f"{case.dataset}.yaml", overrides)
    return comparable_config(loaded.config), load_data(loaded)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y, pred))


# ------------------------------------------------------------------------------------------ trainers


def run_nnapp(cfg: Config, data: Dataset) -> Timing:
    from nnapp.training.trainer import train

    result = train(cfg, data)
    X_test = data.X_test.astype(cfg.model.dtype)
    return Timing(
        [r.seconds for r in result.history[1:]],
        accuracy(network.predict(result.params, X_test), data.y_test),
        result.state.flat,
    )


def run_floor(cfg: Config, data: Dataset) -> Timing:
    run = floor.run_floor(cfg, data)
    last = network.views(run.flat, data.n_features, cfg.model.hidden, data.n_classes)
    X_test = data.X_test.astype(cfg.model.dtype)
    return Timing(run.epoch_seconds, accuracy(network.predict(last, X_test), data.y_test), run.flat)


def run_sklearn(cfg: Config, data: Dataset) -> Timing:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X = data.X_train.astype(cfg.model.dtype)
    epochs = cfg.train.epochs
    short = max(1, epochs // 4)

    def fit(n_epochs: int) -> tuple[Any, float]:
        settings = sklearn_settings(
            dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=n_epochs))
        )
        model = MLPClassifier(**settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            model.fit(X, data.y_train)
        return model, time.perf_counter() - started

    _, t_short = fit(short)
    model, t_full = fit(epochs)
    per_epoch = (t_full - t_short) / (epochs - short) if epochs > short else t_full / epochs
    acc = accuracy(model.predict(data.X_test.astype(cfg.model.dtype)), data.y_test)
    return Timing([per_epoch], acc)


TORCH_THREADS: list[int] = []  # torch.get_num_threads() inside each run, for the report


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run_torch(cfg: Config, data: Dataset) -> Timing:
    import torch

    torch.set_num_threads(1)
    TORCH_THREADS.append(torch.get_num_threads())
    torch.manual_seed(cfg.seed)
    dtype = torch.float32 if cfg.model.dtype == "float32" else torch.float64
    X = torch.as_tensor(data.X_train, dtype=dtype)
    y = torch.as_tensor(data.y_train, dtype=torch.long)
    model = torch.nn.Sequential(
        torch.nn.Linear(data.n_features, cfg.model.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(cfg.model.hidden, data.n_classes),
    ).to(dtype)
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    o = cfg.optim
    optimizer = torch.optim.SGD(
        [{"params": weights, "weight_decay": o.weight_decay}, {"params": biases, "weight_decay": 0.0}],
        lr=o.lr,
        momentum=o.momentum,
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    n, batch = len(y), cfg.train.batch_size
    times = []
    for _ in range(cfg.train.epochs):
        started = time.perf_counter()
        order = torch.randperm(n)
        X_epoch, y_epoch = X[order], y[order]
        for start in range(0, n, batch):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X_epoch[start : start + batch]), y_epoch[start : start + batch])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - started)
    with torch.no_grad():
        pred = model(torch.as_tensor(data.X_test, dtype=dtype)).argmax(dim=1).numpy()
    return Timing(times, accuracy(pred, data.y_test))


# ------------------------------------------------------------------------------------- measurements


@dataclass
class Row:
    case: Case
    steps: int
    ms: dict[str, float]  # trainer -> median ms per epoch
    acc: dict[str, float]  # trainer -> test accuracy (of the last repeat)
    floor_ratios: list[float]  # nnapp's bare steps / the lean floor, per repeat (the spread)
    floor_same: bool  # the floor ended at nnapp's last weights bit for bit, in every repeat

    @property
    def floor_ratio(self) -> float:
        """nnapp's bare steps / the lean floor: the median of the repeats' ratios. Each repeat runs the two
        back to back, so a slow spell of this shared machine slows both halves of a pair alike, where
        it can hit one median and not the other."""
        return statistics.median(self.floor_ratios)


def measure(case: Case, repeats: int, trainers: dict[str, Any]) -> Row:
    cfg, data = case_config(case)
    samples: dict[str, list[float]] = {name: [] for name in trainers}
    acc: dict[str, float] = {}
    same = True
    for _ in range(repeats):
        last: dict[str, Any] = {}
        for name, run in trainers.items():  # interleaved: each repeat runs every trainer once
            timing = run(cfg, data)
            samples[name].append(statistics.fmean(timing.epoch_seconds))
            acc[name], last[name] = timing.accuracy, timing.flat
        same = same and np.array_equal(last["nnapp"], last["floor"])
    steps = -(-len(data.y_train) // case.batch)
    ratios = [a / b for a, b in zip(samples["nnapp"], samples["floor"], strict=True)]
    ms = {k: 1000 * statistics.median(v) for k, v in samples.items()}
    return Row(case, steps, ms, acc, ratios, same)


@dataclass
class Overhead:
    dataset: str
    epochs: int
    bare_ms: float  # summed EpochRecord.seconds: the steps alone
    metrics_ms: float  # trainer.train without gradient checks: + per-epoch train/val metrics
    checks_ms: float  # trainer.train as configured: + periodic and final gradient checks
    total_ms: float  # run_experiment with the progress bar: + display, metrics.csv and the other files

    @property
    def added(self) -> float:
        return self.total_ms / self.bare_ms - 1

    @property
    def whole_run_ratio(self) -> float:
        """A whole train() with per-epoch metrics (checks off) over its bare steps."""
        return self.metrics_ms / self.bare_ms


def measure_overhead(name: str, repeats: int) -> Overhead:
    """The default config of configs/<name>.yaml (all epochs, plots off), taken apart step by step."""
    from nnapp.cli import progress as cli
    from nnapp.orchestration.experiment import run_experiment
    from nnapp.training.trainer import train

    samples: dict[str, list[float]] = {"bare": [], "metrics": [], "checks": [], "total": []}
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"output.dir={tmp}", "output.plots=false", "train.early_stopping.patience=0"]
        loaded = load_config(ROOT / "configs" / f"{name}.yaml", overrides)
        cfg = loaded.config
        unchecked = dataclasses.replace(cfg, gradcheck=dataclasses.replace(cfg.gradcheck, enabled=False))
        data = load_data(loaded)
        saved = cli.out
        cli.out = type(saved)(file=io.StringIO(), force_terminal=True, width=100)  # the bar, off-screen
        try:
            for _ in range(repeats):
                started = time.perf_counter()
                result = train(unchecked, data)
                samples["metrics"].append(time.perf_counter() - started)
                samples["bare"].append(sum(r.seconds for r in result.history))
                started = time.perf_counter()
                train(cfg, data)
                samples["checks"].append(time.perf_counter() - started)
                with cli.Reporter(cfg.train.epochs, False, 1) as reporter:
                    outcome = run_experiment(loaded, [reporter], data=data)
                samples["total"].append(outcome.total_seconds)
        finally:
            cli.out = saved
    ms = {k: 1000 * statistics.median(v) for k, v in samples.items()}
    return Overhead(name, cfg.train.epochs, ms["bare"], ms["metrics"], ms["checks"], ms["total"])


@dataclass
class Startup:
    command: str
    wall: float  # median seconds
    best: float  # fastest run's seconds: the machine's other work adds to the median, never to this
    cpu: float  # median user + system seconds of the child


def measure_startup(repeats: int) -> list[Startup]:
    """`nnapp --help` and `nnapp train configs/iris.yaml` (plots included) as fresh processes."""
    import resource
    import subprocess

    nnapp = str(Path(sys.executable).parent / "nnapp")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "nnapp --help": [nnapp, "--help"],
            "nnapp train configs/iris.yaml": [
                nnapp,
                "train",
                str(ROOT / "configs" / "iris.yaml"),
                f"output.dir={tmp}",
            ],
        }
        for label, argv in commands.items():
            walls, cpus = [], []
            for _ in range(repeats):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                subprocess.run(argv, check=True, capture_output=True, env={**os.environ, "COLUMNS": "100"})
                walls.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            out.append(Startup(label, statistics.median(walls), min(walls), statistics.median(cpus)))
    return out


# ------------------------------------------------------------------------------------------- report


def thread_report() -> list[str]:
    lines = []
    for pool in threadpool_info():
        lines.append(
            f"{pool.get('internal_api')} {pool.get('version') or ''} ({pool.get('user_api')}, "
            f"{pool.get('architecture') or 'n/a'}): {pool.get('num_threads')} thread(s), "
            f"from {Path(pool.get('filepath', '')).name}"
        )
    return lines


def fmt_ratio(num: float | None, den: float) -> str:
    return "–" if num is None else f"{num / den:.1f}×"


def table(rows: list[Row], with_torch: bool) -> list[str]:
    head = "| case | steps/epoch | nnapp ms/epoch | nnapp µs/step | lean floor µs/step | "
    head += "bare steps ÷ lean floor (min–max) | sklearn µs/step | "
    head += "torch µs/step | " if with_torch else ""
    head += (
        "vs sklearn | "
        + ("vs torch | " if with_torch else "")
        + "accuracy nnapp / sklearn"
        + (" / torch" if with_torch else "")
        + " |"
    )
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        us = {k: 1000 * v / r.steps for k, v in r.ms.items()}
        cells = [
            r.case.label,
            str(r.steps),
            f"{r.ms['nnapp']:.3f}",
            f"{us['nnapp']:.1f}",
            f"{us['floor']:.1f}",
            f"{r.floor_ratio:.2f}× ({min(r.floor_ratios):.2f}–{max(r.floor_ratios):.2f})"
            + ("" if r.floor_same else " **weights differ**"),
            f"{us['sklearn']:.1f}",
        ]
        if with_torch:
            cells.append(f"{us['torch']:.1f}")
        cells.append(fmt_ratio(r.ms["sklearn"], r.ms["nnapp"]))
        if with_torch:
            cells.append(fmt_ratio(r.ms["torch"], r.ms["nnapp"]))
        cells.append(" / ".join(f"{r.acc[k]:.3f}" for k in r.acc if k != "floor"))
        out.append("| " + " | ".join(cells) + " |")
    return out


def targets(
    rows: list[Row], overheads: list[Overhead], startups: list[Startup], with_torch: bool
) -> list[str]:
    """The issue's targets, each with the measured value and whether this run met it."""

    def line(ok: bool, text: str) -> str:
        return f"- {'met' if ok else '**not met**'}: {text}"

    out = []
    datasets = [r for r in rows if r.case.group == "datasets"]
    worst = min(datasets, key=lambda r: r.ms["sklearn"] / r.ms["nnapp"])
    ratio = worst.ms["sklearn"] / worst.ms["nnapp"]
    out.append(
        line(
            ratio >= 4,
            f"≥ 4× scikit-learn per epoch at batch 32 on each dataset: lowest {ratio:.1f}× "
            f"({worst.case.label})",
        )
    )
    if with_torch:
        worst = min(datasets, key=lambda r: r.ms["torch"] / r.ms["nnapp"])
        ratio = worst.ms["torch"] / worst.ms["nnapp"]
        out.append(
            line(ratio >= 4, f"≥ 4× the PyTorch loop at batch 32: lowest {ratio:.1f}× ({worst.case.label})")
        )
        big = next(r for r in rows if r.case.label == "digits h1024 b256 float32")
        ratio = big.ms["torch"] / big.ms["nnapp"]
        out.append(
            line(ratio >= 1.2, f"float32, hidden 1024, batch 256: ≥ 1.2× PyTorch float32: {ratio:.2f}×")
        )
    worst_o = max(overheads, key=lambda o: o.added)
    out.append(
        line(
            worst_o.added <= 0.5,
            f"the default config adds ≤ 50% to the bare loop: up to {100 * worst_o.added:.0f}% "
            f"({worst_o.dataset})",
        )
    )
    limits = {"nnapp --help": 0.3, "nnapp train configs/iris.yaml": 2.0}
    for st in startups:
        limit = limits[st.command]
        out.append(
            line(
                st.wall < limit,
                f"`{st.command}` < {limit:g} s: median {st.wall:.2f} s wall, fastest {st.best:.2f} s "
                f"({st.cpu:.2f} s CPU)",
            )
        )
    return out


def scale_targets(
    rows: list[Row],
    overheads: list[Overhead],
    startups: list[Startup],
    csv_loading: user_view.CsvLoading,
    boxes: list[user_view.BlackBox],
    sweep: user_view.SweepCost,
) -> list[str]:
    """Issue 12's targets that this benchmark measures, each with its value and whether this run met it."""

    def line(ok: bool, text: str) -> str:
        return f"- {'met' if ok else '**not met**'}: {text}"

    worst_run = max(overheads, key=lambda o: o.whole_run_ratio)
    worst_floor = max(rows, key=lambda r: r.floor_ratio)
    differ = [r.case.label for r in rows if not r.floor_same]
    bare = {r.case.label: r.ms["sklearn"] / r.ms["nnapp"] for r in rows if r.case.group == "datasets"}
    help_run = next(s for s in startups if s.command == "nnapp --help")
    worst_box = min(boxes, key=lambda b: b.ratio)
    peak = csv_loading.nnapp_peak.median
    return [
        line(
            csv_loading.time_ratio <= 2,
            f"CSV loading ≤ 2× `np.loadtxt`: {csv_loading.time_ratio:.1f}× "
            f"({csv_loading.nnapp_s.median:.2f} s vs {csv_loading.loadtxt_s.median:.2f} s)",
        ),
        line(peak <= 3, f"CSV loading peak memory ≤ 3× the float64 data: {peak:.1f}×"),
        line(
            worst_floor.floor_ratio <= 1.2 and not differ,
            f"bare steps ≤ 1.2× the lean floor on every case: up to {worst_floor.floor_ratio:.2f}× "
            f"({worst_floor.case.label}); the floor ends at nnapp's weights bit for bit "
            + (f"except in {', '.join(differ)}" if differ else "in every case"),
        ),
        line(
            worst_run.whole_run_ratio <= 1.5,
            f"whole `train()` (metrics, checks off) ≤ 1.5× its bare steps: up to "
            f"{worst_run.whole_run_ratio:.2f}× ({worst_run.dataset})",
        ),
        line(
            worst_box.ratio >= 4,
            f"`nnapp train` per epoch ≥ 4× faster than scikit-learn: lowest {worst_box.ratio:.1f}× "
            f"({worst_box.dataset}; its bare loop at batch 32: {bare.get(worst_box.dataset, 0.0):.1f}×)",
        ),
        line(
            sweep.ratio <= 6,
            f"the 27-run iris sweep of docs/sweeps.md at `--jobs 2` ≤ 6× one `nnapp train configs/iris.yaml "
            f"output.plots=false`: {sweep.ratio:.1f}× ({sweep.sweep_s.median:.2f} s vs "
            f"{sweep.train_s.median:.2f} s)",
        ),
        line(
            help_run.wall <= 0.2,
            f"`nnapp --help` ≤ 0.2 s: median {help_run.wall:.2f} s wall, "
            f"fastest {help_run.best:.2f} s ({help_run.cpu:.2f} s CPU)",
        ),
    ]


def chart_png(rows: list[Row], with_torch: bool) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import ScalarFormatter

    trainers = ["nnapp", "sklearn"] + (["torch"] if with_torch else [])
    colours = {"nnapp": "#1f77b4", "sklearn": "#ff7f0e", "torch": "#7f7f7f"}
    groups = [[r for r in rows if r.case.group == g] for g in ("datasets", "scaling")]
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    axes = fig.subplots(1, 2, width_ratios=[1, 2.2])
    for ax, group, title in zip(
        axes, groups, ("batch 32, float64", "digits: hidden × batch × dtype"), strict=True
    ):
        x = np.arange(len(group))
        width = 0.8 / len(trainers)
        for i, name in enumerate(trainers):
            values = [1000 * r.ms[name] / r.steps for r in group]
            ax.bar(x + (i - (len(trainers) - 1) / 2) * width, values, width, label=name, color=colours[name])
        ax.set_xticks(x, [r.case.label.replace("digits ", "") for r in group], rotation=35, ha="right")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_ylabel("µs per training step (log scale, lower is faster)")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3, which="both")
    handles, labels = axes[0].get_legend_handles_labels()
    # one legend for both panels, below them: inside, it covered the bars
    fig.legend(handles, labels, loc="outside lower center", ncols=len(trainers), frameon=False)
    fig.suptitle("Training step time, one thread (median of interleaved repeats)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


@dataclass
class Measured:
    """Everything one `make bench` measures, for results.md."""

    quick: bool
    repeats: int
    with_torch: bool
    threads: list[str]
    rows: list[Row]
    overheads: list[Overhead]
    startups: list[Startup]
    csv_loading: user_view.CsvLoading
    boxes: list[user_view.BlackBox]
    sweep: user_view.SweepCost
    seconds: float
    picture_times: user_view.PictureTimes | None = None
    big_csv: whole_run.BigCsv | None = None
    tensorboard: list[whole_run.TensorboardCost] | None = None


def measure_all(quick: bool, repeats: int) -> Measured:
    started = time.perf_counter()
    with_torch = torch_available()
    trainers: dict[str, Any] = {"nnapp": run_nnapp, "floor": run_floor, "sklearn": run_sklearn}
    if with_torch:
        trainers["torch"] = run_torch
    rows = []
    with threadpool_limits(limits=1):
        threads = thread_report()
        warm_up = Case("warm-up", "iris", 8, 32, "float64", 3, "none")
        for run in trainers.values():  # first calls pay for imports and caches: keep them out of the table
            run(*case_config(warm_up))
        for case in cases(quick):
            row = measure(case, repeats, trainers)
            rows.append(row)
            print(
                f"{case.label:28s} "
                + "  ".join(f"{k} {1000 * v / row.steps:8.1f} µs/step" for k, v in row.ms.items())
                + f"  bare/floor {row.floor_ratio:.2f}",
                flush=True,
            )
        overheads = []
        for name in DATASETS:
            overhead = measure_overhead(name, max(2, repeats // 2))
            overheads.append(overhead)
            print(f"{name:28s} default config adds {100 * overhead.added:.0f}% to the bare loop", flush=True)

    startups = measure_startup(3 if quick else 9)
    for st in startups:
        print(
            f"{st.command:32s} {st.wall:.2f} s wall (fastest {st.best:.2f}), {st.cpu:.2f} s CPU", flush=True
        )
    csv_loading = user_view.measure_csv_loading(3 if quick else 7)
    print(f"CSV loading: {csv_loading.time_ratio:.1f}x np.loadtxt", flush=True)
    boxes = [  # not under threadpool_limits: each process with the threads a user gets
        user_view.measure_black_box(name, epochs, 2 if quick else 7)
        for name, epochs in user_view.BLACK_BOX_CASES.items()
    ]
    for box in boxes:
        print(
            f"{box.dataset:28s} nnapp train per epoch {box.ratio:.1f}x faster than scikit-learn", flush=True
        )
    sweep = user_view.measure_sweep(2 if quick else 5)
    print(f"27-run iris sweep: {sweep.ratio:.1f}x one nnapp train", flush=True)
    with threadpool_limits(limits=1):
        picture_times = user_view.measure_pictures(3 if quick else 7)
    print(*user_view.picture_lines(picture_times), sep="\n", flush=True)
    big_csv = whole_run.measure_big_csv(2 if quick else 5)
    print(
        f"big CSV, whole run: {big_csv.time_ratio:.1f}x np.loadtxt, {big_csv.memory_ratio:.1f}x the data",
        flush=True,
    )
    tensorboard = whole_run.measure_tensorboard(whole_run.TENSORBOARD_PAIRS[quick])
    print(f"output.tensorboard: x{max(c.ratio for c in tensorboard):.2f} at most", flush=True)
    seconds = time.perf_counter() - started
    return Measured(
        quick,
        repeats,
        with_torch,
        threads,
        rows,
        overheads,
        startups,
        csv_loading,
        boxes,
        sweep,
        seconds,
        picture_times,
        big_csv,
        tensorboard,
    )


def results_head(m: Measured) -> list[str]:
    """results.md down to the targets: how it was measured, and what the issues asked for."""
    import sklearn

    versions = f"numpy {np.__version__}, scikit-learn {sklearn.__version__}"
    if m.with_torch:
        import torch

        versions += f", torch {torch.__version__} (threads in the runs: {sorted(set(TORCH_THREADS))})"
    return [
        "# nnapp training speed",
        "",
        f"Generated by `make bench` (`benchmarks/bench.py{' --quick' if m.quick else ''}`) in "
        f"{m.seconds:.0f} s on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {versions}. Mean epoch time of a run, median of {m.repeats} "
        "interleaved repeats; µs/step = ms/epoch ÷ steps/epoch; ratios = the other trainer's time ÷ "
        "nnapp's (higher: nnapp faster), "
        "except bare steps ÷ lean floor (nnapp's time ÷ the floor's, run back to back in each repeat: the "
        "median of the repeats' ratios, lower is leaner; in brackets the lowest and highest). "
        "How each trainer is timed: the docstring of `benchmarks/bench.py`.",
        "",
        *(
            []
            if m.with_torch
            else ["PyTorch was not importable: its columns are left out (torch is not a dependency).", ""]
        ),
        "Threads (threadpoolctl, inside the benchmark):",
        "",
        *[f"- {t}" for t in m.threads],
        f"- OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}",
        "",
        "## Targets (issue 4), as measured in this run",
        "",
        *targets(m.rows, m.overheads, m.startups, m.with_torch),
        "",
        "## Targets (issue 12), as measured in this run",
        "",
        *scale_targets(m.rows, m.overheads, m.startups, m.csv_loading, m.boxes, m.sweep),
        "",
    ]


def results_body(m: Measured) -> list[str]:
    """results.md from the tables on."""
    rows, overheads, startups, with_torch = m.rows, m.overheads, m.startups, m.with_torch
    load = os.getloadavg()
    return [
        "## Five datasets, batch 32, momentum 0.9, float64 (hidden size from each configs/*.yaml)",
        "",
        *table([r for r in rows if r.case.group == "datasets"], with_torch),
        "",
        "## Scaling on digits (1077 training rows): hidden × batch × dtype",
        "",
        *table([r for r in rows if r.case.group == "scaling"], with_torch),
        "",
        "Accuracy is on the test split after the benchmark's few epochs (100 for the datasets, 4–10 for "
        "scaling), at each config's learning rate and weight decay (scikit-learn: alpha = weight_decay × "
        "batch size); the trainers start from different random weights, and for two classes "
        "(breast_cancer, moons) scikit-learn has one logistic output unit where the others have two "
        "softmax units.",
        "",
        "The lean floor (`benchmarks/floor.py`) is nnapp's step arithmetic written inline, as a careful "
        "engineer would for this one network: preallocated arrays, batch views made once, no divergence "
        "check, no clipping, no stop request. It starts from nnapp's initial weights and shuffle stream, "
        "and it ended at nnapp's last weights bit for bit "
        + ("in every case above" if all(r.floor_same for r in rows) else "**not** in every case above")
        + ": the same arithmetic, so bare steps ÷ lean floor is what nnapp's loop adds around it.",
        "",
        "## What the default training config adds to the bare loop",
        "",
        "`run_experiment` on each configs/*.yaml (all epochs, early stopping off, plots off), with the "
        "progress bar drawn to an off-screen terminal: per-epoch train/val metrics, gradient checks every "
        "10 epochs, metrics.csv, gradcheck.csv, model.npz, summary.json. Each column adds one part (medians, "
        "so the parts need not sum exactly).",
        "",
        "| config | epochs | bare loop ms | + per-epoch metrics | + gradient checks | + progress bar, files "
        "| whole run ms | added | train() ÷ bare steps |",
        "|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {o.dataset} | {o.epochs} | {o.bare_ms:.1f} | +{o.metrics_ms - o.bare_ms:.1f} | "
            f"+{o.checks_ms - o.metrics_ms:.1f} | +{o.total_ms - o.checks_ms:.1f} | {o.total_ms:.1f} | "
            f"{100 * o.added:.0f}% | {o.whole_run_ratio:.2f}× |"
            for o in overheads
        ],
        "",
        "The last column is the whole-run ratio: `train()` with per-epoch metrics (checks off) ÷ its bare "
        "steps (medians).",
        "",
        "## `nnapp train` per epoch, black box, next to scikit-learn",
        "",
        *user_view.black_box_lines(m.boxes),
        "",
        "## A sweep, black box",
        "",
        *user_view.sweep_lines(m.sweep),
        "",
        "## Pictures",
        "",
        *(user_view.picture_lines(m.picture_times) if m.picture_times else []),
        "",
        "## Loading a CSV",
        "",
        *user_view.csv_lines(m.csv_loading),
        "",
        *(whole_run.big_csv_lines(m.big_csv) if m.big_csv is not None else []),
        *(whole_run.tensorboard_lines(m.tensorboard) if m.tensorboard is not None else []),
        "## Start-up",
        "",
        "Fresh processes (the CLI's threads are not pinned here). Wall time depends on what else runs on "
        f"the machine (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end of this "
        "benchmark), and so, less, does CPU time (user + system).",
        "",
        "| command | median wall s | fastest wall s | median CPU s |",
        "|---|---|---|---|",
        *[f"| `{st.command}` | {st.wall:.2f} | {st.best:.2f} | {st.cpu:.2f} |" for st in startups],
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats (a smoke run)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.md and results.png")
    args = parser.parse_args()
    measured = measure_all(args.quick, args.repeats or (2 if args.quick else 7))
    args.out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(results_head(measured) + results_body(measured)) + "\n"
    files.write_text(args.out / "results.md", text)
    files.write(args.out / "results.png", chart_png(measured.rows, measured.with_torch))
    print(f"wrote {args.out / 'results.md'} and {args.out / 'results.png'}")


if __name__ == "__main__":
    main()
