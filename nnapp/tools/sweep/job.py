"""One sweep point, run in the calling process: the sweep's only contact with the run lifecycle."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from nnapp.config import LoadedConfig
from nnapp.errors import NnappError
from nnapp.tools.sweep.plan import Task
from nnapp.tools.sweep.results import PointResult, Scores, Status


def run_task(task: Task, stop_event: threading.Event | None = None) -> PointResult:
    """Run (or resume) one point; user errors come back as an error result.

    `stop_event` stops training after its current step, with everything saved (stop reason `interrupted`).
    """
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    try:
        with threadpool_limits(1):  # the same BLAS threads whatever --jobs is: the same numbers
            scores = train_point(task, stop_event)
    except NnappError as exc:
        return PointResult(task.point, task.run_dir, Status.ERROR, error=str(exc), seconds=_since(t0))
    status = Status.RESUMED if task.action == "resume" else Status.TRAINED
    return PointResult(task.point, task.run_dir, status, scores, seconds=_since(t0))


def train_point(task: Task, stop_event: threading.Event | None) -> Scores:
    """The adapter to nnapp.rundir's run lifecycle: every call the sweep makes to it is here."""
    from nnapp.orchestration.job import execute, prepare_new, prepare_resume

    outcome = None
    if task.action == "resume":
        try:
            job = prepare_resume(task.run_dir)
            job = replace(job, loaded=_with_plots(job.loaded, task.plots))
            outcome = execute(job, stop_event=stop_event)
        except NnappError:  # an unreadable checkpoint: start the point again
            outcome = None
    if outcome is None:
        loaded = _with_plots(task.loaded, task.plots)  # validated by the plan: not parsed again
        outcome = execute(prepare_new(loaded, run_dir=task.run_dir), stop_event=stop_event)
    # the numbers come back in memory: the parent never re-reads summary.json
    return Scores.from_mapping(vars(outcome.summary), outcome.result.stop_reason)


def _with_plots(loaded: LoadedConfig, plots: bool) -> LoadedConfig:
    output = replace(loaded.config.output, plots=plots)
    return replace(loaded, config=replace(loaded.config, output=output))


def _since(t0: float) -> float:
    return time.perf_counter() - t0
