"""Parameter snapshots (snapshots.npz): the schedule, the size bound, the frames against the weights the
trainer really had, and resumed runs that keep every frame."""

from pathlib import Path

import numpy as np
import pytest
from _shared import StopAfter
from hypothesis import given
from hypothesis import strategies as st

from nnapp.config import load_config
from nnapp.orchestration.experiment import run_experiment
from nnapp.orchestration.job import execute, prepare_resume
from nnapp.rundir.snapshots import (
    MAX_BYTES,
    MAX_FRAMES,
    SNAPSHOTS_NAME,
    Snapshots,
    frame_budget,
    load_snapshots,
    save_snapshots,
    schedule,
)
from nnapp.training.records import Callback

SMALL = """
name: snap
seed: 3
data:
  dataset: iris
model:
  hidden: 8
optim:
  lr: 0.05
  momentum: 0.9
train:
  epochs: 90
  batch_size: 16
  early_stopping:
    patience: 0
gradcheck:
  every: 0
output:
  plots: false
"""


class EveryEpoch(Callback):
    """An independent record of the parameters at the end of every epoch."""

    def __init__(self) -> None:
        self.flat: dict[int, np.ndarray] = {}

    def on_epoch_done(self, state) -> None:
        self.flat[state.epoch] = state.flat.copy()


@given(st.integers(1, 100_000), st.integers(2, MAX_FRAMES))
def test_schedule_has_epoch_zero_the_last_epoch_and_at_most_the_frames_asked(epochs, frames):
    chosen = schedule(epochs, frames)
    assert chosen[0] == 0 and chosen[-1] == epochs
    assert len(chosen) <= frames
    assert chosen == sorted(set(chosen))


@given(st.integers(200, 100_000))
def test_schedule_is_dense_early_and_sparse_late(epochs):
    chosen = schedule(epochs)
    gaps = np.diff(chosen)
    assert list(chosen[:6]) == [0, 1, 2, 3, 4, 5]  # every epoch while learning is fast
    assert gaps[-1] > gaps[0] and gaps[-1] >= gaps[len(gaps) // 2]
    assert len(chosen) >= MAX_FRAMES - 5  # the budget is used, not wasted on rounding


@given(st.integers(1, 10**7))
def test_frame_budget_keeps_the_file_within_its_bound(n_params):
    frames = frame_budget(n_params)
    assert frames * n_params * 4 <= MAX_BYTES
    assert frames == 0 or 2 <= frames <= MAX_FRAMES


def test_every_frame_is_the_weights_the_trainer_had_at_that_epoch(write_config):
    probe = EveryEpoch()
    outcome = run_experiment(load_config(write_config(SMALL)), callbacks=[probe])
    kept = load_snapshots(outcome.run_dir)
    assert kept.epochs.tolist() == schedule(90)
    for epoch, frame in zip(kept.epochs, kept.flat, strict=True):
        assert frame.tobytes() == probe.flat[int(epoch)].astype(np.float32).tobytes()


def test_the_snapshots_file_of_a_big_model_stays_within_the_bound(write_config):
    outcome = run_experiment(load_config(write_config(SMALL), ["model.hidden=4000", "train.epochs=30"]))
    n_params = 4000 * 4 + 4000 + 3 * 4000 + 3
    kept = load_snapshots(outcome.run_dir)
    assert len(kept.epochs) == frame_budget(n_params) < 31  # thinned to fit
    assert kept.epochs[0] == 0 and kept.epochs[-1] == 30
    assert (outcome.run_dir / SNAPSHOTS_NAME).stat().st_size <= MAX_BYTES + 4096  # + the zip's headers


def test_early_stopping_keeps_the_epoch_training_stopped_at(write_config):
    outcome = run_experiment(
        load_config(write_config(SMALL), ["train.early_stopping.patience=3", "train.epochs=2000"])
    )
    assert outcome.result.stop_reason == "early_stopping"
    assert load_snapshots(outcome.run_dir).epochs[-1] == outcome.result.state.epoch


@pytest.mark.parametrize("stop_at_poll", [3, 8 * 7 + 2, 40 * 7])  # epochs 0, 8 and 40 checkpointed
def test_a_resumed_run_keeps_the_same_snapshots_as_the_uninterrupted_run(write_config, stop_at_poll):
    config = write_config(SMALL)
    whole = run_experiment(load_config(config)).run_dir
    stopped = run_experiment(load_config(config), stop_event=StopAfter(stop_at_poll))
    assert stopped.result.stop_reason == "interrupted"
    resumed = execute(prepare_resume(stopped.run_dir))
    assert resumed.result.state.epoch == 90
    assert (resumed.run_dir / SNAPSHOTS_NAME).read_bytes() == (whole / SNAPSHOTS_NAME).read_bytes()


def test_frames_written_after_the_checkpoint_are_taken_again_on_resume(write_config):
    """A process killed after a snapshot but before its checkpoint leaves frames the resume redoes."""
    config = write_config(SMALL)
    whole = run_experiment(load_config(config)).run_dir
    stopped = run_experiment(load_config(config), stop_event=StopAfter(10 * 7 + 2)).run_dir
    kept = load_snapshots(stopped)
    assert kept.epochs[-1] == 10
    ahead = Snapshots(
        np.append(kept.epochs, [11, 12]), np.vstack([kept.flat, np.full((2, kept.flat.shape[1]), 7.0)])
    )
    save_snapshots(stopped, ahead)  # frames of epochs the checkpoint (epoch 10) never reached
    execute(prepare_resume(stopped))
    assert (stopped / SNAPSHOTS_NAME).read_bytes() == (whole / SNAPSHOTS_NAME).read_bytes()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [("delete", "no parameter snapshots"), ("truncate", "not a readable snapshots file")],
)
def test_a_missing_or_damaged_snapshots_file_is_one_line(tmp_path, damage, expected):
    from nnapp.errors import ArtifactError

    save_snapshots(tmp_path, Snapshots(np.arange(3), np.zeros((3, 5), np.float32)))
    path = tmp_path / SNAPSHOTS_NAME
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ArtifactError, match=expected) as caught:
        load_snapshots(Path(tmp_path))
    assert "\n" not in str(caught.value)


