"""One experiment end to end: config -> data -> training -> run directory. What `nnapp train` calls.

Everything that can be wrong with the user's input is found before the run directory is created,
so a bad config or CSV leaves nothing behind.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nnapp.config import LoadedConfig, dump_config
from nnapp.data import preflight
from nnapp.data.datasets import Dataset, load_dataset
from nnapp.data.fingerprint import DataFingerprint, fingerprint
from nnapp.rundir import artifacts
from nnapp.training.evaluate import summary_metrics
from nnapp.training.records import Callback, TrainResult
from nnapp.training.threads import training_threads
from nnapp.training.trainer import train

EXIT_CODES = {"completed": 0, "early_stopping": 0, "diverged": 3, "gradcheck_failed": 4, "interrupted": 130}


@dataclass
class RunOutcome:
    run_dir: Path
    result: TrainResult
    data: Dataset
    metrics: dict[str, Any]
    exit_code: int


def prepare(loaded: LoadedConfig) -> Dataset:
    """Load and validate the data for a config (raises NnappError on bad input, writes nothing)."""
    cfg = loaded.config
    source = str(loaded.path or "config")
    preflight.check_memory_before_data(cfg, source)  # before generating a dataset of 10^7 x 10^5
    data = load_dataset(cfg.data, cfg.seed, data_base_dir(loaded), config_source=source)
    preflight.check_memory(cfg, data, source)
    return data


def data_base_dir(loaded: LoadedConfig) -> Path | None:
    """Where a relative data.path is looked for when not found from the working directory."""
    return loaded.path.parent if loaded.path is not None else None


def write_run(
    run_dir: Path,
    loaded: LoadedConfig,
    data: Dataset,
    result: TrainResult,
    started_at: datetime,
    data_hash: DataFingerprint,
) -> dict[str, Any]:
    cfg = loaded.config
    metrics = summary_metrics(result.params, data)
    last_check = result.checks[-1].report if result.checks else None
    arrays = artifacts.model_arrays(
        result.params,
        data.classes,
        data.scaler_mean,
        data.scaler_scale,
        data.feature_names,
        data.columns,
        data.categories,
    )
    artifacts.save_npz(run_dir / "model.npz", arrays)
    artifacts.write_metrics(run_dir / "metrics.csv", result.history)
    artifacts.write_gradcheck(run_dir / "gradcheck.csv", result.checks)
    summary = {
        "name": cfg.name,
        "dataset": data.name,
        "seed": cfg.seed,
        "stop_reason": result.stop_reason,
        "message": result.message,
        "epochs_trained": result.state.epoch,
        "best_epoch": result.best_epoch,
        **metrics,
        "initial_loss": result.initial_loss,
        "chance_loss": result.chance_loss,
        "gradcheck_verdict": last_check.verdict if last_check else "off",
        # over every check of the run, as the console's summary line reports it
        "gradcheck_max_error": max(c.report.max_error for c in result.checks) if result.checks else None,
        "classes": [str(c) for c in data.classes],
        "feature_names": list(data.feature_names),
        "n_features": data.n_features,
        "n_train": len(data.y_train),
        "n_val": len(data.y_val),
        "n_test": len(data.y_test),
        "dropped_rows": data.dropped_rows,
        "data_source": data_hash.source,
        "data_sha256": data_hash.sha256,  # evaluate, resume and gradcheck --run refuse other data
        "notes": preflight.notes(cfg, data),
        "overrides": list(loaded.overrides),
        "started_at": started_at.isoformat(timespec="seconds"),
        "train_seconds": result.seconds,
        "versions": artifacts.versions(),
    }
    artifacts.write_json(run_dir / "summary.json", summary)
    if cfg.output.plots:
        from nnapp.rundir import plots

        title = cfg.name if cfg.name == data.name else f"{cfg.name} ({data.name})"
        artifacts.atomic_write_bytes(
            run_dir / "curves.png",
            plots.curves_png(result.history, result.best_epoch, title, result.chance_loss),
        )
        if result.checks:
            artifacts.atomic_write_bytes(
                run_dir / "gradcheck.png",
                plots.gradcheck_png(result.checks, cfg.gradcheck.tol, cfg.gradcheck.fail),
            )
    from nnapp.rundir.report import write_extras

    write_extras(run_dir, cfg, data, result.params)  # confusion.png, decision_boundary.png, report.md
    return metrics


def run_experiment(
    loaded: LoadedConfig,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
    data: Dataset | None = None,
    run_dir: Path | None = None,
) -> RunOutcome:
    """Train a config and write its run directory; raises NnappError for bad input before writing.

    `run_dir`: write there (created if needed) instead of a fresh `output.dir/name/<time stamp>`.
    """
    from nnapp.rundir.checkpoint import CheckpointWriter, RunInfo
    from nnapp.rundir.runlock import lock_run_dir

    data = data if data is not None else prepare(loaded)
    cfg = loaded.config
    data_hash = fingerprint(cfg.data, data, data_base_dir(loaded))  # before training: what it trains on
    started_at = datetime.now()
    if run_dir is None:
        run_dir = artifacts.new_run_dir(cfg.output.dir, cfg.name, started_at)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    lock = lock_run_dir(run_dir)  # a --resume of this run while it trains is refused
    artifacts.atomic_write_text(run_dir / "config.yaml", dump_config(cfg, loaded.overrides))
    config_path = str(loaded.path.resolve()) if loaded.path is not None else None
    info = RunInfo(
        config_path,
        tuple(loaded.overrides),
        started_at.isoformat(timespec="seconds"),
        os.getcwd(),
        data_hash.sha256,
        data_hash.source,
    )
    writer = CheckpointWriter(run_dir, info)
    t0 = time.perf_counter()
    with training_threads():
        result = train(cfg, data, [*callbacks, writer], stop_event=stop_event)
    writer.flush()  # the last full epoch, whatever stopped the run
    metrics = write_run(run_dir, loaded, data, result, started_at, data_hash)
    metrics["total_seconds"] = time.perf_counter() - t0
    lock.release()
    return RunOutcome(run_dir, result, data, metrics, EXIT_CODES[result.stop_reason])
