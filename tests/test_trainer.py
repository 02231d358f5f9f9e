"""The training loop: learning, early stopping with best-weight restore, determinism, gradient checks."""

from dataclasses import replace

import numpy as np
import pytest

from nnapp.config import Config, DataConfig, EarlyStoppingConfig, GradcheckConfig, ModelConfig, TrainConfig
from nnapp.core import network
from nnapp.data.datasets import load_dataset
from nnapp.training.evaluate import evaluate
from nnapp.training.records import Callback
from nnapp.training.trainer import train


@pytest.fixture(scope="module")
def iris():
    return load_dataset(DataConfig(dataset="iris"), seed=0)


def small(**train_kwargs) -> Config:
    return Config(
        model=ModelConfig(hidden=8),
        train=TrainConfig(**{"epochs": 30, "batch_size": 16, **train_kwargs}),
        gradcheck=GradcheckConfig(every=10, coords=3),
    )


def test_training_lowers_the_loss_and_beats_chance(iris):
    result = train(small(), iris)
    assert result.history[-1].train_loss < 0.5 * result.history[0].train_loss
    assert evaluate(result.params, iris.X_test, iris.y_test)[1] > 0.8


def test_epoch_zero_is_the_untrained_network_next_to_chance(iris):
    result = train(small(epochs=1), iris)
    assert result.history[0].epoch == 0
    assert result.chance_loss == pytest.approx(np.log(3))
    assert result.initial_loss == result.history[0].train_loss


def test_early_stopping_stops_and_restores_the_best_weights(iris):
    cfg = small(epochs=200, early_stopping=EarlyStoppingConfig(monitor="val_loss", patience=3))
    cfg = replace(cfg, optim=replace(cfg.optim, lr=0.5))  # noisy enough to stop early
    result = train(cfg, iris)
    assert result.stop_reason == "early_stopping"
    best = min(result.history, key=lambda r: r.val_loss)
    assert result.best_epoch == best.epoch
    assert result.history[-1].epoch == best.epoch + 3
    val_loss, _ = evaluate(result.params, iris.X_val, iris.y_val)
    assert val_loss == pytest.approx(best.val_loss, rel=1e-12)


def test_best_weights_are_restored_when_epochs_run_out(iris):
    result = train(small(epochs=15, early_stopping=EarlyStoppingConfig(patience=0)), iris)
    assert result.stop_reason == "completed"
    best = min(result.history, key=lambda r: r.val_loss)
    assert evaluate(result.params, iris.X_val, iris.y_val)[0] == pytest.approx(best.val_loss, rel=1e-12)


def test_same_config_and_seed_give_identical_numbers(iris):
    a, b = train(small(), iris), train(small(), iris)
    strip = [{k: v for k, v in r.row().items() if k != "seconds"} for r in a.history]
    assert strip == [{k: v for k, v in r.row().items() if k != "seconds"} for r in b.history]
    assert all(np.array_equal(a.params[k], b.params[k]) for k in network.PARAM_NAMES)


def test_another_seed_gives_other_numbers(iris):
    a, b = train(small(), iris), train(replace(small(), seed=1), iris)
    assert not np.array_equal(a.params["W"], b.params["W"])


def test_gradient_checks_run_every_k_epochs_and_at_the_end(iris):
    result = train(small(epochs=25, early_stopping=EarlyStoppingConfig(patience=0)), iris)
    assert [(c.epoch, c.when) for c in result.checks][:-1] == [(0, "epoch"), (10, "epoch"), (20, "epoch")]
    assert result.checks[-1].when == "final"
    assert all(c.report.verdict == "pass" for c in result.checks)


def test_a_failing_gradient_check_stops_the_run(iris, monkeypatch):
    real_backward = network.backward

    def off_by_a_percent(*args, **kwargs):
        grads = real_backward(*args, **kwargs)
        grads["b2"] *= 1.01
        return grads

    monkeypatch.setattr(network, "backward", off_by_a_percent)
    result = train(replace(small(), gradcheck=GradcheckConfig(every=5)), iris)
    assert result.stop_reason == "gradcheck_failed"
    assert "gradient check failed at epoch 0: dJ/db2" in result.message
    assert result.state.sgd.steps == 0  # before any step


def test_a_tolerance_finer_than_round_off_is_unreliable_not_failed(iris):
    cfg = replace(small(epochs=5), gradcheck=GradcheckConfig(every=5, tol=1e-15, fail=1e-14))
    result = train(cfg, iris)
    assert result.stop_reason == "completed"
    assert {c.report.verdict for c in result.checks} == {"unreliable"}


def test_float32_training_keeps_float32_weights(iris):
    cfg = replace(small(), model=ModelConfig(hidden=8, dtype="float32"))
    result = train(cfg, iris)
    assert result.params["W"].dtype == np.float32
    assert result.checks[-1].report.verdict == "pass"  # checks run in float64 on a copy
    assert evaluate(result.params, iris.X_test.astype(np.float32), iris.y_test)[1] > 0.8


def test_a_huge_learning_rate_stops_as_diverged_with_finite_weights(iris):
    cfg = replace(small(), optim=replace(small().optim, lr=1e6))
    result = train(cfg, iris)
    assert result.stop_reason == "diverged"
    assert "smaller learning rate" in result.message
    assert all(np.isfinite(v).all() for v in result.params.values())


def test_callbacks_see_each_epoch(iris):
    seen = []

    class Recorder(Callback):
        def on_epoch_end(self, record, state):
            seen.append(record.epoch)

    train(small(epochs=4, early_stopping=EarlyStoppingConfig(patience=0)), iris, [Recorder()])
    assert seen == [1, 2, 3, 4]
