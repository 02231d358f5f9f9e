"""Sweeps: the Cartesian product of a few settings x seeds, each an ordinary run directory.

    nnapp sweep configs/iris.yaml optim.lr=0.01,0.1,1 model.hidden=16,64 --seeds 0,1,2 --jobs 2

Each point writes its own run directory `<sweep dir>/<key=value_..._seed=S>`, so a point is finished
exactly when its summary.json says so. Points run in persistent worker processes on this machine
(workers.py) or on a dask cluster (cluster.py); a worker that dies fails its point only. Running the
same sweep again skips finished points and resumes interrupted ones from their checkpoints. Every
point's config is validated (and its data loaded once) before anything is written (plan.py).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator

from nnapp.tools.sweep.grid import Axis, GridPoint, parse_grid, parse_seeds, points, split_values
from nnapp.tools.sweep.job import run_task
from nnapp.tools.sweep.leaderboard import Row, leaderboard
from nnapp.tools.sweep.outputs import sweep_csv, sweep_png, write_outputs
from nnapp.tools.sweep.plan import SweepPlan, Task, finished_on_disk, plan_sweep
from nnapp.tools.sweep.results import PointResult, Scores, Status

__all__ = [
    "Axis",
    "Backend",
    "GridPoint",
    "PointResult",
    "Row",
    "Scores",
    "Status",
    "SweepPlan",
    "Task",
    "finished_on_disk",
    "leaderboard",
    "parse_grid",
    "parse_seeds",
    "plan_sweep",
    "points",
    "run_sweep",
    "run_task",
    "split_values",
    "sweep_csv",
    "sweep_png",
    "write_outputs",
]


class Backend(enum.Enum):
    PROCESSES = "processes"  # worker processes on this machine
    DASK = "dask"  # a dask.distributed cluster: a local one, or a scheduler's


def run_sweep(
    plan: SweepPlan,
    jobs: int = 1,
    stop_event: threading.Event | None = None,
    backend: Backend = Backend.PROCESSES,
    scheduler: str | None = None,
) -> Iterator[PointResult]:
    """Yield the finished points, then each new one as it completes (in completion order).

    At most `jobs` points run at once. When `stop_event` is set, no new point starts and the running
    ones stop after their current step and save (their results say `interrupted`); then the generator
    ends. Closing the generator early stops the workers the same way.
    """
    yield from plan.finished
    if not plan.tasks:
        return
    plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    stop = stop_event or threading.Event()
    if backend is Backend.DASK:
        from nnapp.tools.sweep.cluster import run_on_dask

        yield from run_on_dask(plan.tasks, max(1, jobs), stop, scheduler)
    else:
        from nnapp.tools.sweep.workers import run_local

        yield from run_local(plan.tasks, max(1, jobs), stop)
