"""Divergence: a non-finite loss, gradient or parameter stops training at once; the last good state stays."""

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nnapp.config import config_from_mapping
from nnapp.core import network
from nnapp.data.datasets import load_dataset
from nnapp.pictures import LOG_CEILING, curves_png, log_safe
from nnapp.rundir import artifacts
from nnapp.rundir.model_file import load_model
from nnapp.training import trainer
from nnapp.training.records import EpochRecord


def _setup(**train: object):
    raw = {
        "data": {"dataset": "iris"},
        "model": {"hidden": 8},
        "optim": {"lr": 0.05},
        "train": {"epochs": 3, "batch_size": 30, **train},
        "gradcheck": {"enabled": False},
    }
    cfg, _ = config_from_mapping(raw)
    return cfg, load_dataset(cfg.data, cfg.seed)


def test_a_nan_gradient_stops_training_at_that_step():
    cfg, data = _setup()  # 90 training rows, batch 30: 3 steps per epoch
    calls = {"n": 0}

    def backward(*args, **kwargs):
        grads = network.backward(*args, **kwargs)
        if kwargs.get("out") is not None and len(args[2]) < len(data.y_train):  # mini-batch calls only
            calls["n"] += 1
            if calls["n"] == 5:  # epoch 2, step 2
                grads["U"][0, 0] = np.nan
        return grads

    result = trainer.train(cfg, data, objective=network.Objective(backward=backward))
    assert result.stop_reason == "diverged"
    assert "non-finite gradient norm at epoch 2, step 2" in result.message
    assert "smaller learning rate" in result.message
    assert [r.epoch for r in result.history] == [0, 1]  # the partial epoch 2 is not recorded
    assert np.isfinite(result.state.flat).all()
    assert all(np.isfinite(p).all() for p in result.params.values())


def test_a_non_finite_parameter_stops_training_at_that_step_and_restores_the_previous_one():
    """A finite gradient (||g||^2 about 1e308) whose update overflows a weight at lr = 100."""
    cfg, data = _setup()
    cfg = replace(cfg, optim=replace(cfg.optim, lr=100.0))
    before: list[np.ndarray] = []

    def backward(params, fwd, y, *args, **kwargs):
        grads = network.backward(params, fwd, y, *args, **kwargs)
        if kwargs.get("out") is not None and len(y) < len(data.y_train):  # mini-batch calls only
            before.append(network.flatten(params))
            if len(before) == 2:  # epoch 1, step 2
                grads["W"][0, 0] = 1e154
        return grads

    result = trainer.train(cfg, data, objective=network.Objective(backward=backward))
    assert result.stop_reason == "diverged"
    assert "non-finite parameter at epoch 1, step 2" in result.message
    assert len(before) == 2 and result.state.sgd.steps == 2  # no step after the bad one
    np.testing.assert_array_equal(result.state.flat, before[1])


def test_a_non_finite_loss_stops_training_at_once_with_the_last_finite_parameters(monkeypatch):
    monkeypatch.setattr(trainer, "RUNAWAY_FACTOR", math.inf)  # the runaway rule would stop it first
    cfg, data = _setup(epochs=50)
    cfg, _ = config_from_mapping({**cfg.to_dict(), "optim": {**cfg.to_dict()["optim"], "lr": 1e6}})
    result = trainer.train(cfg, data)
    assert result.stop_reason == "diverged"
    assert "training diverged: non-finite" in result.message and "epoch" in result.message
    assert "optim.lr=1e+06" in result.message
    assert np.isfinite(result.state.flat).all()
    assert all(math.isfinite(r.train_loss) for r in result.history)
    assert result.state.epoch < 50


def test_inputs_too_large_for_the_untrained_network_stop_before_the_first_step():
    cfg, data = _setup()
    data.X_train[0, 0] = 1e308  # unstandardized, as with data.scaling: none
    result = trainer.train(cfg, data)
    assert result.stop_reason == "diverged" and "training cannot start" in result.message
    assert result.state.epoch == 0 and result.state.sgd.steps == 0


def test_log_safe_turns_non_finite_values_into_gaps_and_clips_huge_ones():
    values, clipped = log_safe([1.0, math.inf, math.nan, 1e300, 0.0])
    assert values[0] == 1.0 and math.isnan(values[1]) and math.isnan(values[2])
    assert values[3] == LOG_CEILING and clipped
    assert 0 < values[4] < 1e-10


def test_curves_of_a_run_whose_loss_reached_1e290_still_draw():
    history = [
        EpochRecord(e, 10.0 ** (e * 29), 0.5, 10.0 ** (e * 29), 0.5, 1.0, 0.0, 0.1, 1.0, 0.0, *[0.0] * 8)
        for e in range(11)
    ]
    assert curves_png(history, 0).startswith(b"\x89PNG")


