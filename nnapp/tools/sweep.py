"""Sweeps: the Cartesian product of a few settings x seeds, each an ordinary run directory.

    nnapp sweep configs/iris.yaml optim.lr=0.01,0.1,1 model.hidden=16,64 --seeds 0,1,2 --jobs 2

Each point runs in a worker process of its own (at most --jobs at a time) and writes its own run
directory `<sweep dir>/<key=value_..._seed=S>`, so a point is finished exactly when its summary.json says
so. A worker that dies (killed, out of memory) fails its point only; the others go on. Stopping the sweep
stops every worker after its current step, each saving its run. Running the same sweep again skips
finished points and resumes interrupted ones from their checkpoints. Every point's config is validated
(and its data loaded once) before anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import LoadedConfig, load_config
from nnapp.data.preflight import check_memory
from nnapp.errors import ConfigError, NnappError
from nnapp.rundir import artifacts
from nnapp.rundir.experiment import prepare

# After a stop request, how long workers get to finish their step and save before they are killed
# (a killed worker's run still resumes from its last checkpoint).
STOP_GRACE_SECONDS = 20.0

SWEEP_COLUMNS_AFTER_KEYS = (
    "runs",
    "val_acc_mean",
    "val_acc_std",
    "test_acc_mean",
    "test_acc_std",
    "val_loss_mean",
    "test_loss_mean",
    "stop_reasons",
)


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[str, ...]  # as written; each is read as YAML, like any override


@dataclass(frozen=True)
class Point:
    """One run of the sweep: the swept settings (in axis order) and a seed."""

    settings: tuple[tuple[str, str], ...]
    seed: int

    @property
    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.settings] + [f"seed={self.seed}"]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.settings)

    @property
    def dirname(self) -> str:
        text = "_".join(self.overrides)
        safe = re.sub(r"[^A-Za-z0-9._=,+-]", "-", text)
        if safe != text:  # keep names unique when characters had to be replaced
            safe += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
        return safe


@dataclass
class PointResult:
    point: Point
    run_dir: Path
    status: str  # "skipped" (finished earlier) | "trained" | "resumed" | "error"
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


@dataclass
class Task:
    config_path: Path
    overrides: list[str]  # fixed overrides + the point's
    run_dir: Path
    action: str  # "train" | "resume"
    point: Point


@dataclass
class SweepPlan:
    config_path: Path
    fixed: list[str]
    axes: list[Axis]
    seeds: list[int]
    sweep_dir: Path
    tasks: list[Task]  # points still to run
    finished: list[PointResult]  # points a previous sweep completed

    @property
    def total(self) -> int:
        return len(self.tasks) + len(self.finished)


# ------------------------------------------------------------------------------------------ parsing


def split_values(text: str) -> list[str]:
    """'0.01,0.1,[a,b]' -> ['0.01', '0.1', '[a,b]']: commas inside brackets or quotes stay."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(specs: Sequence[str]) -> tuple[list[Axis], list[str]]:
    """KEY=V1,V2,... become axes; KEY=V (one value) a fixed override for every point."""
    axes: list[Axis] = []
    fixed: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        key, sep, value = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"sweep {spec!r}: expected KEY=V1,V2,... e.g. optim.lr=0.01,0.1,1")
        if key in seen:
            raise ConfigError(f"sweep {spec!r}: {key} is given twice")
        if key == "seed":
            raise ConfigError(f"sweep {spec!r}: sweep seeds with --seeds 0,1,2")
        seen.add(key)
        values = split_values(value)
        if any(v == "" for v in values):
            raise ConfigError(f"sweep {spec!r}: empty value in the list (write KEY=V1,V2 without gaps)")
        if len(set(values)) != len(values):
            raise ConfigError(f"sweep {spec!r}: a value is listed twice")
        if len(values) == 1:
            fixed.append(f"{key}={values[0]}")
        else:
            axes.append(Axis(key, tuple(values)))
    return axes, fixed


def parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    seeds = []
    for part in split_values(text):
        if not re.fullmatch(r"\d+", part):
            raise ConfigError(f"--seeds {text!r}: expected non-negative integers, e.g. --seeds 0,1,2")
        seeds.append(int(part))
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: a seed is listed twice")
    return seeds


def points(axes: Sequence[Axis], seeds: Sequence[int]) -> list[Point]:
    grid = itertools.product(*[[(a.key, v) for v in a.values] for a in axes])
    return [Point(tuple(settings), seed) for settings in grid for seed in seeds]


