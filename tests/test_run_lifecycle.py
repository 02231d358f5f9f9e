"""One run, new or resumed: prepare -> Job -> execute, its checkpoints, and the files it writes once."""

import io
import itertools
import json
import os
import threading
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from _shared import TINY
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.orchestration import job, outputs
from nnapp.orchestration.report import ReportRecord, report_markdown
from nnapp.pictures import run as run_pictures
from nnapp.rundir import artifacts, checkpoint, files
from nnapp.rundir.checkpoint import CheckpointWriter, RunInfo, load_checkpoint, save_checkpoint
from nnapp.rundir.model_file import load_model
from nnapp.rundir.runs import RunSummary, read_summary
from nnapp.training.records import METRIC_COLUMNS, Callback, TrainState
from nnapp.training.trainer import train

runner = CliRunner()


def squeezed(text: str) -> str:
    return "".join(text.split())  # rich wraps long paths at the terminal width


LEAN = ["output.plots=false"]  # pictures cost most of a tiny run; only the tests about them draw them
# what a checkpoint records of where a run came from (load_checkpoint requires a data hash and run key)
INFO = RunInfo("c.yaml", ("a=1",), "2026-01-01T00:00:00", None, "0" * 64, "dataset iris", "0" * 16)
TICK = 0.2  # fake seconds per epoch: with the 0.5 s interval, every third epoch is due a checkpoint


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Ticker(Callback):
    """Advances the fake clock by TICK at the end of every epoch (before the writer sees the epoch)."""

    def __init__(self, clock: FakeClock, tick: float = TICK) -> None:
        self.clock, self.tick = clock, tick

    def on_epoch_done(self, state: TrainState) -> None:
        self.clock.now += self.tick


def test_checkpoints_are_written_at_most_every_interval_and_always_at_the_end(
    write_config, tmp_path, monkeypatch
):
    saved: list[tuple[int, float]] = []
    clock = FakeClock()
    original = files.write

    def recording_write(path: Path, data: bytes, fsync: bool = True) -> None:
        original(path, data, fsync)
        if Path(path).name == checkpoint.CHECKPOINT_NAME:  # which epoch it holds, read back
            saved.append((load_checkpoint(Path(path).parent).state.epoch, clock.now))

    monkeypatch.setattr(files, "write", recording_write)
    cfg = load_config(write_config(TINY), ["train.epochs=10", "train.early_stopping.patience=0"]).config
    writer = CheckpointWriter(tmp_path, INFO, interval=0.5, clock=clock)
    data = job.load_data(load_config(write_config(TINY)))
    result = train(cfg, data, [Ticker(clock), writer])
    # epoch 0 at once; then whenever 0.5 fake seconds have passed (3 ticks of 0.2); the last epoch when
    # training ends (the writer's on_end), without a flush of the caller's
    assert [epoch for epoch, _ in saved] == [0, 3, 6, 9, 10]
    times = [t for _, t in saved[:-1]]
    assert all(later - earlier >= 0.5 for earlier, later in itertools.pairwise(times))
    assert result.state.epoch == 10 and load_checkpoint(tmp_path).state.epoch == 10


def test_writes_that_take_long_are_spaced_to_take_at_most_their_share_of_the_run(
    write_config, tmp_path, monkeypatch
):
    """A long history makes a checkpoint large: its writes then come further apart than `interval`."""
    clock, written = FakeClock(), []
    original = files.write

    def slow_write(path: Path, data: bytes, fsync: bool = True) -> None:
        original(path, data, fsync)
        if Path(path).name == checkpoint.CHECKPOINT_NAME:
            clock.now += 0.125  # each checkpoint write takes 1/8 s: at most 5% means one per 2.5 s
            written.append(load_checkpoint(tmp_path).state.epoch)

    monkeypatch.setattr(files, "write", slow_write)
    loaded = load_config(write_config(TINY), ["train.epochs=25", "train.early_stopping.patience=0"])
    writer = CheckpointWriter(tmp_path, INFO, interval=0.5, clock=clock)
    train(loaded.config, job.load_data(loaded), [Ticker(clock, 0.25), writer])  # 1/4 s per epoch
    assert checkpoint.MAX_WRITE_SHARE == 0.05 and written == [0, 10, 20, 25]  # every 2.5 s, and the last