def test_resuming_with_more_epochs_keeps_the_earlier_frames_and_the_bound(write_config):
    config = write_config(SMALL)
    first = run_experiment(load_config(config, ["train.epochs=70"])).run_dir
    before = load_snapshots(first)
    execute(prepare_resume(first, epochs=400))
    after = load_snapshots(first)
    assert len(after.epochs) <= MAX_FRAMES
    assert after.epochs[0] == 0 and after.epochs[-1] == 400
    assert set(after.epochs[after.epochs <= 70].tolist()) <= set(before.epochs.tolist())
    assert after.flat[0].tobytes() == before.flat[0].tobytes()


def spy_on_writes(monkeypatch) -> tuple[list[int], list[tuple[int, list[int] | None]]]:
    """Each snapshots.npz write (its last frame) and each checkpoint write (its epoch, and the frames the
    snapshots file held at that moment: None before there was one), in the order they happen."""
    from nnapp.rundir import checkpoint, snapshots

    frames_written: list[int] = []
    checkpoints: list[tuple[int, list[int] | None]] = []
    where: list[Path] = []
    real_save, real_archive = snapshots.save_snapshots, checkpoint._archive

    def save(run_dir, kept):
        where[:] = [Path(run_dir)]
        frames_written.append(int(kept.epochs[-1]))
        real_save(run_dir, kept)

    def archive(saved, encoded, info):
        checkpoints.append((saved.epoch, load_snapshots(where[0]).epochs.tolist() if where else None))
        return real_archive(saved, encoded, info)

    monkeypatch.setattr(snapshots, "save_snapshots", save)
    monkeypatch.setattr(checkpoint, "_archive", archive)
    return frames_written, checkpoints


def test_the_file_is_written_with_each_checkpoint_and_holds_every_frame_up_to_it(write_config, monkeypatch):
    """Not once per frame (about 1 ms each), but never behind the checkpoint a resume starts from."""
    from nnapp.rundir import checkpoint

    writes, seen = spy_on_writes(monkeypatch)
    real_init = checkpoint.CheckpointWriter.__init__

    def every_epoch_writer(self, run_dir, info, **kwargs):  # a clock that always says "time to write"
        real_init(self, run_dir, info, **{**kwargs, "interval": 0.0, "clock": lambda: 0.0})

    monkeypatch.setattr(checkpoint.CheckpointWriter, "__init__", every_epoch_writer)
    run_experiment(load_config(write_config(SMALL)))
    frames = schedule(90)
    assert [epoch for epoch, _ in seen] == list(range(91))  # a checkpoint after every epoch
    for epoch, in_file in seen:
        assert in_file == [f for f in frames if f <= epoch]
    assert writes == frames  # once per new frame here, as checkpoints come every epoch; never more


def test_frames_between_checkpoints_are_not_written_one_by_one(write_config, monkeypatch):
    writes, checkpoints = spy_on_writes(monkeypatch)
    outcome = run_experiment(load_config(write_config(SMALL)))
    assert len(load_snapshots(outcome.run_dir).epochs) == len(schedule(90)) > 30
    assert len(writes) <= len(checkpoints) + 1  # + the frames after the last checkpoint