# ------------------------------------------------------------------------------------------ planning


def plan_sweep(
    config_path: str | Path,
    specs: Sequence[str],
    seeds: Sequence[int] | None = None,
    out_dir: str | Path | None = None,
) -> SweepPlan:
    """Validate every point and its data, find finished points; raises NnappError and writes nothing."""
    config_path = Path(config_path).absolute()  # worker processes must find it too
    axes, fixed = parse_grid(specs)
    base = load_config(config_path, fixed)
    seeds = list(seeds) if seeds is not None else [base.config.seed]
    default_dir = Path(base.config.output.dir) / f"{base.config.name}-sweep"
    sweep_dir = (Path(out_dir) if out_dir is not None else default_dir).absolute()
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise ConfigError(f"--out {sweep_dir}: exists and is not a directory")
    data_cache: dict[Any, Any] = {}
    tasks, finished = [], []
    for point in points(axes, seeds):
        overrides = [*fixed, *point.overrides]
        loaded = load_config(config_path, overrides)
        _check_data(loaded, data_cache)
        run_dir = sweep_dir / point.dirname
        state = _point_state(run_dir, loaded)
        if state == "finished":
            summary = json.loads((run_dir / "summary.json").read_text())
            finished.append(PointResult(point, run_dir, "skipped", summary))
        else:
            tasks.append(Task(config_path, overrides, run_dir, state, point))
    return SweepPlan(config_path, fixed, axes, seeds, sweep_dir, tasks, finished)


def _check_data(loaded: LoadedConfig, cache: dict[Any, Any]) -> None:
    """Load each distinct data config once (with the point's seed) and check the memory estimate."""
    cfg = loaded.config
    key = (repr(cfg.data), cfg.seed)  # DataConfig holds lists: not hashable itself
    if key not in cache:
        cache[key] = prepare(loaded)
    # every point: points share data (the cache key) but not model.hidden
    check_memory(cfg, cache[key], " ".join(loaded.overrides) or str(loaded.path))


def _point_state(run_dir: Path, loaded: LoadedConfig) -> str:
    """'finished', 'resume' (a checkpoint to continue from) or 'train' (nothing usable yet)."""
    config_file = run_dir / "config.yaml"
    if not config_file.exists():
        return "train"
    try:
        theirs = load_config(config_file).config
    except NnappError:
        theirs = None
    if theirs != loaded.config:
        raise ConfigError(
            f"{run_dir}: holds a run of a different config (did the base config change?); "
            "sweep into another --out directory or remove this one"
        )
    summary_file = run_dir / "summary.json"
    if summary_file.exists() and (run_dir / "model.npz").exists():
        try:
            reason = json.loads(summary_file.read_text()).get("stop_reason")
        except ValueError:
            reason = None
        if reason is not None and reason != "interrupted":
            return "finished"
    return "resume" if (run_dir / "checkpoint.npz").exists() else "train"


# ------------------------------------------------------------------------------------------- running


def run_task(task: Task, stop_event: threading.Event | None = None) -> PointResult:
    """Run (or resume) one point in this process; user errors come back as an 'error' result.

    `stop_event` stops training after its current step, with everything saved (stop reason `interrupted`).
    """
    from threadpoolctl import threadpool_limits

    from nnapp.rundir.experiment import run_experiment
    from nnapp.rundir.resume import prepare_resume, resume_experiment

    t0 = time.perf_counter()
    try:
        with threadpool_limits(1):  # the same BLAS threads whatever --jobs is: the same numbers
            if task.action == "resume":
                try:
                    outcome = resume_experiment(prepare_resume(task.run_dir), stop_event=stop_event)
                except NnappError:  # an unreadable checkpoint: start the point again
                    outcome = run_experiment(
                        load_config(task.config_path, task.overrides),
                        stop_event=stop_event,
                        run_dir=task.run_dir,
                    )
            else:
                outcome = run_experiment(
                    load_config(task.config_path, task.overrides), stop_event=stop_event, run_dir=task.run_dir
                )
    except NnappError as exc:
        return PointResult(
            task.point, task.run_dir, "error", error=str(exc), seconds=time.perf_counter() - t0
        )
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    status = "resumed" if task.action == "resume" else "trained"
    return PointResult(task.point, task.run_dir, status, summary, seconds=time.perf_counter() - t0)


