"""The epoch meter measures with the run's objective: network.backward over the training rows and
network.cross_entropy of each split, bit for bit, or whatever other objective it is given."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.core import network
from nnapp.training.measure import EpochMeter


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


def test_the_meter_records_the_objectives_loss_and_gradient():
    """The losses and the gradient norm are the given objective's: one cross-entropy, one penalty and
    one backward pass for training, its checks and its records."""
    dims = (3, 5, 4)
    params, X, y, X_val, y_val = _problem(1, 12, 6, dims, np.float64, 1.0)
    Y = np.eye(dims[2])[y]

    def doubled_backward(*args, **kwargs):
        grads = network.backward(*args, **kwargs)
        for name in network.PARAM_NAMES:
            grads[name] *= 2.0
        return grads

    objective = network.Objective(
        backward=doubled_backward,
        cross_entropy=lambda fwd, labels: 3.0 * network.cross_entropy(fwd, labels),
        l2_penalty=lambda p, wd: 7.0,
    )
    grads = {name: np.empty_like(p) for name, p in params.items()}
    right = EpochMeter(dims, X, Y, y, X_val, y_val, 0.1).record(params, grads, None, 0, 0.1, 0.0)
    other = EpochMeter(dims, X, Y, y, X_val, y_val, 0.1, objective).record(params, grads, None, 0, 0.1, 0.0)
    assert other.train_ce == 3.0 * right.train_ce and other.val_loss == 3.0 * right.val_loss
    assert other.l2 == 7.0 and other.train_loss == other.train_ce + 7.0
    assert other.grad_norm == pytest.approx(2.0 * right.grad_norm, rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    n_val=st.integers(0, 20),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_the_meters_losses_are_network_cross_entropy_of_each_split(seed, n, n_val, dtype):
    dims = (4, 6, 3)
    params, X, y, X_val, y_val = _problem(seed, n, n_val, dims, dtype, 1.0)
    meter = EpochMeter(dims, X, np.eye(3, dtype=dtype)[y], y, X_val, y_val, 0.0)
    train_ce, _, val_ce, _ = meter.losses(params)
    # a forward pass over the stacked rows, as the meter's (BLAS need not round 2 rows as it does 4)
    fwd = network.forward(params, np.concatenate([X, X_val]))
    assert train_ce == network.cross_entropy(
        network.Forward(X, fwd.z[:n], fwd.h[:n], fwd.theta[:n], fwd.ws), y
    )
    if n_val:
        val = network.Forward(X_val, fwd.z[n:], fwd.h[n:], fwd.theta[n:], fwd.ws)
        assert val_ce == network.cross_entropy(val, y_val)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    dims=st.tuples(st.integers(1, 9), st.integers(1, 40), st.integers(2, 12)),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_validation_rows_that_are_the_training_rows_are_measured_once_to_the_training_rows_numbers(
    seed, n, dims, dtype
):
    """nnapp.Classifier validates on its training rows (the same arrays): one pass over them gives
    the record a meter of the training rows alone gives, with their loss and accuracy as validation's."""
    params, X, y, _, _ = _problem(seed, n, 0, dims, dtype, 1.0)
    Y = np.eye(dims[2], dtype=dtype)[y]
    before = {name: p - dtype(0.01) for name, p in params.items()}
    once = EpochMeter(dims, X, Y, y, X, y, 1e-3)
    alone = EpochMeter(dims, X, Y, y, X[:0], y[:0], 1e-3)
    copied = EpochMeter(dims, X, Y, y, X.copy(), y.copy(), 1e-3)
    assert once.ws.z.shape[0] == n and copied.ws.z.shape[0] == 2 * n  # a copy is measured again
    grads = [{name: np.empty_like(p) for name, p in params.items()} for _ in range(3)]
    found, expected, plain = (
        meter.record(params, g, before, 2, 0.1, 0.5).row()
        for meter, g in zip((once, alone, copied), grads, strict=True)
    )
    assert found["val_loss"] == found["train_ce"] and found["val_acc"] == found["train_acc"]
    assert {k: v for k, v in found.items() if not k.startswith("val_")} == {
        k: v for k, v in expected.items() if not k.startswith("val_")
    }
    for name in network.PARAM_NAMES:
        assert grads[0][name].tobytes() == grads[1][name].tobytes(), name
    # the plain path over stacked copies: the same numbers, up to how BLAS rounds n rows and 2n rows
    for column, value in plain.items():
        assert found[column] == pytest.approx(value, rel=1e-5 if dtype == np.float32 else 1e-12), column


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 40),
    n_classes=st.integers(2, 12),
    dtype=st.sampled_from([np.float64, np.float32]),
    scale=st.sampled_from([1.0, 30.0, 1e3]),
    one_hot=st.booleans(),
)
def test_one_softmax_for_the_records_loss_and_backward_gives_the_bytes_of_each_computing_its_own(
    seed, rows, n_classes, dtype, scale, one_hot
):
    rng = np.random.default_rng(seed)
    theta = (scale * rng.normal(size=(rows, n_classes))).astype(dtype)
    labels = rng.integers(0, n_classes, rows)
    y = np.eye(n_classes, dtype=dtype)[labels] if one_hot else labels
    fwd = network.Forward(
        theta[:, :0], theta[:, :0], theta[:, :0], theta, network.Workspace.new(rows, 0, n_classes)
    )
    y_hat = np.empty_like(theta)
    assert network.cross_entropy_softmax(fwd, y, y_hat) == network.cross_entropy(fwd, y)
    assert y_hat.tobytes() == network.softmax(theta).tobytes()


def _derived_by_another_name() -> network.Objective:
    """The derived objective, but not network.DERIVED itself: the meters take their plain path for it."""
    return network.Objective(backward=lambda *args, **kwargs: network.backward(*args, **kwargs))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    n_val=st.integers(0, 20),
    dtype=st.sampled_from([np.float64, np.float32]),
    scale=st.sampled_from([1.0, 30.0]),
)
def test_the_derived_objectives_one_softmax_path_records_what_the_plain_path_records(
    seed, n, n_val, dtype, scale
):
    dims = (4, 6, 3)
    params, X, y, X_val, y_val = _problem(seed, n, n_val, dims, dtype, scale)
    Y = np.eye(3, dtype=dtype)[y]
    grads = [{name: np.empty_like(p) for name, p in params.items()} for _ in range(2)]
    fast = EpochMeter(dims, X, Y, y, X_val, y_val, 1e-3)
    plain = EpochMeter(dims, X, Y, y, X_val, y_val, 1e-3, _derived_by_another_name())
    assert fast.one_softmax and not plain.one_softmax
    assert fast.record(params, grads[0], None, 1, 0.1, 0.5) == plain.record(
        params, grads[1], None, 1, 0.1, 0.5
    )
    for name in network.PARAM_NAMES:
        assert grads[0][name].tobytes() == grads[1][name].tobytes(), name
