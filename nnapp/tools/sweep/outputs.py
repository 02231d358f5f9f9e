"""A sweep's own files: sweep.csv (the leaderboard) and sweep.png (drawn by plots.sweep_figure)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence

from nnapp.rundir import artifacts
from nnapp.tools.sweep.grid import Axis, points
from nnapp.tools.sweep.leaderboard import Row, leaderboard
from nnapp.tools.sweep.plan import SweepPlan
from nnapp.tools.sweep.results import PointResult

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


def preload_drawing(plan: SweepPlan) -> threading.Thread | None:
    """Import matplotlib (about a second) in a background thread while the points train, so that
    sweep.png does not wait for it at the end. Only when there is a picture to draw.

    Not a daemon thread: the interpreter waits for the import (at most about a second) before it
    finalizes, instead of tearing down under a thread that may be loading matplotlib's C++ extensions.
    A sweep SIGTERM'd early once aborted (SIGABRT, "terminate called without an active exception")
    instead of exiting 130, and this thread was the only other one alive in it (the likely cause; the
    abort did not reproduce in 52 tries)."""
    if not (plan.axes and plan.tasks):
        return None
    modules = ("matplotlib.figure", "matplotlib.backends.backend_agg")
    thread = threading.Thread(target=lambda: [importlib.import_module(m) for m in modules], daemon=False)
    thread.start()
    return thread


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
    from nnapp.pictures import SweepPoint
    from nnapp.pictures import sweep_png as draw

    accs: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for r in results:
        if r.scores is not None:
            accs.setdefault(r.point.settings, []).append(r.scores.val_acc)
    drawn = [SweepPoint(settings, tuple(values)) for settings, values in accs.items()]
    return draw(drawn, [(a.key, a.values) for a in axes], title)


def write_outputs(plan: SweepPlan, results: Sequence[PointResult]) -> list[Row]:
    """sweep.csv and sweep.png in the sweep directory, for the points of this sweep that finished
    (a point stopped with the sweep does not count until a rerun finishes it)."""
    grid = {point: i for i, point in enumerate(points(plan.axes, plan.seeds))}
    ranked = [r for r in results if r.ranked]
    # grid order, not the order the workers happened to finish in: ties rank the same on every run
    ranked.sort(key=lambda r: grid.get(r.point, len(grid)))
    rows = leaderboard(ranked)
    if not rows:
        return rows
    plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    artifacts.atomic_write_text(plan.sweep_dir / "sweep.csv", sweep_csv(rows, plan.axes))
    if plan.axes:
        seeds = f"{len(plan.seeds)} seeds" if len(plan.seeds) > 1 else f"seed {plan.seeds[0]}"
        title = f"sweep of {plan.config_path.name} ({seeds} per point)"
        artifacts.atomic_write_bytes(plan.sweep_dir / "sweep.png", sweep_png(ranked, plan.axes, title))
    return rows
