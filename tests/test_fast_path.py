"""The allocation-free training path computes the same numbers as the plain one."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.core import network
from nnapp.core.optim import sgd_init, sgd_step


def _params(rng, d_in=5, d_hidden=7, n_classes=4, dtype=np.float64):
    params = network.init_params(d_in, d_hidden, n_classes, rng, dtype=dtype)
    for value in params.values():
        value += (0.1 * rng.standard_normal(value.shape)).astype(dtype)  # non-zero biases
    return params


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 9), short=st.integers(0, 8), seed=st.integers(0, 2**16))
def test_a_reused_workspace_gives_the_same_gradients_as_fresh_arrays(rows, short, seed):
    rng = np.random.default_rng(seed)
    params = _params(rng)
    ws = network.Workspace.new(rows + short, 7, 4)
    ws.z.fill(np.nan)  # stale contents from an earlier step must not leak into the result
    X, y = rng.standard_normal((rows, 5)), rng.integers(0, 4, rows)
    fresh = network.backward(params, network.forward(params, X), y, 0.1)
    reused = network.backward(params, network.forward(params, X, ws.first(rows)), y, 0.1)
    for name in fresh:
        np.testing.assert_array_equal(reused[name], fresh[name], err_msg=name)


def test_one_hot_labels_give_the_same_gradients_as_class_indices():
    rng = np.random.default_rng(1)
    params = _params(rng)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 4, 6)
    fwd = network.forward(params, X)
    by_index = network.backward(params, fwd, y)
    by_one_hot = network.backward(params, fwd, np.eye(4)[y])
    for name in by_index:
        np.testing.assert_allclose(by_one_hot[name], by_index[name], rtol=1e-14, atol=1e-16, err_msg=name)


def test_workspace_rows_are_views_of_one_allocation():
    ws = network.Workspace.new(8, 3, 2)
    short = ws.first(5)
    assert short.z.shape == (5, 3) and np.shares_memory(short.z, ws.z)
    assert ws.first(8) is ws


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_step_is_the_documented_momentum_update(nesterov):
    rng = np.random.default_rng(2)
    p, g = rng.standard_normal(10), rng.standard_normal(10)
    state = sgd_init(p)
    state.velocity[:] = rng.standard_normal(10)
    v_expected = 0.9 * state.velocity - 0.1 * g
    p_expected = p + (0.9 * v_expected - 0.1 * g if nesterov else v_expected)
    sgd_step(p, g.copy(), state, lr=0.1, momentum=0.9, nesterov=nesterov)
    np.testing.assert_allclose(state.velocity, v_expected, rtol=1e-15)
    np.testing.assert_allclose(p, p_expected, rtol=1e-15)
