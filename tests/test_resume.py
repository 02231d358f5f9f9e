"""Checkpoints and `--resume`: a run stopped anywhere and resumed ends bit for bit where it would have."""

import tempfile
import threading
from pathlib import Path

import pytest
from _shared import StopAfter
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.cli.train import EXIT_CODES
from nnapp.config import load_config
from nnapp.errors import NnappError
from nnapp.orchestration.experiment import run_experiment
from nnapp.orchestration.job import execute, prepare_resume
from nnapp.rundir.artifacts import read_csv_rows
from nnapp.rundir.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from nnapp.training.records import Callback
from nnapp.training.trainer import train

runner = CliRunner()

# Momentum, a plateau schedule and periodic checks: every kind of state a checkpoint must carry.
RESUMABLE = """
name: resumable
seed: 5
data:
  dataset: iris
model:
  hidden: 8
optim:
  lr: 0.05
  momentum: 0.9
  schedule: plateau
  plateau_patience: 2
train:
  epochs: 12
  batch_size: 16
  early_stopping:
    patience: 50
gradcheck:
  every: 3
  coords: 3
output:
  plots: false
"""
STEPS_PER_EPOCH = 6  # 90 training rows of iris in batches of 16


def metrics_without_timing(run_dir: Path) -> list[dict[str, str]]:
    rows = read_csv_rows(run_dir / "metrics.csv")
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def assert_same_run(a: Path, b: Path) -> None:
    assert (a / "model.npz").read_bytes() == (b / "model.npz").read_bytes()
    assert metrics_without_timing(a) == metrics_without_timing(b)
    assert (a / "gradcheck.csv").read_bytes() == (b / "gradcheck.csv").read_bytes()


@pytest.fixture
def config(write_config, tmp_path):
    return write_config(RESUMABLE + f"  dir: {tmp_path / 'runs'}\n")


@pytest.fixture
def uninterrupted(config):
    return run_experiment(load_config(config)).run_dir


def test_checkpoint_round_trips_every_field_of_the_train_state(config, tmp_path):
    loaded = load_config(config, ["train.epochs=4"])
    from nnapp.orchestration.job import load_data

    state = train(loaded.config, load_data(loaded)).state
    from nnapp.rundir.checkpoint import RunInfo

    info = RunInfo(str(config), ("train.epochs=4",), "2026-01-01T00:00:00", None, "0" * 64, None, "0" * 16)
    save_checkpoint(tmp_path, state, info)
    back = load_checkpoint(tmp_path)
    original = state  # nothing changes it after training returns
    for name in ("flat", "best_flat"):
        assert getattr(back.state, name).tobytes() == getattr(original, name).tobytes()
    assert back.state.sgd.velocity.tobytes() == original.sgd.velocity.tobytes()
    assert back.state.sgd.steps == original.sgd.steps > 0
    assert back.state.schedule == original.schedule
    assert (back.state.epoch, back.state.best_epoch, back.state.bad_epochs) == (
        4,
        state.best_epoch,
        state.bad_epochs,
    )
    assert back.state.best_score == original.best_score
    assert back.state.history == original.history
    assert back.state.checks == original.checks
    assert back.state.shuffle_rng.random(3).tolist() == original.shuffle_rng.random(3).tolist()
    assert back.state.check_rng.random(3).tolist() == original.check_rng.random(3).tolist()
    assert back.info.overrides == ("train.epochs=4",)


@pytest.mark.parametrize(
    "stop_at_poll",
    [
        1,  # epoch 1, after its first step: resumes from the epoch-0 checkpoint
        STEPS_PER_EPOCH + 1,  # right after epoch 1
        3 * (STEPS_PER_EPOCH + 1) + 4,  # epoch 4, mid-epoch, just after a gradient check
        12 * (STEPS_PER_EPOCH + 1),  # after the last epoch: nothing left but the final check
    ],
)
def test_a_run_interrupted_anywhere_and_resumed_matches_the_uninterrupted_run(
    config, uninterrupted, stop_at_poll
):
    stopped = run_experiment(load_config(config), stop_event=StopAfter(stop_at_poll))
    assert stopped.result.stop_reason == "interrupted" and EXIT_CODES[stopped.result.stop_reason] == 130
    resumed = execute(prepare_resume(stopped.run_dir))
    assert resumed.result.stop_reason == "completed"
    assert_same_run(resumed.run_dir, uninterrupted)


