"""The training loop: learning, early stopping with best-weight restore, determinism, gradient checks."""

from dataclasses import replace

import numpy as np
import pytest

from nnapp.config import (
    Config,
    DataConfig,
    EarlyStoppingConfig,
    GradcheckConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
)
from nnapp.core import network
from nnapp.data.datasets import load_dataset
from nnapp.training.evaluate import evaluate
from nnapp.training.records import Callback
from nnapp.training.start import dimensions, init_state, run_streams
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


def test_a_failing_gradient_check_stops_the_run(iris):
    def off_by_a_percent(*args, **kwargs):
        grads = network.backward(*args, **kwargs)
        grads["b2"] *= 1.01
        return grads

    wrong = network.Objective(backward=off_by_a_percent)
    result = train(replace(small(), gradcheck=GradcheckConfig(every=5)), iris, objective=wrong)
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


# ---------------------------------------------------------------- behaviours, each against a recomputation


def plain_sgd(**train_kwargs) -> Config:
    """No momentum, no early stopping, no checks: each step is p <- p - lr g, nothing else."""
    return Config(
        model=ModelConfig(hidden=8),
        optim=OptimConfig(lr=0.1, momentum=0.0),
        train=TrainConfig(
            **{"epochs": 1, "batch_size": 16, **train_kwargs}, early_stopping=EarlyStoppingConfig(patience=0)
        ),
        gradcheck=GradcheckConfig(enabled=False),
    )


def sgd_by_hand(cfg: Config, data, order: np.ndarray) -> network.Params:
    """One epoch of plain SGD over the training rows in `order`, with network.loss_and_grads."""
    params = {
        k: v.copy()
        for k, v in network.views(init_state(cfg, data).flat.copy(), *dimensions(data, cfg)).items()
    }
    X, y, batch = data.X_train[order], data.y_train[order], cfg.train.batch_size
    for start in range(0, len(y), batch):
        _, grads = network.loss_and_grads(params, X[start : start + batch], y[start : start + batch])
        for name in network.PARAM_NAMES:
            params[name] -= cfg.optim.lr * grads[name]
    return params


def end_of_training_weights(result, cfg: Config, data) -> network.Params:
    return network.views(result.state.flat, *dimensions(data, cfg))


def test_shuffle_false_steps_through_the_training_rows_in_order(iris):
    cfg = plain_sgd(shuffle=False)
    trained = end_of_training_weights(train(cfg, iris), cfg, iris)
    expected = sgd_by_hand(cfg, iris, np.arange(len(iris.y_train)))
    for name in network.PARAM_NAMES:
        np.testing.assert_allclose(trained[name], expected[name], rtol=1e-10, atol=1e-13)


def test_shuffle_true_steps_through_the_rows_in_the_shuffle_streams_order(iris):
    cfg = plain_sgd(shuffle=True)
    trained = end_of_training_weights(train(cfg, iris), cfg, iris)
    order = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(2)[1]).permutation(len(iris.y_train))
    assert not np.array_equal(order, np.arange(len(order)))
    expected = sgd_by_hand(cfg, iris, order)
    for name in network.PARAM_NAMES:
        np.testing.assert_allclose(trained[name], expected[name], rtol=1e-10, atol=1e-13)


def test_clip_norm_rescales_a_longer_gradient_to_the_limit(iris):
    n = len(iris.y_train)
    cfg = plain_sgd(shuffle=False, batch_size=n)  # one full-batch step
    cfg = replace(cfg, optim=replace(cfg.optim, clip_norm=0.05))
    before = network.views(init_state(cfg, iris).flat.copy(), *dimensions(iris, cfg))
    _, grads = network.loss_and_grads(before, iris.X_train, iris.y_train)
    norm = np.sqrt(sum(float(np.vdot(grads[k], grads[k])) for k in network.PARAM_NAMES))
    assert norm > 0.05  # else nothing would be clipped
    trained = end_of_training_weights(train(cfg, iris), cfg, iris)
    for name in network.PARAM_NAMES:
        expected = before[name] - cfg.optim.lr * grads[name] * (0.05 / norm)
        np.testing.assert_allclose(trained[name], expected, rtol=1e-10, atol=1e-13)