def test_without_final_metrics_the_end_of_training_writes_only_the_checkpoint(write_config, tmp_path):
    cfg = load_config(write_config(TINY), ["train.epochs=2"]).config
    # only epoch 0 is written on its own; the caller writes the final metrics.csv
    writer = CheckpointWriter(tmp_path, INFO, interval=1e9, final_metrics=False)
    train(cfg, job.load_data(load_config(write_config(TINY))), [writer])
    epoch_0_metrics = artifacts.csv_text(METRIC_COLUMNS, [load_checkpoint(tmp_path).state.history[0].row()])
    assert load_checkpoint(tmp_path).state.epoch == 2
    assert files.read_run_text(tmp_path / "metrics.csv", files.MAX_TABLE_BYTES) == epoch_0_metrics


class Copier(Callback):
    """Keeps, after every epoch, what a checkpoint and metrics.csv written from scratch would hold."""

    def __init__(self, run_dir: Path, writer: CheckpointWriter) -> None:
        self.run_dir, self.writer, self.expected = run_dir, writer, []

    def on_epoch_done(self, state: TrainState) -> None:
        self.writer.on_epoch_done(state)  # interval 0: it writes now; compare with an encoding from scratch
        metrics = artifacts.csv_text(METRIC_COLUMNS, (r.row() for r in state.history))
        self.expected.append((checkpoint.checkpoint_bytes(state, self.writer.info), metrics))
        written = (
            (self.run_dir / "checkpoint.npz").read_bytes(),
            files.read_run_text(self.run_dir / "metrics.csv", files.MAX_TABLE_BYTES),
        )
        assert written == self.expected[-1], f"epoch {state.epoch}"


class StopAtPoll(threading.Event):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.polls, self.n = 0, n

    def is_set(self) -> bool:
        self.polls += 1
        return self.polls >= self.n


def test_the_writer_writes_each_epoch_as_an_encoding_from_scratch_would(write_config, tmp_path):
    # momentum, a plateau schedule and a check every epoch: every part of the state; stopped mid-epoch
    overrides = ["train.epochs=12", "optim.momentum=0.9", "optim.schedule=plateau", "gradcheck.every=1"]
    loaded = load_config(write_config(TINY), overrides)
    info = INFO
    writer = CheckpointWriter(
        tmp_path, info, interval=0.0, clock=FakeClock()
    )  # writes take no time: each epoch
    copier = Copier(tmp_path, writer)
    result = train(loaded.config, job.load_data(loaded), [copier], stop_event=StopAtPoll(30))
    assert result.stop_reason == "interrupted" and 3 <= len(copier.expected) < 12
    writer.pending = True  # written already: write again what the final flush would
    writer.flush()  # after a partial epoch and the final check: still the last full epoch
    assert (tmp_path / "checkpoint.npz").read_bytes() == copier.expected[-1][0]
    assert files.read_run_text(tmp_path / "metrics.csv") == copier.expected[-1][1]
    # the final metrics.csv from the encoded rows, also with a record the writer never saw
    unseen = replace(result.history[-1], epoch=len(result.history), lr=0.1 + 0.2)
    for history in (result.history, [*result.history, unseen]):
        assert writer.metrics_csv(history) == artifacts.csv_text(METRIC_COLUMNS, (r.row() for r in history))


def test_the_checkpoint_state_is_json_in_its_canonical_form(write_config, tmp_path):
    loaded = load_config(write_config(TINY), ["gradcheck.every=1"])
    state = train(loaded.config, job.load_data(loaded)).state
    save_checkpoint(tmp_path, state, INFO)
    with np.load(tmp_path / "checkpoint.npz") as archive:
        text = str(archive["state_json"])
    assert json.dumps(json.loads(text)) == text  # what json.dumps of the whole state writes, joined in pieces