def test_a_run_interrupted_twice_and_resumed_twice_matches_the_uninterrupted_run(config, uninterrupted):
    first = run_experiment(load_config(config), stop_event=StopAfter(10))
    second = execute(prepare_resume(first.run_dir), stop_event=StopAfter(25))
    assert second.result.stop_reason == "interrupted"
    assert first.result.state.epoch < second.result.state.epoch < 12
    resumed = execute(prepare_resume(first.run_dir))
    assert_same_run(resumed.run_dir, uninterrupted)


def test_same_config_and_seed_give_byte_identical_runs(config, uninterrupted):
    again = run_experiment(load_config(config)).run_dir
    assert again != uninterrupted
    assert_same_run(again, uninterrupted)


def test_resuming_with_more_epochs_equals_training_that_many_from_the_start(config):
    short = run_experiment(load_config(config, ["train.epochs=5", "optim.schedule=constant"])).run_dir
    extended = execute(prepare_resume(short, epochs=9))
    assert extended.result.state.epoch == 9
    assert "epochs: 9" in (short / "config.yaml").read_text()
    direct = run_experiment(load_config(config, ["train.epochs=9", "optim.schedule=constant"])).run_dir
    assert_same_run(short, direct)


def test_resuming_a_run_that_stopped_early_stops_again_with_the_same_model(config):
    overrides = ["train.early_stopping.patience=1", "train.early_stopping.min_delta=0.5"]
    first = run_experiment(load_config(config, overrides))
    assert first.result.stop_reason == "early_stopping"
    model = (first.run_dir / "model.npz").read_bytes()
    again = execute(prepare_resume(first.run_dir))
    assert again.result.stop_reason == "early_stopping"
    assert again.result.state.epoch == first.result.state.epoch
    assert (first.run_dir / "model.npz").read_bytes() == model


def test_cli_resume_continues_the_run_in_place(config, tmp_path):
    assert runner.invoke(app, ["train", str(config), "train.epochs=3", "-q"]).exit_code == 0
    (run,) = sorted((tmp_path / "runs").glob("*/*"))
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "5"])
    assert result.exit_code == 0, result.output
    assert "after epoch 3 of 5" in result.output
    assert [int(r["epoch"]) for r in metrics_without_timing(run)] == list(range(6))
    assert load_checkpoint(run).state.epoch == 5


def test_a_finished_cosine_run_whose_last_rate_is_min_lr_0_is_extended(config):
    """Cosine ends at optim.min_lr, 0 by default: the checkpoint's rate 0.0 is the schedule's, not damage."""
    first = run_experiment(load_config(config, ["optim.schedule=cosine", "train.epochs=4"]))
    assert load_checkpoint(first.run_dir).state.schedule.lr == 0.0
    extended = execute(prepare_resume(first.run_dir, epochs=6))
    assert extended.result.stop_reason == "completed" and extended.result.state.epoch == 6


def snapshot_dir(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize(
    ("damage", "extra", "expected"),
    [
        ("none", ["--epochs", "2"], "already trained 3 epochs"),
        ("truncate", [], "not a readable nnapp checkpoint"),
        ("delete", [], "no checkpoint here"),
        ("foreign", [], "not a readable nnapp checkpoint"),
        ("none", ["CONFIG"], "give no CONFIG"),
    ],
)
def test_cli_resume_refuses_a_bad_run_directory_with_one_line_and_writes_nothing(
    config, tmp_path, damage, extra, expected
):
    assert runner.invoke(app, ["train", str(config), "train.epochs=3", "-q"]).exit_code == 0
    (run,) = sorted((tmp_path / "runs").glob("*/*"))
    checkpoint = run / CHECKPOINT_NAME
    if damage == "truncate":
        checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    elif damage == "delete":
        checkpoint.unlink()
    elif damage == "foreign":
        checkpoint.write_bytes(Path(run / "model.npz").read_bytes())
    before = snapshot_dir(run)
    args = [str(config) if a == "CONFIG" else a for a in extra]
    result = runner.invoke(app, ["train", "--resume", str(run), *args])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot_dir(run) == before


def test_cli_resume_of_a_missing_directory_is_a_clean_error(tmp_path):
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such run directory" in result.output


def test_epochs_without_resume_is_a_clean_error(config):
    result = runner.invoke(app, ["train", str(config), "--epochs", "3"])
    assert result.exit_code == 2 and "--epochs goes with --resume" in result.output


def test_prepare_resume_raises_nnapp_error_for_a_config_that_no_longer_fits(config, tmp_path):
    run = run_experiment(load_config(config, ["train.epochs=2"])).run_dir
    text = (run / "config.yaml").read_text().replace("hidden: 8", "hidden: 9")
    (run / "config.yaml").write_text(text)
    with pytest.raises(NnappError, match="parameters"):
        prepare_resume(run)


REPO = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.name for p in (REPO / "configs").glob("*.yaml"))


