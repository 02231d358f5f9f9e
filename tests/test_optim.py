"""Each optimizer step and schedule against its hand formula."""

import math

import numpy as np
import pytest

from nnapp.config import OptimConfig
from nnapp.core.optim import (
    ScheduleState,
    clip_by_norm,
    plateau_update,
    schedule_lr,
    sgd_init,
    sgd_step,
)

P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.1, 0.2, -0.3])
G2 = np.array([-0.4, 0.0, 0.6])


def two_steps(momentum: float, nesterov: bool, lr: float = 0.5) -> np.ndarray:
    p = P0.copy()
    state = sgd_init(p)
    sgd_step(p, G1.copy(), state, lr, momentum, nesterov)
    sgd_step(p, G2.copy(), state, lr, momentum, nesterov)
    assert state.steps == 2
    return p


def test_plain_sgd_is_p_minus_lr_g():
    np.testing.assert_allclose(two_steps(0.0, False), P0 - 0.5 * G1 - 0.5 * G2)


def test_heavy_ball_momentum():
    v1 = -0.5 * G1
    v2 = 0.9 * v1 - 0.5 * G2
    np.testing.assert_allclose(two_steps(0.9, False), P0 + v1 + v2)


def test_nesterov_momentum():
    v1 = -0.5 * G1
    p1 = P0 + 0.9 * v1 - 0.5 * G1
    v2 = 0.9 * v1 - 0.5 * G2
    np.testing.assert_allclose(two_steps(0.9, True), p1 + 0.9 * v2 - 0.5 * G2)


def test_clipping_rescales_to_the_max_norm_and_reports_the_original():
    g = np.array([3.0, 4.0])
    assert clip_by_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g, [0.6, 0.8])


def test_clipping_leaves_small_gradients_alone():
    g = np.array([0.3, 0.4])
    clip_by_norm(g, 1.0)
    np.testing.assert_array_equal(g, [0.3, 0.4])


@pytest.mark.parametrize(
    ("schedule", "epoch", "expected"),
    [
        ("constant", 7, 0.1),
        ("step", 29, 0.1),
        ("step", 30, 0.05),
        ("step", 65, 0.025),
        ("cosine", 0, 0.1),
        ("cosine", 99, 0.0),
        ("cosine", 33, 0.05 * (1 + math.cos(math.pi * 33 / 99))),
        ("invscaling", 3, 0.1 / 4**0.5),
    ],
)
def test_schedules(schedule, epoch, expected):
    cfg = OptimConfig(lr=0.1, schedule=schedule, step_every=30, decay=0.5)
    assert schedule_lr(cfg, ScheduleState(lr=0.1), epoch, 100) == pytest.approx(expected)


def test_plateau_halves_the_rate_after_patience_epochs_without_improvement():
    cfg = OptimConfig(lr=0.1, schedule="plateau", plateau_patience=2, decay=0.5)
    state = ScheduleState(lr=0.1)
    for loss in (1.0, 0.9, 0.95, 0.92):
        plateau_update(cfg, state, loss)
    assert state.lr == pytest.approx(0.05)
    plateau_update(cfg, state, 0.5)
    assert state.lr == pytest.approx(0.05) and state.best == 0.5
