"""Continue a run directory from its checkpoint: what `nnapp train --resume RUN_DIR` calls.

The run's own `config.yaml` (the resolved config) and the checkpoint's record of where the run
came from rebuild the same data split; `train` then continues from the saved state, so a resumed run
ends with the same model.npz and metrics as the same run never interrupted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from nnapp.config import Config, LoadedConfig, dump_config, load_config
from nnapp.core import network
from nnapp.data.datasets import Dataset
from nnapp.data.fingerprint import DataFingerprint, check_unchanged, fingerprint
from nnapp.errors import ArtifactError
from nnapp.rundir import artifacts, runs
from nnapp.rundir.checkpoint import CHECKPOINT_NAME, Checkpoint, CheckpointWriter, RunInfo, load_checkpoint
from nnapp.rundir.experiment import EXIT_CODES, RunOutcome, data_base_dir, prepare, write_run
from nnapp.rundir.runlock import lock_run_dir
from nnapp.training.records import Callback
from nnapp.training.start import dimensions
from nnapp.training.threads import training_threads
from nnapp.training.trainer import train


@dataclass
class ResumeJob:
    run_dir: Path
    loaded: LoadedConfig
    data: Dataset
    checkpoint: Checkpoint
    epochs_changed: bool
    data_hash: DataFingerprint
    checkpoint_stamp: tuple[int, int, int]  # (inode, mtime_ns, size) as read: a save since then is refused


def prepare_resume(run_dir: str | Path, epochs: int | None = None) -> ResumeJob:
    """Read RUN_DIR's checkpoint and config and rebuild its data; raises NnappError, writes nothing."""
    run_dir = Path(run_dir)
    checkpoint = load_checkpoint(run_dir)
    lock_run_dir(run_dir).release()  # busy now: say so before reading further; resume_experiment locks
    stamp = _stamp(run_dir / CHECKPOINT_NAME)
    state, info = checkpoint.state, checkpoint.info
    if epochs is not None and epochs < state.epoch:
        raise ArtifactError(
            f"--epochs {epochs}: {run_dir} has already trained {state.epoch} epochs; give at least that many"
        )
    extra = [f"train.epochs={epochs}"] if epochs is not None else []
    from_file = load_config(run_dir / "config.yaml", extra)
    # earlier --epochs of this run are replaced, not stacked
    overrides = (*(o for o in info.overrides if not (extra and o.startswith("train.epochs="))), *extra)
    origin = Path(info.config_path) if info.config_path else None
    loaded = LoadedConfig(_from_start_dir(from_file.config, info), origin, overrides, from_file.raw)
    data = prepare(loaded)
    data_hash = fingerprint(loaded.config.data, data, data_base_dir(loaded))
    if info.data_sha256 is not None:
        check_unchanged(info.data_sha256, data_hash, run_dir, CHECKPOINT_NAME, run_dir / "config.yaml")
    else:
        _check_against_old_model(run_dir, data)
    cfg = loaded.config
    expected = network.n_parameters(*dimensions(data, cfg))
    if state.flat.size != expected or state.flat.dtype != cfg.model.dtype:
        raise ArtifactError(
            f"{run_dir / 'checkpoint.npz'}: holds {state.flat.size} {state.flat.dtype} parameters, "
            f"but its config.yaml and data need {expected} {cfg.model.dtype}"
        )
    return ResumeJob(run_dir, loaded, data, checkpoint, epochs is not None, data_hash, stamp)


def _stamp(path: Path) -> tuple[int, int, int]:
    stat = path.stat()  # every save renames a new file into place: a new inode
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _check_against_old_model(run_dir: Path, data: Dataset) -> None:
    """A checkpoint from before data hashes: the scaler and classes must still match its model.npz."""
    model_path = run_dir / "model.npz"
    if model_path.exists() and not runs.data_matches_model(
        data, runs.SavedModel.from_arrays(artifacts.load_model(model_path))
    ):
        raise ArtifactError(
            f"{model_path}: the data rebuilt from {run_dir / 'config.yaml'} no longer matches this model "
            f"(has {data.name} changed since training?)"
        )


def _from_start_dir(cfg: Config, info: RunInfo) -> Config:
    """A relative data.path that only exists from the run's starting directory, made absolute."""
    path = cfg.data.path
    if path is None or Path(path).is_absolute() or Path(path).exists() or info.cwd is None:
        return cfg
    candidate = Path(info.cwd) / path
    return replace(cfg, data=replace(cfg.data, path=str(candidate))) if candidate.exists() else cfg


def resume_experiment(
    job: ResumeJob,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
) -> RunOutcome:
    """Continue the run in place and rewrite its run directory (model, metrics, plots, summary)."""
    run_dir, loaded, info = job.run_dir, job.loaded, job.checkpoint.info
    lock = lock_run_dir(run_dir)  # refuses a second writer, names its pid
    if _stamp(run_dir / CHECKPOINT_NAME) != job.checkpoint_stamp:
        lock.release()
        raise ArtifactError(
            f"{run_dir / CHECKPOINT_NAME}: written by another process since it was read; run the resume again"
        )
    for stale in run_dir.glob(".*.tmp"):  # left by a process killed while writing
        stale.unlink(missing_ok=True)
    if job.epochs_changed:
        artifacts.atomic_write_text(run_dir / "config.yaml", dump_config(loaded.config, loaded.overrides))
    run_info = replace(  # keeps cwd: CSV paths stay resolvable
        info,
        overrides=tuple(loaded.overrides),
        data_sha256=job.data_hash.sha256,
        data_source=job.data_hash.source,
    )
    writer = CheckpointWriter(run_dir, run_info)
    t0 = time.perf_counter()
    with training_threads():  # as run_experiment: one BLAS thread unless the environment says otherwise
        result = train(
            loaded.config, job.data, [*callbacks, writer], state=job.checkpoint.state, stop_event=stop_event
        )
    writer.flush()
    started_at = datetime.fromisoformat(info.started_at) if info.started_at else datetime.now()
    metrics = write_run(run_dir, loaded, job.data, result, started_at, job.data_hash)
    metrics["total_seconds"] = time.perf_counter() - t0
    lock.release()
    return RunOutcome(run_dir, result, job.data, metrics, EXIT_CODES[result.stop_reason])
