"""The epoch meter's shortcuts give network.py's and numpy's own numbers bit for bit: its backward pass
(network.backward given the softmax the loss computed) against network.backward computing the softmax
itself, its row maxima against np.max, its mean against np.mean."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.core import network
from nnapp.training.measure import EpochMeter, mean, row_max


def _problem(seed: int, n: int, n_val: int, dims: tuple[int, int, int], dtype, scale: float):
    rng = np.random.default_rng(seed)
    d_in, _, n_classes = dims
    params = network.init_params(*dims, rng, dtype=dtype)
    for p in params.values():
        p += scale * rng.normal(size=p.shape).astype(dtype)  # nonzero biases, and large logits at scale
    X = rng.normal(size=(n, d_in)).astype(dtype)
    y = rng.integers(0, n_classes, n)
    X_val, y_val = rng.normal(size=(n_val, d_in)).astype(dtype), rng.integers(0, n_classes, n_val)
    return params, X, y, X_val, y_val


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    n_val=st.integers(0, 20),
    dims=st.tuples(st.integers(1, 9), st.integers(1, 40), st.integers(2, 40)),
    dtype=st.sampled_from([np.float64, np.float32]),
    weight_decay=st.sampled_from([0.0, 1e-3]),
    scale=st.sampled_from([0.0, 1.0, 30.0]),
)
def test_the_meters_gradient_is_network_backward_over_the_training_rows_bit_for_bit(
    seed, n, n_val, dims, dtype, weight_decay, scale
):
    params, X, y, X_val, y_val = _problem(seed, n, n_val, dims, dtype, scale)
    Y = np.eye(dims[2], dtype=dtype)[y]
    meter = EpochMeter(dims, X, Y, y, X_val, y_val, weight_decay)
    grads = {name: np.empty_like(p) for name, p in params.items()}
    record = meter.record(params, grads, None, 0, 0.1, 0.0)

    # network.backward from the meter's own forward pass over the stacked rows (a forward pass over
    # the training rows alone may round differently: BLAS need not treat 2 rows as it does 4)
    fwd = meter.train_fwd
    active = fwd.ws.active.copy()
    expected = network.backward(params, fwd, Y, weight_decay, input_grad=False)
    for name in network.PARAM_NAMES:
        assert grads[name].tobytes() == expected[name].tobytes(), name
    squares = [float(np.vdot(expected[name], expected[name])) for name in network.PARAM_NAMES]
    assert record.grad_norm == math.sqrt(sum(squares))
    assert record.grad_norm_W == math.sqrt(squares[0]) and record.grad_norm_b2 == math.sqrt(squares[3])
    assert active.tolist() == (fwd.z > 0).tolist()  # the dead and active units' source


@pytest.mark.parametrize("classes", [1, 2, 3, 10, 32, 33, 100])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_max_is_np_max_with_nan_inf_and_signed_zeros(classes, dtype):
    rng = np.random.default_rng(classes)
    theta = rng.normal(size=(200, classes)).astype(dtype)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype)
    mask = rng.random(theta.shape) < 0.1
    theta[mask] = rng.choice(specials, size=int(mask.sum()))
    got = row_max(theta, np.empty(len(theta), dtype))
    np.testing.assert_array_equal(got, np.max(theta, axis=1))  # NaN where np.max gives NaN


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mean_is_np_mean_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    for size in (1, 2, 7, 9, 130, 1001):
        x = (rng.lognormal(size=size) * 1e3).astype(dtype)
        assert mean(x) == float(np.mean(x)) and type(mean(x)) is float