def run_sweep(
    plan: SweepPlan, jobs: int = 1, stop_event: threading.Event | None = None
) -> Iterator[PointResult]:
    """Yield the finished points, then each new one as it completes (in completion order).

    Every point runs in a worker process, at most `jobs` at once. When `stop_event` is set, no new point
    starts and the running ones stop after their current step and save (their results say
    `interrupted`); then the generator ends. Closing the generator early stops the workers the same way.
    """
    yield from plan.finished
    if not plan.tasks:
        return
    plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    yield from _run_in_workers(plan.tasks, max(1, jobs), stop_event or threading.Event())


@dataclass
class _Worker:
    task: Task
    process: Any  # multiprocessing's process object (its type depends on the start method)
    results: Any  # our end of the pipe the worker sends its PointResult through
    started: float


def _context() -> Any:
    """Fresh worker processes that share nothing with the sweep's (no inherited pipes or threads)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            ["nnapp.tools.sweep", "nnapp.rundir.experiment", "nnapp.rundir.resume"]
        )
        return context
    return multiprocessing.get_context("spawn")


def _run_in_workers(tasks: Sequence[Task], jobs: int, stop: threading.Event) -> Iterator[PointResult]:
    context = _context()
    waiting = deque(tasks)
    running: list[_Worker] = []
    deadline = math.inf  # for the workers to save and end, once they are told to stop
    try:
        while running or (waiting and not stop.is_set()):
            while waiting and len(running) < jobs and not stop.is_set():
                running.append(_start(context, waiting.popleft()))
            if stop.is_set():
                break
            # wake up for a result, a worker's exit, or (within 0.2 s) a stop request
            multiprocessing.connection.wait(
                [w.results for w in running] + [w.process.sentinel for w in running], timeout=0.2
            )
            for worker in list(running):
                result = _collect(worker)
                if result is not None:
                    running.remove(worker)
                    yield result
        # stopped: every worker saves its run and ends; what they report is still yielded
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in running:
            _signal(worker, signal.SIGTERM)
        while running and time.monotonic() < deadline:
            multiprocessing.connection.wait(
                [w.results for w in running] + [w.process.sentinel for w in running], timeout=0.2
            )
            for worker in list(running):
                result = _collect(worker)
                if result is not None:
                    running.remove(worker)
                    yield result
    finally:  # stopped past the grace period, or the consumer went away: no worker outlives the sweep
        for worker in running:
            _signal(worker, signal.SIGTERM)
        deadline = min(deadline, time.monotonic() + STOP_GRACE_SECONDS)
        for worker in running:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                _signal(worker, signal.SIGKILL)
                worker.process.join()
            worker.results.close()


def _start(context: Any, task: Task) -> _Worker:
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_work, args=(task, send), name=f"nnapp sweep {task.point.dirname}")
    process.start()
    send.close()  # the worker holds the only sending end: its death reads as end of file here
    return _Worker(task, process, receive, time.perf_counter())


def _signal(worker: _Worker, signum: int) -> None:
    if worker.process.exitcode is None and worker.process.pid is not None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(worker.process.pid, signum)


def _collect(worker: _Worker) -> PointResult | None:
    """The worker's result once it sent one, a failed result if it died without one, else None."""
    if not worker.results.poll() and worker.process.is_alive():
        return None  # nothing sent, not ended: still training
    try:  # what it sent before ending is in the pipe; end of file if it sent nothing
        result: PointResult | None = worker.results.recv() if worker.results.poll() else None
    except (EOFError, OSError):
        result = None
    worker.process.join()
    worker.results.close()
    if result is not None:
        return result
    code = worker.process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        cause = f"killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    else:
        cause = f"exited with code {code}"
    return PointResult(
        worker.task.point,
        worker.task.run_dir,
        "error",
        error=f"its worker process was {cause} before the run finished; run the same command to retry it",
        seconds=time.perf_counter() - worker.started,
    )


def _work(task: Task, results: Any) -> None:
    """A worker process: run one point and send back its result.

    SIGINT, SIGTERM, SIGHUP or the death of the sweep process stop training after the current step,
    with everything saved: the next run of the sweep resumes the point.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, lambda *_: stop.set())
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_stop_when_gone, args=(parent.sentinel, stop), daemon=True).start()
    try:
        result = run_task(task, stop)
    except Exception as exc:  # a bug, or MemoryError: the sweep reports it as this point's failure
        result = PointResult(task.point, task.run_dir, "error", error=f"{type(exc).__name__}: {exc}")
    with contextlib.suppress(OSError):  # the sweep is gone; the run directory holds what the point did
        results.send(result)


def _stop_when_gone(sentinel: int, stop: threading.Event) -> None:
    multiprocessing.connection.wait([sentinel])
    stop.set()


def finished_on_disk(plan: SweepPlan) -> int:
    """How many of the plan's runs have a final summary now (after an interruption, say)."""
    count = len(plan.finished)
    for task in plan.tasks:
        try:
            summary = json.loads((task.run_dir / "summary.json").read_text())
        except (OSError, ValueError):
            continue
        count += summary.get("stop_reason") != "interrupted" and (task.run_dir / "model.npz").exists()
    return count