def test_a_flush_formats_no_record_again_however_many_flushes_there_are(write_config, tmp_path, monkeypatch):
    """Each metrics row and each check is encoded once: a flush costs no more for a longer history."""
    formatted = {"rows": 0, "checks": 0}
    csv_line, check_to_json = artifacts.csv_line, checkpoint._check_to_json

    def counting_line(values):
        formatted["rows"] += 1
        return csv_line(values)

    def counting_check(record):
        formatted["checks"] += 1
        return check_to_json(record)

    monkeypatch.setattr(artifacts, "csv_line", counting_line)
    monkeypatch.setattr(checkpoint, "_check_to_json", counting_check)
    loaded = load_config(write_config(TINY), ["train.epochs=20", "gradcheck.every=1"])
    writer = CheckpointWriter(tmp_path, INFO, interval=0.0, clock=FakeClock())  # a flush every epoch
    result = train(loaded.config, job.load_data(loaded), [writer])
    writer.flush()
    checks_saved = len(load_checkpoint(tmp_path).state.checks)  # the final check comes after the last epoch
    assert len(result.history) == 21 and checks_saved == 21
    assert formatted == {"rows": 21 + 1, "checks": checks_saved}  # + 1: the header, once per writer


def test_an_archive_is_the_zip_of_each_arrays_npy_bytes_with_a_fixed_time():
    """The bytes of model.npz and checkpoint.npz (written straight into the zip): the same as storing each
    array's .npy file whole, so files written before the change stay byte-identical."""
    arrays = {
        "flat": np.linspace(-1, 1, 7),
        "none": np.zeros((0, 3)),
        "text": np.asarray("{}"),
        "k": np.arange(3),
    }
    expected = io.BytesIO()
    versioned = {"format_version": np.asarray(files.FORMAT_VERSION, dtype=np.int64), **arrays}
    with zipfile.ZipFile(expected, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in versioned.items():
            npy = io.BytesIO()
            np.save(npy, value, allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), npy.getvalue())
    assert artifacts.arrays_to_npz_bytes(arrays) == expected.getvalue()


