"""The callback lifecycle: every run, new or resumed, begins and ends once; the last epoch done comes
from the record; companions are flushed to each checkpoint's epoch, just before it, never further."""

from __future__ import annotations

import threading
from pathlib import Path

from _shared import TINY

from nnapp.config import load_config
from nnapp.orchestration import job
from nnapp.orchestration.experiment import run_experiment
from nnapp.orchestration.job import execute, prepare_resume
from nnapp.rundir.checkpoint import CheckpointWriter, RunInfo, load_checkpoint
from nnapp.rundir.snapshots import load_snapshots
from nnapp.training.records import Callback, TrainResult, TrainState
from nnapp.training.trainer import train


class Calls(Callback):
    """The hooks called, in order, with the epoch each names."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def on_begin(self, state: TrainState) -> None:
        self.calls.append(("begin", state.epoch))

    def on_epoch_done(self, state: TrainState) -> None:
        self.calls.append(("done", state.epoch))

    def on_end(self, result: TrainResult) -> None:
        self.calls.append(("end", result.done_epoch))


class StopAt(Callback):
    def __init__(self, event: threading.Event, epoch: int) -> None:
        self.event, self.epoch = event, epoch

    def on_epoch_end(self, record, state) -> None:
        if record.epoch == self.epoch:
            self.event.set()


def test_a_new_and_a_resumed_run_each_begin_and_end_once(write_config):
    loaded = load_config(write_config(TINY), ["gradcheck.every=0", "output.plots=false"])
    new, stop = Calls(), threading.Event()
    stopped = run_experiment(loaded, [new, StopAt(stop, 2)], stop)
    assert new.calls == [("begin", 0), ("done", 0), ("done", 1), ("done", 2), ("end", 2)]
    resumed = Calls()
    execute(prepare_resume(stopped.run_dir), [resumed])
    assert resumed.calls == [("begin", 2), *(("done", e) for e in range(3, 7)), ("end", 6)]


def test_a_diverged_run_ends_its_snapshots_at_the_last_epoch_it_did(write_config):
    overrides = ["optim.lr=5", "train.epochs=40", "gradcheck.every=0", "output.plots=false"]
    loaded = load_config(write_config(TINY), overrides)
    outcome = run_experiment(loaded)
    done = outcome.result.done_epoch
    assert outcome.result.stop_reason == "diverged" and 0 < done < 40
    assert load_snapshots(outcome.run_dir).epochs[-1] == done == load_checkpoint(outcome.run_dir).state.epoch


class Companion:
    """Records the epoch each flush is asked for, and the checkpoint's epoch on disk at that time."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir, self.flushes = run_dir, []

    def flush(self, epoch: int) -> None:
        on_disk = (
            load_checkpoint(self.run_dir).state.epoch if (self.run_dir / "checkpoint.npz").exists() else None
        )
        self.flushes.append((epoch, on_disk))


# a checkpoint records its data hash and run key, or it is refused when read back
INFO = RunInfo("c.yaml", ("a=1",), "2026-01-01T00:00:00", None, "0" * 64, "dataset iris", "0" * 16)


def test_companions_are_flushed_to_each_checkpoints_epoch_just_before_it(write_config, tmp_path):
    loaded = load_config(write_config(TINY), ["gradcheck.every=0"])
    companion = Companion(tmp_path)
    writer = CheckpointWriter(tmp_path, INFO, interval=0.0, clock=lambda: 0.0, companions=[companion])
    train(loaded.config, job.load_data(loaded), [writer])
    assert companion.flushes == [(0, None), *((e, e - 1) for e in range(1, 7))]
    assert load_checkpoint(tmp_path).state.epoch == 6
