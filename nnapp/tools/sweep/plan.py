"""Planning a sweep: every point validated (and its data loaded once) before anything is written,
and the points an earlier run of the same sweep finished found on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nnapp.config import Config, LoadedConfig, load_config
from nnapp.data.preflight import check_memory
from nnapp.errors import ConfigError, NnappError
from nnapp.orchestration.job import load_data
from nnapp.rundir import artifacts
from nnapp.tools.sweep.grid import Axis, GridPoint, parse_grid, points
from nnapp.tools.sweep.results import PointResult, Scores, Status


@dataclass(frozen=True)
class Task:
    loaded: LoadedConfig  # the base config with the fixed overrides and the point's, validated once
    run_dir: Path
    action: str  # "train" | "resume"
    point: GridPoint
    plots: bool = False  # draw the run's pictures (`nnapp plot RUN` draws them any time)


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


def plan_sweep(
    config_path: str | Path,
    specs: list[str] | tuple[str, ...],
    seeds: list[int] | None = None,
    out_dir: str | Path | None = None,
    plots: bool = False,
) -> SweepPlan:
    """Validate every point and its data, find finished points; raises NnappError and writes nothing."""
    config_path = Path(config_path).absolute()  # worker processes must find it too
    axes, fixed = parse_grid(specs)
    base = load_config(config_path, fixed)
    seeds = list(seeds) if seeds is not None else [base.config.seed]
    sweep_dir = default_sweep_dir(base.config) if out_dir is None else Path(out_dir)
    sweep_dir = sweep_dir.absolute()
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise ConfigError("exists and is not a directory", option="out", value=str(sweep_dir))
    artifacts.check_not_in_run_dir("the sweep directory", sweep_dir)  # a run is written by its training only
    data_cache: dict[Any, Any] = {}
    tasks, finished = [], []
    for point in points(axes, seeds):
        overrides = (*fixed, *point.overrides)
        loaded = load_config(config_path, overrides)
        _check_data(loaded, data_cache)
        run_dir = sweep_dir / point.dirname
        state, scores = _point_state(run_dir, loaded)
        if scores is not None:
            finished.append(PointResult(point, run_dir, Status.SKIPPED, scores))
        else:
            tasks.append(Task(loaded, run_dir, state, point, plots))
    return SweepPlan(config_path, fixed, axes, seeds, sweep_dir, tasks, finished)


def default_sweep_dir(config: Config) -> Path:
    return Path(config.output.dir) / f"{config.name}-sweep"


def _check_data(loaded: LoadedConfig, cache: dict[Any, Any]) -> None:
    """Load each distinct data config once (with the point's seed) and check the memory estimate."""
    cfg = loaded.config
    key = (repr(cfg.data), cfg.seed)  # DataConfig holds lists: not hashable itself
    if key not in cache:
        cache[key] = load_data(loaded)
    # every point: points share data (the cache key) but not model.hidden
    check_memory(cfg, cache[key], " ".join(loaded.overrides) or str(loaded.path))


def same_run(theirs: Config, ours: Config) -> bool:
    """The same config but for output.plots: whether pictures were drawn changes no number."""
    return replace(theirs, output=replace(theirs.output, plots=ours.output.plots)) == ours


def _point_state(run_dir: Path, loaded: LoadedConfig) -> tuple[str, Scores | None]:
    """('finished', its scores), ('resume', None) (a checkpoint to go on from) or ('train', None)."""
    config_file = run_dir / "config.yaml"
    if not config_file.exists():
        return "train", None
    try:
        theirs = load_config(config_file).config
    except NnappError:
        theirs = None
    if theirs is None or not same_run(theirs, loaded.config):
        raise ConfigError(
            f"{run_dir}: holds a run of a different config (did the base config change?); "
            "sweep into another --out directory or remove this one"
        )
    scores = finished_scores(run_dir)
    if scores is not None:
        return "finished", scores
    return ("resume" if (run_dir / "checkpoint.npz").exists() else "train"), None


def finished_scores(run_dir: Path) -> Scores | None:
    """The scores of a run that finished (not stopped by a sweep), read from its summary; else None."""
    if not (run_dir / "model.npz").exists():
        return None
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        reason = summary.get("stop_reason")
        if reason is None or reason == "interrupted":
            return None
        return Scores.from_mapping(summary, reason)
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None  # unreadable or incomplete: the point runs again


def finished_on_disk(plan: SweepPlan) -> int:
    """How many of the plan's runs have a final summary now (after an interruption, say)."""
    return len(plan.finished) + sum(finished_scores(task.run_dir) is not None for task in plan.tasks)