# --------------------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class Row:
    settings: tuple[tuple[str, str], ...]
    runs: int
    val_acc: tuple[float, float]  # mean, std over seeds (sample std; 0 for a single seed)
    test_acc: tuple[float, float]
    val_loss_mean: float
    test_loss_mean: float
    stop_reasons: str

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.settings)


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return float(array.mean()), std


def leaderboard(results: Sequence[PointResult]) -> list[Row]:
    """One row per point (seeds pooled), best mean validation accuracy first, ties broken by the lower
    mean validation loss, then by the order of `results` (write_outputs gives grid order). Ranking reads
    the validation split only: choosing a model by its test score would leak the test split into the
    choice (test accuracy is shown, never used)."""
    groups: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = {}
    for r in results:
        if r.status != "error":
            groups.setdefault(r.point.settings, []).append(r.summary)
    rows = []
    for settings, summaries in groups.items():
        reasons = sorted({str(s.get("stop_reason")) for s in summaries})
        rows.append(
            Row(
                settings,
                len(summaries),
                _mean_std([s["val_acc"] for s in summaries]),
                _mean_std([s["test_acc"] for s in summaries]),
                float(np.mean([s["val_loss"] for s in summaries])),
                float(np.mean([s["test_loss"] for s in summaries])),
                "+".join(reasons),
            )
        )
    return sorted(rows, key=lambda r: (-r.val_acc[0], r.val_loss_mean))  # stable: the given order last


def sweep_csv(rows: Sequence[Row], axes: Sequence[Axis]) -> str:
    columns = ["rank", *(a.key for a in axes), *SWEEP_COLUMNS_AFTER_KEYS]
    records = []
    for rank, row in enumerate(rows, start=1):
        values = dict(row.settings)
        records.append(
            {
                "rank": rank,
                **{a.key: values[a.key] for a in axes},
                "runs": row.runs,
                "val_acc_mean": row.val_acc[0],
                "val_acc_std": row.val_acc[1],
                "test_acc_mean": row.test_acc[0],
                "test_acc_std": row.test_acc[1],
                "val_loss_mean": row.val_loss_mean,
                "test_loss_mean": row.test_loss_mean,
                "stop_reasons": row.stop_reasons,
            }
        )
    return artifacts.csv_text(columns, records)


def sweep_png(results: Sequence[PointResult], axes: Sequence[Axis], title: str = "") -> bytes:
    """sweep.png: validation accuracy against each swept value, every seed's value beside the mean
    (drawn by plots.sweep_figure)."""
    from nnapp.rundir.plots import SweepPoint
    from nnapp.rundir.plots import sweep_png as draw

    accs: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for r in results:
        if r.status != "error":
            accs.setdefault(r.point.settings, []).append(float(r.summary["val_acc"]))
    points = [SweepPoint(settings, tuple(values)) for settings, values in accs.items()]
    return draw(points, [(a.key, a.values) for a in axes], title)


def write_outputs(plan: SweepPlan, results: Sequence[PointResult]) -> list[Row]:
    """sweep.csv and sweep.png in the sweep directory, for the points of this sweep."""
    grid = {point: i for i, point in enumerate(points(plan.axes, plan.seeds))}
    # grid order, not the order the workers happened to finish in: ties rank the same on every run
    rows = leaderboard(sorted(results, key=lambda r: grid.get(r.point, len(grid))))
    if not rows:
        return rows
    plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    artifacts.atomic_write_text(plan.sweep_dir / "sweep.csv", sweep_csv(rows, plan.axes))
    if plan.axes:
        seeds = f"{len(plan.seeds)} seeds" if len(plan.seeds) > 1 else f"seed {plan.seeds[0]}"
        title = f"sweep of {plan.config_path.name} ({seeds} per point)"
        artifacts.atomic_write_bytes(plan.sweep_dir / "sweep.png", sweep_png(results, plan.axes, title))
    return rows