@pytest.mark.parametrize("config", ["configs/iris.yaml"])
def test_cli_exits_3_on_divergence_and_keeps_the_last_good_run(tmp_path, config):
    root = Path(__file__).resolve().parents[1]
    args = [config, "optim.lr=1e6", "train.epochs=30", "gradcheck.every=0", f"output.dir={tmp_path}"]
    proc = subprocess.run(
        [sys.executable, "-m", "nnapp", "train", *args, "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: training diverged")
    assert "epoch" in errors[0] and "smaller learning rate" in errors[0]
    (run_dir,) = (tmp_path / "iris").iterdir()
    assert {"model.npz", "metrics.csv", "summary.json", "curves.png", "config.yaml"} <= {
        p.name for p in run_dir.iterdir()
    }
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "diverged" and summary["message"] == errors[0].removeprefix("error: ")
    model = load_model(run_dir)
    assert all(np.isfinite(p).all() for p in model.params.values())
    rows = artifacts.read_csv_rows(run_dir / "metrics.csv")
    assert len(rows) == summary["epochs_trained"] + 1  # epoch 0 and every completed epoch
    assert all(math.isfinite(float(r["train_loss"])) for r in rows)


SHIPPED = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
RUN_FILES = {"model.npz", "metrics.csv", "summary.json", "report.md", "config.yaml", "checkpoint.npz"}


def _train_at_lr_1000(config: str, tmp_path: Path, monkeypatch, plots: bool):
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # the CSV config names its data relative to it
    args = ["train", f"configs/{config}", "optim.lr=1000", "train.epochs=12", "gradcheck.enabled=false"]
    result = CliRunner().invoke(app, [*args, f"output.plots={plots}", f"output.dir={tmp_path}", "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 3), result.stderr  # 0: losses stayed finite (early stopping or done)
    (run_dir,) = (p for p in tmp_path.glob("*/*") if p.is_dir())
    return result, run_dir


@pytest.mark.parametrize("config", SHIPPED)
def test_every_shipped_config_at_lr_1000_ends_cleanly_with_a_complete_run_directory(
    config, tmp_path, monkeypatch
):
    """Pictures off: what lr 1000 does to the pictures depends on the kind of data only (the next test)."""
    result, run_dir = _train_at_lr_1000(config, tmp_path, monkeypatch, plots=False)
    assert {p.name for p in run_dir.iterdir()} >= RUN_FILES
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["stop_reason"] == "diverged") == (result.exit_code == 3)
    assert all(np.isfinite(p).all() for p in load_model(run_dir).params.values())


@pytest.mark.parametrize("config", ["xor.yaml", "digits.yaml"])  # a plane, images (and what every run draws)
def test_a_run_at_lr_1000_draws_every_picture_of_its_kind_of_data(config, tmp_path, monkeypatch):
    _, run_dir = _train_at_lr_1000(config, tmp_path, monkeypatch, plots=True)
    kind = {"xor.yaml": {"decision_boundary.png", "hidden_units.png"}, "digits.yaml": {"weights.png"}}
    expected = {"curves.png", "diagnostics.png", "confusion.png", *kind.get(config, set())}
    drawn = {p.name for p in run_dir.glob("*.png")}
    assert drawn == expected
    assert all((run_dir / name).read_bytes().startswith(b"\x89PNG") for name in drawn)


@pytest.mark.parametrize("config, lr", [("iris", "3"), ("digits", "20"), ("wine", "5")])
def test_a_runaway_loss_is_divergence_exit_3_not_a_failed_gradient_check(config, lr, tmp_path, monkeypatch):
    """These learning rates take the loss to 1e5-1e43 (at the top, finite differences resolve nothing)."""
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    args = [
        "train",
        f"configs/{config}.yaml",
        f"optim.lr={lr}",
        "output.plots=false",
        f"output.dir={tmp_path}",
        "-q",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "error: training diverged: runaway loss" in result.stderr
    assert "gradient check failed" not in result.output
    (run_dir,) = (p for p in tmp_path.glob("*/*") if p.is_dir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "diverged"
    # the final check runs at the best epoch's weights; on iris those already hold logits of 1e5 (a loss
    # of 0.44 nonetheless), where round-off hides derivatives below 1e-6: unreliable, never fail
    assert summary["gradcheck_verdict"] in ("pass", "unreliable")
    rows = artifacts.read_csv_rows(run_dir / "metrics.csv")
    limit = trainer.runaway_limit(float(rows[0]["train_loss"]), summary["chance_loss"])
    assert all(float(r["train_loss"]) <= limit for r in rows)  # the runaway epoch is not recorded


def test_the_runaway_rule_leaves_a_recovering_spike_alone():
    cfg, data = _setup(epochs=30)
    initial = trainer.train(cfg, data).history[0].train_loss
    assert trainer.runaway_limit(initial, math.log(3)) == 100 * max(initial, math.log(3))
    assert trainer.runaway_limit(1.82, math.log(3)) > 25.5  # iris at lr=3 peaks at 25.5 nats, recovers