class StopAfterEpoch(Callback):
    """Requests a stop at the end of epoch `epoch`, as a Ctrl-C there would."""

    def __init__(self, event: threading.Event, epoch: int) -> None:
        self.event, self.epoch = event, epoch

    def on_epoch_end(self, record, state) -> None:
        if record.epoch == self.epoch:
            self.event.set()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_resumes_from_another_directory_to_the_same_bytes(name, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # where the shipped configs' relative data paths start
    tiny = ["train.epochs=3", "output.plots=false", "gradcheck.coords=2", f"output.dir={tmp_path}"]
    whole = run_experiment(load_config(REPO / "configs" / name, tiny)).run_dir
    stop = threading.Event()
    stopped = run_experiment(load_config(REPO / "configs" / name, tiny), [StopAfterEpoch(stop, 1)], stop)
    assert stopped.result.stop_reason == "interrupted" and stopped.result.state.epoch == 1
    monkeypatch.chdir(tmp_path)
    resumed = execute(prepare_resume(stopped.run_dir))
    assert resumed.result.state.epoch == 3
    assert_same_run(resumed.run_dir, whole)


def test_a_csv_run_resumed_twice_from_elsewhere_still_finds_its_data(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # configs/flowers_csv.yaml names data/flowers.csv relative to here
    tiny = ["train.epochs=3", "output.plots=false", "gradcheck.coords=2", f"output.dir={tmp_path}"]
    loaded = load_config(REPO / "configs" / "flowers_csv.yaml", tiny)
    whole = run_experiment(loaded).run_dir
    stop = threading.Event()
    stopped = run_experiment(loaded, [StopAfterEpoch(stop, 1)], stop)
    monkeypatch.chdir(tmp_path)
    stop = threading.Event()
    again = execute(prepare_resume(stopped.run_dir), [StopAfterEpoch(stop, 2)], stop)
    assert again.result.stop_reason == "interrupted" and again.result.state.epoch == 2
    resumed = execute(prepare_resume(stopped.run_dir))  # the checkpoint written by a resume
    assert resumed.result.state.epoch == 3
    assert_same_run(resumed.run_dir, whole)


@settings(max_examples=8, deadline=None)
@given(
    schedule=st.sampled_from(["constant", "step", "cosine", "invscaling", "plateau"]),
    nesterov=st.booleans(),
    dtype=st.sampled_from(["float64", "float32"]),
    stop_at_poll=st.integers(1, 6 * (STEPS_PER_EPOCH + 1)),
)
def test_property_any_config_stopped_at_any_step_resumes_to_the_same_bytes(
    schedule, nesterov, dtype, stop_at_poll
):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(RESUMABLE + f"  dir: {tmp}\n")
        overrides = [
            f"optim.schedule={schedule}",
            "optim.step_every=2",
            f"optim.nesterov={str(nesterov).lower()}",
            f"model.dtype={dtype}",
            "train.epochs=6",
        ]
        whole = run_experiment(load_config(path, overrides)).run_dir
        stopped = run_experiment(load_config(path, overrides), stop_event=StopAfter(stop_at_poll))
        resumed = execute(prepare_resume(stopped.run_dir))
        assert_same_run(resumed.run_dir, whole)