def test_an_array_past_the_zip_size_limit_is_written_as_zip64_and_reads_back(monkeypatch):
    """A 2 GiB entry (a model of 268M float64 parameters) needs zip64; the limit is lowered here to 4 kB
    so that an 8 kB array stands in for it."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4096)
    flat = np.arange(1000, dtype=np.float64)
    data = artifacts.arrays_to_npz_bytes({"flat": flat, "small": np.arange(3)})
    with np.load(io.BytesIO(data)) as loaded:
        assert loaded["flat"].tobytes() == flat.tobytes()
        assert loaded["small"].tolist() == [0, 1, 2]


def count_writes(monkeypatch) -> dict[str, int]:
    """File name -> how many times the run writes it (every write goes through files.write)."""
    writes: dict[str, int] = {}
    original = files.write

    def counting(path: Path, data: bytes, fsync: bool = True) -> None:
        writes[Path(path).name] = writes.get(Path(path).name, 0) + 1
        original(path, data, fsync)

    monkeypatch.setattr(files, "write", counting)
    return writes


def test_metrics_csv_is_written_with_each_checkpoint_and_once_more_at_the_end_not_twice(
    write_config, monkeypatch
):
    writes = count_writes(monkeypatch)
    job.execute(job.prepare_new(load_config(write_config(TINY), LEAN)))
    # each periodic checkpoint writes metrics.csv so far; the final checkpoint leaves it to write_run
    assert writes["metrics.csv"] == writes["checkpoint.npz"]
    assert writes["summary.json"] == writes["report.md"] == writes["model.npz"] == 1


def test_preflight_notes_are_computed_once_per_run(write_config, monkeypatch):
    calls = []
    original = job.preflight.notes

    def counting(cfg, data):
        calls.append(1)
        return original(cfg, data)

    monkeypatch.setattr(job.preflight, "notes", counting)
    loaded = load_config(write_config(TINY), ["train.batch_size=100000", *LEAN])  # a note: the batch is cut
    outcome = job.execute(job.prepare_new(loaded))
    assert len(calls) == 1
    assert outcome.summary.notes and read_summary(outcome.run_dir).notes == outcome.summary.notes


def test_the_test_split_is_scored_once_for_the_summary_and_the_confusion_matrix(write_config, monkeypatch):
    scored = []
    original = outputs.score

    def counting(*args, **kwargs):
        scored.append(args[-1])
        return original(*args, **kwargs)

    monkeypatch.setattr(outputs, "score", counting)
    monkeypatch.setattr(run_pictures, "score", lambda *a, **k: pytest.fail("scored the test split again"))
    outcome = job.execute(job.prepare_new(load_config(write_config(TINY))))
    assert scored == ["test split"]
    assert (outcome.run_dir / "confusion.png").is_file()


@pytest.mark.parametrize("overrides", [[], ["gradcheck.enabled=false", "output.plots=false"]])
def test_report_md_written_from_memory_is_what_nnapp_plot_reads_back(write_config, overrides):
    outcome = job.execute(job.prepare_new(load_config(write_config(TINY), overrides)))
    assert (outcome.run_dir / "report.md").read_text() == report_markdown(ReportRecord.read(outcome.run_dir))


def test_the_summary_written_is_the_summary_read_back(write_config):
    outcome = job.execute(job.prepare_new(load_config(write_config(TINY), LEAN)))
    on_disk = json.loads((outcome.run_dir / "summary.json").read_text())
    # its format version, then every field in the dataclass's order
    assert list(on_disk) == ["format_version", *outcome.summary.to_json()]
    assert read_summary(outcome.run_dir) == outcome.summary
    assert RunSummary.from_json(on_disk) == outcome.summary


def test_a_saved_model_reads_back_as_the_model_written(write_config, tmp_path):
    outcome = job.execute(job.prepare_new(load_config(write_config(TINY), LEAN)))
    model = load_model(outcome.run_dir / "model.npz")
    model.save(tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == (outcome.run_dir / "model.npz").read_bytes()
    assert np.array_equal(model.params["W"], outcome.result.params["W"])


def test_a_resumed_job_continues_the_checkpoint_a_new_job_has_none(write_config):
    loaded = load_config(write_config(TINY), [*LEAN, "train.epochs=2"])
    new = job.prepare_new(loaded)
    assert not new.resumed and new.run_dir is None
    run_dir = job.execute(new).run_dir
    resumed = job.prepare_resume(run_dir, epochs=4)
    assert resumed.resumed and resumed.run_dir == run_dir and resumed.checkpoint.state.epoch == 2
    outcome = job.execute(resumed)
    assert outcome.run_dir == run_dir and outcome.summary.epochs_trained == 4
    assert outcome.summary.overrides == [*loaded.overrides[:-1], "train.epochs=4"]


def test_too_few_epochs_for_a_resume_is_an_error_carrying_the_numbers_not_a_flag(write_config):
    run_dir = job.execute(job.prepare_new(load_config(write_config(TINY), [*LEAN, "train.epochs=3"]))).run_dir
    with pytest.raises(job.EpochsTooFewError) as caught:
        job.prepare_resume(run_dir, epochs=2)
    assert (caught.value.epochs, caught.value.trained, caught.value.run_dir) == (2, 3, run_dir)
    assert "--" not in str(caught.value)
    result = runner.invoke(
        app, ["train", "--resume", str(run_dir), "--epochs", "2"]
    )  # the CLI names its flag
    assert result.exit_code == 2
    expected = f"--epochs 2: {run_dir} has already trained 3 epochs; give at least that many"
    assert squeezed(expected) in squeezed(result.stderr)


@pytest.mark.parametrize(("stop_reason", "code"), [("completed", 0), ("diverged", 3), ("interrupted", 130)])
def test_the_cli_maps_each_stop_reason_to_its_exit_code(stop_reason, code):
    from nnapp.cli.train import exit_code

    assert exit_code(stop_reason) == code


def test_a_resumed_run_says_where_it_resumes_and_not_the_notes_again(write_config, tmp_path):
    config = str(write_config(TINY))
    first = runner.invoke(app, ["train", config, *LEAN, "train.epochs=2", "train.batch_size=100000", "-q"])
    assert first.exit_code == 0 and "note: " in first.stderr
    (run,) = sorted((tmp_path / "runs").glob("*/*"))
    again = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "3"])
    assert again.exit_code == 0, again.output
    assert squeezed(f"resuming {run} after epoch 2 of 3") in squeezed(again.stdout)
    assert "note: " not in again.stderr


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_get_the_mode_of_the_umask_at_write_time_not_at_import(tmp_path, umask):
    previous = os.umask(umask)
    try:
        files.write_text(tmp_path / "file.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "file.txt").stat().st_mode & 0o777 == 0o666 & ~umask