def test_monitor_val_acc_keeps_the_first_epoch_of_best_validation_accuracy(iris):
    cfg = small(epochs=200, early_stopping=EarlyStoppingConfig(monitor="val_acc", patience=3))
    result = train(cfg, iris)
    accuracies = [r.val_acc for r in result.history]
    best = int(np.argmax(accuracies))  # the first maximum: a tie is no improvement
    assert result.stop_reason == "early_stopping"
    assert result.best_epoch == best
    assert result.history[-1].epoch == best + 3
    assert evaluate(result.params, iris.X_val, iris.y_val)[1] == accuracies[best]


def test_min_lr_floors_the_step_schedule(iris):
    cfg = small(epochs=6, early_stopping=EarlyStoppingConfig(patience=0))
    cfg = replace(cfg, optim=OptimConfig(lr=0.1, schedule="step", step_every=1, decay=0.5, min_lr=0.02))
    result = train(cfg, iris)
    assert [r.lr for r in result.history[1:]] == [0.1, 0.05, 0.025, 0.02, 0.02, 0.02]


def test_cosine_schedule_ends_at_min_lr(iris):
    cfg = small(epochs=5, early_stopping=EarlyStoppingConfig(patience=0))
    cfg = replace(cfg, optim=OptimConfig(lr=0.1, schedule="cosine", min_lr=0.01))
    lrs = [r.lr for r in train(cfg, iris).history[1:]]
    expected = [0.01 + 0.09 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in range(5)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[-1] == pytest.approx(0.01, rel=1e-12)


class PlantAtEpoch(Callback):
    """An objective whose dJ/db2 turns 1% wrong at the end of epoch `epoch` (as a bug that only some
    weights reveal would), for training and its checks alike; records which epochs were done."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.done, self.planted = epoch, [], False
        self.objective = network.Objective(backward=self.backward)

    def backward(self, *args, **kwargs):
        grads = network.backward(*args, **kwargs)
        if self.planted:
            grads["b2"] *= 1.01
        return grads

    def on_epoch_end(self, record, state) -> None:
        if record.epoch == self.epoch:
            self.planted = True

    def on_epoch_done(self, state) -> None:
        self.done.append(state.epoch)


def test_a_check_failing_after_epoch_0_stops_at_that_epoch_before_it_is_done(iris):
    plant = PlantAtEpoch(3)
    cfg = replace(
        small(epochs=20, early_stopping=EarlyStoppingConfig(patience=0)), gradcheck=GradcheckConfig(every=5)
    )
    result = train(cfg, iris, [plant], objective=plant.objective)
    assert result.stop_reason == "gradcheck_failed"
    assert result.message.startswith("gradient check failed at epoch 5: dJ/db2")
    assert [(c.epoch, c.when) for c in result.checks] == [(0, "epoch"), (5, "epoch")]  # no final check
    assert result.history[-1].epoch == 5
    assert plant.done == [0, 1, 2, 3, 4]  # epoch 5 is never handed on to be checkpointed


def test_a_failing_final_check_stops_a_run_that_completed(iris):
    plant = PlantAtEpoch(5)
    cfg = replace(
        small(epochs=5, early_stopping=EarlyStoppingConfig(patience=0)), gradcheck=GradcheckConfig(every=0)
    )
    result = train(cfg, iris, [plant], objective=plant.objective)
    assert result.stop_reason == "gradcheck_failed"
    assert [(c.epoch, c.when) for c in result.checks] == [(result.best_epoch, "final")]
    assert result.message.startswith(f"gradient check failed at epoch {result.best_epoch}: dJ/db2")
    assert plant.done == [0, 1, 2, 3, 4, 5]


def test_on_fail_warn_trains_every_epoch_and_records_the_failures(iris):
    plant = PlantAtEpoch(-1)
    plant.planted = True  # from the start
    gradcheck = GradcheckConfig(every=5, on_fail="warn")
    cfg = replace(small(epochs=10, early_stopping=EarlyStoppingConfig(patience=0)), gradcheck=gradcheck)
    result = train(cfg, iris, objective=plant.objective)
    assert result.stop_reason == "completed"
    assert result.message == ""
    assert result.history[-1].epoch == 10
    assert [(c.epoch, c.when, c.report.verdict) for c in result.checks] == [
        (0, "epoch", "fail"),
        (5, "epoch", "fail"),
        (10, "epoch", "fail"),
        (result.best_epoch, "final", "fail"),
    ]


def loss_by_hand(p: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, weight_decay: float) -> float:
    """J = mean cross-entropy + (lambda/2)(||W||^2 + ||U||^2) of the ReLU + softmax network, in numpy."""
    theta = np.maximum(X @ p["W"].T + p["b1"], 0.0) @ p["U"].T + p["b2"]
    top = theta.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(theta - top).sum(axis=1))
    ce = float(np.mean(log_norm - theta[np.arange(len(y)), y]))
    return ce + 0.5 * weight_decay * float(np.sum(p["W"] ** 2) + np.sum(p["U"] ** 2))


def gradient_norm_by_finite_differences(p, X, y, weight_decay, eps=1e-6) -> float:
    total = 0.0
    for name in network.PARAM_NAMES:
        for index in np.ndindex(p[name].shape):
            moved = {k: v.copy() for k, v in p.items()}
            moved[name][index] += eps
            plus = loss_by_hand(moved, X, y, weight_decay)
            moved[name][index] -= 2 * eps
            total += ((plus - loss_by_hand(moved, X, y, weight_decay)) / (2 * eps)) ** 2
    return float(np.sqrt(total))


@pytest.mark.parametrize("epoch", [0, 3])
def test_grad_norm_and_l2_columns_match_a_recomputation(iris, epoch):
    cfg = small(epochs=3, early_stopping=EarlyStoppingConfig(patience=0))
    cfg = replace(cfg, optim=replace(cfg.optim, weight_decay=0.01), gradcheck=GradcheckConfig(enabled=False))
    result = train(cfg, iris)
    flat = init_state(cfg, iris).flat if epoch == 0 else result.state.flat  # the end-of-epoch weights
    p = {k: np.array(v) for k, v in network.views(flat, *dimensions(iris, cfg)).items()}
    record = result.history[epoch]
    assert record.l2 == pytest.approx(0.005 * float(np.sum(p["W"] ** 2) + np.sum(p["U"] ** 2)), rel=1e-12)
    expected_norm = gradient_norm_by_finite_differences(p, iris.X_train, iris.y_train, 0.01)
    assert record.grad_norm == pytest.approx(expected_norm, rel=1e-6)
    assert record.train_loss == pytest.approx(loss_by_hand(p, iris.X_train, iris.y_train, 0.01), rel=1e-12)


def test_train_val_and_test_rows_are_disjoint_and_cover_the_data():
    data = load_dataset(DataConfig(dataset="wine"), seed=0)  # 178 rows, no two alike (bundled: no sklearn)
    splits = [{tuple(row) for row in X} for X in (data.X_train, data.X_val, data.X_test)]
    assert sum(len(s) for s in splits) == len(set.union(*splits)) == 178


def test_the_check_rows_are_derived_once_per_run(iris, monkeypatch):
    from nnapp.training import trainer

    calls = []
    real = trainer.gradcheck_rows
    monkeypatch.setattr(trainer, "gradcheck_rows", lambda *a: calls.append(1) or real(*a))
    result = train(
        replace(
            small(epochs=4, early_stopping=EarlyStoppingConfig(patience=0)),
            gradcheck=GradcheckConfig(every=1),
        ),
        iris,
    )
    assert len(result.checks) == 6  # epochs 0-4 and the final check
    assert len(calls) == 1


def test_run_streams_are_the_seeds_children_in_a_fixed_order(iris):
    """Saved models depend on this order: init, shuffle, check, check rows."""
    streams = run_streams(7)
    children = np.random.SeedSequence(7).spawn(4)
    named = (streams.init, streams.shuffle, streams.check, streams.check_rows)
    assert [s.spawn_key for s in named] == [c.spawn_key for c in children]
    assert all(s.entropy == 7 for s in named)
    cfg = replace(small(), seed=7)
    init = network.init_params(4, 8, 3, np.random.default_rng(children[0]), init=cfg.model.init)
    assert np.array_equal(init_state(cfg, iris).flat, network.flatten(init))
