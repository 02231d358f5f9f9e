"""Parameter snapshots for `nnapp animate`: `snapshots.npz` in every run directory.

A run keeps its parameters at epoch 0 and at roughly logarithmically spaced epochs after it (every
epoch at first, when learning is fast, then further and further apart), at most MAX_FRAMES in all,
and at the epoch training stopped. The file is bounded: MAX_BYTES at most, parameters stored as float32
(the pictures need no more); a model too large for even two frames keeps none.

`SnapshotRecorder` is a training callback: it keeps the frames in memory and rewrites the file
(atomically) when the checkpoint is written, just before it (`CheckpointWriter(before_write=...)`), and
when the run ends, so the file is never behind the checkpoint (short of a power cut: it is not
fsync'ed). (Writing it at each frame cost about 1 ms a frame on iris, 60 frames a run: about a quarter
of a 200-epoch iris run.) A resumed run starts with the frames of the file before the epoch it resumes
from, so it animates whole, and the same as the run never interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config import Config
from nnapp.errors import ArtifactError
from nnapp.rundir import artifacts, files, runfiles
from nnapp.training.records import Callback, EpochRecord, TrainState

SNAPSHOTS_NAME = runfiles.SNAPSHOTS.name
MAX_FRAMES = 60
MAX_BYTES = 2 * 2**20  # 2 MiB: digits with 32 hidden units needs 0.6 MiB for 60 frames
FRAME_DTYPE = np.float32


@dataclass(frozen=True)
class Snapshots:
    """epochs (F,) ascending, and the flat parameters at each (F, n_params) float32."""

    epochs: np.ndarray
    flat: np.ndarray


def frame_budget(n_params: int) -> int:
    """How many frames fit in MAX_BYTES (at most MAX_FRAMES; 0 if fewer than two fit)."""
    frames = min(MAX_FRAMES, MAX_BYTES // max(1, n_params * np.dtype(FRAME_DTYPE).itemsize))
    return frames if frames >= 2 else 0


def schedule(epochs: int, frames: int = MAX_FRAMES) -> list[int]:
    """Epoch 0 and at most `frames` - 1 epochs in 1..`epochs`, roughly evenly spaced on a log scale
    (so every epoch at first), always including `epochs` itself."""
    if frames < 2 or epochs < 1:
        return [0] if frames >= 1 else []
    if epochs <= frames - 1:
        return list(range(epochs + 1))
    chosen = [epochs]
    for count in range(2, 50 * frames):  # rounding merges early points: ask for more until full
        candidate = sorted({int(e) for e in np.rint(np.geomspace(1, epochs, count))})
        if len(candidate) > frames - 1:
            break
        chosen = candidate
    return [0, *chosen]


def thin(snapshots: Snapshots, frames: int) -> Snapshots:
    """At most `frames` of them, the first and last kept, the rest evenly chosen by position."""
    if len(snapshots.epochs) <= frames:
        return snapshots
    keep = np.unique(np.round(np.linspace(0, len(snapshots.epochs) - 1, frames)).astype(int))
    return Snapshots(snapshots.epochs[keep], snapshots.flat[keep])


def save_snapshots(run_dir: Path, snapshots: Snapshots) -> None:
    arrays: dict[str, np.ndarray] = {
        "epochs": snapshots.epochs.astype(np.int64),
        "flat": snapshots.flat.astype(FRAME_DTYPE),
    }
    # not fsync'ed (8 ms here): a power cut may leave it behind the checkpoint, a killed process does not
    files.write(run_dir / SNAPSHOTS_NAME, artifacts.arrays_to_npz_bytes(arrays), fsync=False)


SNAPSHOT_ARRAYS = {
    "epochs": files.Entry("i", ndim=1),
    "flat": files.Entry("f", ndim=2, finite=True),
}


def load_snapshots(run_dir: Path) -> Snapshots:
    """RUN_DIR/snapshots.npz; a missing or damaged file is a one-line ArtifactError."""
    path = Path(run_dir) / SNAPSHOTS_NAME
    if not path.exists() and not path.is_symlink():
        raise ArtifactError(f"{path}: no parameter snapshots (the run stopped before its first epoch)")
    arrays = files.read_npz(path, SNAPSHOT_ARRAYS, "snapshots file")
    epochs, flat = arrays["epochs"], arrays["flat"]
    ordered = bool(np.all(np.diff(epochs) > 0)) and (len(epochs) == 0 or epochs[0] >= 0)
    if not ordered or len(flat) != len(epochs) or len(epochs) == 0:
        raise ArtifactError(f"{path}: damaged (epochs and parameter frames do not match)")
    return Snapshots(epochs, flat)


class SnapshotRecorder(Callback):
    """Takes the frames of `schedule` while training and keeps RUN_DIR/snapshots.npz up to date."""

    def __init__(self, run_dir: Path, cfg: Config) -> None:
        self.run_dir = Path(run_dir)
        self.epochs = cfg.train.epochs
        self.patience = cfg.train.early_stopping.patience
        self.kept = Snapshots(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=FRAME_DTYPE))
        self.plan: set[int] | None = None  # the epochs to keep, once the parameter count is known
        self.budget = 0
        self.unsaved = False  # frames taken since the file was last written

    def _start(self, state: TrainState) -> None:
        self.budget = frame_budget(state.flat.size)
        self.plan = set(schedule(self.epochs, self.budget))
        self.kept = Snapshots(np.zeros(0, dtype=np.int64), np.zeros((0, state.flat.size), dtype=FRAME_DTYPE))
        if state.epoch > 0:  # resumed: the frames before this epoch are those the file holds
            self._resume(state.epoch, state.flat.size)

    def _resume(self, epoch: int, width: int) -> None:
        if not (self.run_dir / SNAPSHOTS_NAME).exists():
            return  # no frame fits the budget of a model this large: there is no file
        earlier = load_snapshots(self.run_dir)  # prepare_resume has refused a damaged one
        before = earlier.epochs < epoch  # later ones were taken after the checkpoint: taken again
        if earlier.flat.shape[1] == width:
            self.kept = Snapshots(earlier.epochs[before], earlier.flat[before])

    def on_epoch_done(self, state: TrainState) -> None:
        if state.epoch == 0 and self.plan is None:  # a fresh run: the untrained network is frame 0
            self._start(state)
            self._take(state)

    def on_epoch_end(self, record: EpochRecord, state: TrainState) -> None:
        if self.plan is None:  # the first epoch of a resumed run (its epoch 0 was done before)
            self._start(state)
        assert self.plan is not None
        # the trainer stops after this epoch: keep it, whatever the schedule says
        last = state.epoch >= self.epochs or (0 < self.patience <= state.bad_epochs)
        if state.epoch in self.plan or last:
            self._take(state)

    def _take(self, state: TrainState) -> None:
        if self.budget == 0 or (len(self.kept.epochs) and self.kept.epochs[-1] >= state.epoch):
            return
        epochs = np.append(self.kept.epochs, state.epoch)
        flat = np.vstack([self.kept.flat, state.flat.astype(FRAME_DTYPE)[None, :]])
        self.kept = thin(Snapshots(epochs, flat), self.budget)
        self.unsaved = True

    def flush(self) -> None:
        """Write the frames taken so far, if any are not in the file yet: before each checkpoint write,
        and when training returns."""
        if self.unsaved:
            save_snapshots(self.run_dir, self.kept)
            self.unsaved = False


def size_bound_text() -> str:
    return f"at most {MAX_FRAMES} frames and {MAX_BYTES / 2**20:g} MiB"
