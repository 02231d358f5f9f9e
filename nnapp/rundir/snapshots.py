"""Parameter snapshots for `nnapp animate`: `snapshots.npz` in every run directory.

A run keeps its parameters at epoch 0 and at roughly logarithmically spaced epochs after it (every
epoch at first, when learning is fast, then further and further apart), at most MAX_FRAMES in all,
and at the epoch training stopped. The file is bounded: MAX_BYTES at most, parameters stored as float32
(the pictures need no more); a model too large for even two frames keeps none.

`SnapshotRecorder` is a training callback and a companion of the checkpoint: it keeps the frames in
memory and rewrites the file (atomically) when the checkpoint is written, just before it
(`CheckpointWriter(companions=...)`), so the file is never behind the checkpoint (short of a power cut: it
is not fsync'ed), and a resume drops any frame past the checkpoint's epoch. (Writing it at each frame
cost about 1 ms a frame on iris, 60 frames a run: about a quarter of a 200-epoch iris run.) A resumed run
starts with the frames of the file up to the epoch it resumes from, so it animates whole, and the same
as the run never interrupted. The last frame is the last epoch the run did (`TrainResult.done_epoch`),
whatever stopped it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config import Config
from nnapp.errors import ArtifactError
from nnapp.rundir import artifacts, files, runfiles
from nnapp.training.records import Callback, TrainResult, TrainState

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
    return list(_schedule(epochs, frames))


@functools.lru_cache(maxsize=16)  # a run asks twice (its snapshots, its TensorBoard histograms): ~5 ms each
def _schedule(epochs: int, frames: int) -> tuple[int, ...]:
    if frames < 2 or epochs < 1:
        return (0,) if frames >= 1 else ()
    if epochs <= frames - 1:
        return tuple(range(epochs + 1))
    chosen = [epochs]
    for count in range(2, 50 * frames):  # rounding merges early points: ask for more until full
        candidate = sorted({int(e) for e in np.rint(np.geomspace(1, epochs, count))})
        if len(candidate) > frames - 1:
            break
        chosen = candidate
    return (0, *chosen)


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
    """Takes the frames of `schedule` while training and keeps RUN_DIR/snapshots.npz up to date: a
    companion of the checkpoint (`CheckpointWriter(companions=...)`), written with it, never ahead."""

    def __init__(self, run_dir: Path, cfg: Config) -> None:
        self.run_dir = Path(run_dir)
        self.epochs = cfg.train.epochs
        self.kept = Snapshots(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=FRAME_DTYPE))
        self.plan: set[int] = set()  # the epochs to keep, once the parameter count is known
        self.budget = 0
        self.latest = np.zeros(0, dtype=FRAME_DTYPE)  # the last epoch done: the final frame, if unplanned
        self.unsaved = False  # frames taken since the file was last written

    def on_begin(self, state: TrainState) -> None:
        self.budget = frame_budget(state.flat.size)
        self.plan = set(schedule(self.epochs, self.budget))
        self.kept = Snapshots(np.zeros(0, dtype=np.int64), np.zeros((0, state.flat.size), dtype=FRAME_DTYPE))
        self.latest = np.zeros(state.flat.size, dtype=FRAME_DTYPE)
        if state.history:  # resumed: the frames up to its checkpoint's epoch are those the file holds
            self._resume(state.epoch, state.flat.size)

    def _resume(self, epoch: int, width: int) -> None:
        if not (self.run_dir / SNAPSHOTS_NAME).exists():
            return  # no frame fits the budget of a model this large: there is no file
        earlier = load_snapshots(self.run_dir)  # prepare_resume has refused a damaged one
        upto = earlier.epochs <= epoch  # later ones were written before a checkpoint that never came
        if earlier.flat.shape[1] == width:
            self.kept = Snapshots(earlier.epochs[upto], earlier.flat[upto])
            self.unsaved = not upto.all()

    def on_epoch_done(self, state: TrainState) -> None:
        if self.budget == 0:
            return
        np.copyto(self.latest, state.flat, casting="same_kind")
        if state.epoch in self.plan:
            self._take(state.epoch, self.latest)

    def on_end(self, result: TrainResult) -> None:
        """The last epoch done is the animation's last frame, whatever stopped the run."""
        if self.budget and result.done_epoch >= 0:
            self._take(result.done_epoch, self.latest)

    def _take(self, epoch: int, flat: np.ndarray) -> None:
        if len(self.kept.epochs) and self.kept.epochs[-1] >= epoch:
            return
        epochs = np.append(self.kept.epochs, epoch)
        frames = np.vstack([self.kept.flat, flat[None, :]])
        self.kept = thin(Snapshots(epochs, frames), self.budget)
        self.unsaved = True

    def flush(self, epoch: int) -> None:
        """Write the frames up to `epoch` (all of them: frames are taken when their epoch is done, as the
        checkpoint writer keeps it), if any are not in the file yet."""
        if self.unsaved:
            upto = self.kept.epochs <= epoch
            save_snapshots(self.run_dir, Snapshots(self.kept.epochs[upto], self.kept.flat[upto]))
            self.unsaved = not upto.all()


def size_bound_text() -> str:
    return f"at most {MAX_FRAMES} frames and {MAX_BYTES / 2**20:g} MiB"
