"""One path for every run, new or resumed: prepare -> Job -> execute. What `nnapp train` and sweeps call.

`prepare_new` (a config) and `prepare_resume` (a run directory's checkpoint) find everything that can be
wrong with the user's input before anything is written: a bad config, CSV or checkpoint leaves nothing
behind. `execute` then locks the run directory, trains with a checkpoint writer, and writes the run's
files once (nnapp.orchestration.outputs). A resumed run ends with the same model.npz and metrics as the same
run never interrupted: the run's own config.yaml and the checkpoint's record of where the run came from
rebuild the same data split, and training continues from the saved state.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from nnapp.config import Config, LoadedConfig, dump_config, load_config
from nnapp.core import network
from nnapp.data import preflight
from nnapp.data.csvtable import ReadProgress
from nnapp.data.datasets import Dataset, load_dataset
from nnapp.data.fingerprint import DataFingerprint, check_unchanged, fingerprint
from nnapp.errors import ArtifactError, NnappError
from nnapp.orchestration.outputs import write_run
from nnapp.rundir import artifacts, files, runfiles, runs, snapshots, tensorboard
from nnapp.rundir.checkpoint import CHECKPOINT_NAME, Checkpoint, CheckpointWriter, RunInfo, load_checkpoint
from nnapp.rundir.model_file import SavedModel
from nnapp.rundir.runlock import RunLock, lock_run_dir
from nnapp.rundir.runs import RunSummary
from nnapp.training.records import Callback, TrainResult
from nnapp.training.start import dimensions
from nnapp.training.threads import training_threads
from nnapp.training.trainer import train

MAX_EPOCHS = 1_000_000  # config.TrainConfig.epochs's bound


@dataclass(frozen=True)
class Resumption:
    """What a resumed run continues from: its checkpoint, as read, and whether --epochs changed."""

    run_dir: Path
    checkpoint: Checkpoint
    stamp: tuple[int, int, int]  # (inode, mtime_ns, size) as read: a save since then is refused
    epochs_changed: bool


@dataclass
class Job:
    """A run ready to execute: its config and data checked, nothing written yet."""

    loaded: LoadedConfig
    data: Dataset
    data_hash: DataFingerprint  # what it trains on, hashed before training
    notes: list[str]  # what the run adjusts in the config (preflight.notes), computed once
    run_dir: Path | None = None  # None: a fresh output.dir/name/<time stamp> when executed
    resumption: Resumption | None = None  # None: a new run

    @property
    def resumed(self) -> bool:
        return self.resumption is not None

    @property
    def checkpoint(self) -> Checkpoint:
        if self.resumption is None:
            raise ValueError("a new run has no checkpoint")
        return self.resumption.checkpoint


@dataclass
class RunOutcome:
    run_dir: Path
    result: TrainResult
    data: Dataset
    summary: RunSummary  # what summary.json holds
    model: SavedModel  # what model.npz holds
    total_seconds: float  # training and writing the run directory


class EpochsTooFewError(ArtifactError):
    """A resume asked for fewer epochs in all than the run has already trained."""

    def __init__(self, run_dir: Path, epochs: int, trained: int) -> None:
        self.run_dir, self.epochs, self.trained = run_dir, epochs, trained
        super().__init__(
            f"{epochs} epochs in all: {run_dir} has already trained {trained} epochs; give at least that many"
        )


def load_data(loaded: LoadedConfig, progress: ReadProgress | None = None) -> Dataset:
    """Load and validate the data for a config (raises NnappError on bad input, writes nothing).

    `progress(characters read, file size)` follows the reading of a CSV.
    """
    cfg = loaded.config
    source = str(loaded.path or "config")
    preflight.check_memory_before_data(cfg, source)  # before generating a dataset of 10^7 x 10^5
    data = load_dataset(cfg.data, cfg.seed, data_base_dir(loaded), config_source=source, progress=progress)
    preflight.check_memory(cfg, data, source)
    return data


def data_base_dir(loaded: LoadedConfig) -> Path | None:
    """Where a relative data.path is looked for when not found from the working directory."""
    return loaded.path.parent if loaded.path is not None else None


def prepare_new(
    loaded: LoadedConfig,
    run_dir: Path | None = None,
    data: Dataset | None = None,
    progress: ReadProgress | None = None,
) -> Job:
    """A new run of a config: its data loaded and hashed; raises NnappError on bad input, writes nothing.

    `run_dir`: write there (created if needed) instead of a fresh `output.dir/name/<time stamp>`;
    `data`: already loaded by `load_data`; `progress`: follows the reading of a CSV.
    """
    _check_outputs(loaded.config)
    if run_dir is not None:
        check_new_run_dir(run_dir, loaded.config)
    data = data if data is not None else load_data(loaded, progress)
    data_hash = fingerprint(loaded.config.data, data, data_base_dir(loaded))
    return Job(loaded, data, data_hash, preflight.notes(loaded.config, data), run_dir)


def same_run(theirs: Config, ours: Config) -> bool:
    """The same config but for output.plots: whether pictures were drawn changes no number."""
    return replace(theirs, output=replace(theirs.output, plots=ours.output.plots)) == ours


def check_new_run_dir(run_dir: Path, config: Config) -> Config | None:
    """A folder a new run is told to write into (`nnapp.train(run_dir=...)`, a sweep's point): refused
    if it is a file, inside another run directory, or holds a run of another config (its model would be
    replaced and the old run's pictures left beside it). Returns the config of the run already there
    (the same as `config`: a sweep point to go on with), or None. Raises ArtifactError, writes nothing."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: exists and is not a directory (expected a run directory)")
    enclosing = artifacts.enclosing_run_dir(run_dir.absolute().parent)
    if enclosing is not None:  # a run is only written by its own training
        raise ArtifactError(f"{run_dir}: is inside the run directory {enclosing}; choose another folder")
    config_file = run_dir / runfiles.CONFIG.name
    if not config_file.exists() and not config_file.is_symlink():
        return None
    try:
        theirs: Config | None = load_config(config_file).config
    except NnappError:
        theirs = None
    if theirs is None or not same_run(theirs, config):
        what = "an unreadable config" if theirs is None else f"dataset {theirs.data.dataset}"
        if theirs is not None and theirs.data.dataset == config.data.dataset:
            what = f"dataset {theirs.data.dataset} with other settings"
        raise ArtifactError(
            f"{run_dir}: holds a run of a different config ({what}); "
            "write into another directory or remove this one"
        )
    return theirs


def prepare_resume(run_dir: str | Path, epochs: int | None = None) -> Job:
    """Read RUN_DIR's checkpoint and config and rebuild its data; raises NnappError, writes nothing.

    `epochs`: train up to this many epochs in all (EpochsTooFewError if the run already has more).
    """
    run_dir = Path(run_dir)
    checkpoint = load_checkpoint(run_dir)
    lock_run_dir(run_dir).release()  # busy now: say so before reading further; execute locks
    runfiles.check_run_writable(run_dir)  # a write failing after the checkpoint's would leave a mix
    stamp = _stamp(run_dir / CHECKPOINT_NAME)
    state, info = checkpoint.state, checkpoint.info
    assert info.data_sha256 is not None and info.run_key is not None  # load_checkpoint requires both
    if epochs is not None and epochs < state.epoch:
        raise EpochsTooFewError(run_dir, epochs, state.epoch)
    if epochs is not None and not 1 <= epochs <= MAX_EPOCHS:
        raise ArtifactError(
            f"must be between 1 and {MAX_EPOCHS:,} (train.epochs)", option="epochs", value=str(epochs)
        )
    extra = [f"train.epochs={epochs}"] if epochs is not None else []
    files.read_run_text(run_dir / runfiles.CONFIG.name)  # its format version, before it is read as a config
    from_file = load_config(run_dir / runfiles.CONFIG.name, extra)
    # earlier epoch extensions of this run are replaced, not stacked
    overrides = (*(o for o in info.overrides if not (extra and o.startswith("train.epochs="))), *extra)
    origin = Path(info.config_path) if info.config_path else None
    loaded = LoadedConfig(_from_start_dir(from_file.config, info), origin, overrides, from_file.raw)
    _check_outputs(loaded.config)
    data = load_data(loaded)
    data_hash = fingerprint(loaded.config.data, data, data_base_dir(loaded))
    check_unchanged(info.data_sha256, data_hash, run_dir, CHECKPOINT_NAME, run_dir / runfiles.CONFIG.name)
    cfg = loaded.config
    expected = network.n_parameters(*dimensions(data, cfg))
    if state.flat.size != expected or state.flat.dtype != cfg.model.dtype:
        raise ArtifactError(
            f"{run_dir / 'checkpoint.npz'}: holds {state.flat.size} {state.flat.dtype} parameters, "
            f"but its config.yaml and data need {expected} {cfg.model.dtype}"
        )
    runs.check_run_key(
        from_file.config, info.run_key, run_dir / CHECKPOINT_NAME, run_dir
    )  # same shape, other run
    if (run_dir / snapshots.SNAPSHOTS_NAME).exists():  # read back now, checked: not mid-resume
        snapshots.load_snapshots(run_dir)
    resumption = Resumption(run_dir, checkpoint, stamp, epochs is not None)
    return Job(loaded, data, data_hash, preflight.notes(cfg, data), run_dir, resumption)


def execute(
    job: Job,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
    objective: network.Objective = network.DERIVED,
) -> RunOutcome:
    """Train the job and write its run directory (a resumed run: in place, from its checkpoint);
    `objective`: the loss and backward pass training uses (a planted mistake: nnapp.core.mistakes)."""
    cfg = job.loaded.config
    if job.resumption is None:
        started_at = datetime.now()
        run_dir, lock, info = _start_new(job, started_at)
        state = None
    else:
        run_dir, lock, info = _start_resumed(job, job.resumption)
        saved = job.resumption.checkpoint
        started_at = (
            datetime.fromisoformat(saved.info.started_at) if saved.info.started_at else datetime.now()
        )
        state = saved.state
    companions: list[snapshots.SnapshotRecorder | tensorboard.TrainingEvents] = [
        snapshots.SnapshotRecorder(run_dir, cfg)  # for `nnapp animate`
    ]
    if cfg.output.tensorboard:
        config_yaml = dump_config(cfg, job.loaded.overrides)
        companions.append(tensorboard.TrainingEvents(run_dir, cfg, config_yaml, dimensions(job.data, cfg)))
    # write_run writes the final metrics.csv (with the record of an epoch whose check failed)
    writer = CheckpointWriter(run_dir, info, companions=companions, final_metrics=False)
    t0 = time.perf_counter()
    with training_threads():  # one BLAS thread unless the environment says otherwise: the same numbers
        # companions before the writer: they hold each epoch (and the last frame) before it writes
        result = train(
            cfg,
            job.data,
            [*callbacks, *companions, writer],
            state=state,
            stop_event=stop_event,
            objective=objective,
        )
    metrics_csv = writer.metrics_csv(result.history)  # from the rows the writer has encoded
    summary, model = write_run(
        run_dir, job.loaded, job.data, result, started_at, job.data_hash, job.notes, metrics_csv
    )
    if cfg.output.tensorboard:
        tensorboard.write_outcome(
            tensorboard.events_dir(run_dir), tensorboard.outcome_of(cfg, summary, result)
        )
    total_seconds = time.perf_counter() - t0
    lock.release()
    return RunOutcome(run_dir, result, job.data, summary, model, total_seconds)


def _check_outputs(cfg: Config) -> None:
    """What the run's outputs need, checked before anything is read or written."""
    if cfg.output.tensorboard:
        tensorboard.require(tensorboard.available())


def _start_new(job: Job, started_at: datetime) -> tuple[Path, RunLock, RunInfo]:
    """Create (or reuse) the run directory, lock it and write config.yaml."""
    loaded, cfg = job.loaded, job.loaded.config
    if job.run_dir is None:
        run_dir = artifacts.new_run_dir(cfg.output.dir, cfg.name, started_at)
    else:
        run_dir = job.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
    lock = lock_run_dir(run_dir)  # a resume of this run while it trains is refused
    files.write_run_text(run_dir / runfiles.CONFIG.name, dump_config(cfg, loaded.overrides))
    config_path = str(loaded.path.resolve()) if loaded.path is not None else None
    info = RunInfo(
        config_path,
        tuple(loaded.overrides),
        started_at.isoformat(timespec="seconds"),
        os.getcwd(),
        job.data_hash.sha256,
        job.data_hash.source,
        runfiles.run_key(cfg),
    )
    return run_dir, lock, info


def _start_resumed(job: Job, resumption: Resumption) -> tuple[Path, RunLock, RunInfo]:
    """Lock the run directory, refuse a checkpoint rewritten since it was read, clear stale temporaries."""
    run_dir, loaded = resumption.run_dir, job.loaded
    lock = lock_run_dir(run_dir)  # refuses a second writer, names its pid
    if _stamp(run_dir / CHECKPOINT_NAME) != resumption.stamp:
        lock.release()
        raise ArtifactError(
            f"{run_dir / CHECKPOINT_NAME}: written by another process since it was read; run the resume again"
        )
    files.remove_stale(run_dir)  # left by a process killed while writing
    if resumption.epochs_changed:
        files.write_run_text(run_dir / runfiles.CONFIG.name, dump_config(loaded.config, loaded.overrides))
    info = replace(  # keeps cwd: CSV paths stay resolvable
        resumption.checkpoint.info,
        overrides=tuple(loaded.overrides),
        data_sha256=job.data_hash.sha256,
        data_source=job.data_hash.source,
        run_key=runfiles.run_key(loaded.config),
    )
    return run_dir, lock, info


def _stamp(path: Path) -> tuple[int, int, int]:
    stat = path.stat()  # every save renames a new file into place: a new inode
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _from_start_dir(cfg: Config, info: RunInfo) -> Config:
    """A relative data.path that only exists from the run's starting directory, made absolute."""
    path = cfg.data.path
    if path is None or Path(path).is_absolute() or Path(path).exists() or info.cwd is None:
        return cfg
    candidate = Path(info.cwd) / path
    return replace(cfg, data=replace(cfg.data, path=str(candidate))) if candidate.exists() else cfg
