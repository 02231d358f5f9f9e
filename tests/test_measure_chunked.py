"""The chunked epoch meter (big training sets): the one-pass meter's record, up to the rounding of sums
taken by chunks, in memory that does not grow with the rows; small sets keep the one-pass meter."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.core import network
from nnapp.training.measure import EpochMeter
from nnapp.training.measure_chunked import MIN_CHUNK_ROWS, ChunkedEpochMeter, chunk_rows, epoch_meter

EXACT = ("epoch", "train_acc", "val_acc", "lr", "seconds", "dead_frac", "active_frac", "l2")


def problem(seed: int, n: int, n_val: int, dims: tuple[int, int, int]):
    rng = np.random.default_rng(seed)
    params = network.init_params(*dims, rng)
    for p in params.values():
        p += rng.normal(size=p.shape)  # nonzero biases; some units dead on some rows
    X, X_val = rng.normal(size=(n, dims[0])), rng.normal(size=(n_val, dims[0]))
    y, y_val = rng.integers(0, dims[2], n), rng.integers(0, dims[2], n_val)
    return params, X, np.eye(dims[2])[y], y, X_val, y_val


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    n_val=st.integers(1, 30),
    chunk=st.integers(1, 25),
    dims=st.tuples(st.integers(1, 6), st.integers(1, 12), st.integers(2, 5)),
    weight_decay=st.sampled_from([0.0, 1e-2]),
)
def test_a_chunked_record_is_the_one_pass_record_up_to_the_rounding_of_its_sums(
    seed, n, n_val, chunk, dims, weight_decay
):
    params, X, Y, y, X_val, y_val = problem(seed, n, n_val, dims)
    before = {name: p - 0.01 for name, p in params.items()}
    one_pass = EpochMeter(dims, X, Y, y, X_val, y_val, weight_decay)
    chunked = ChunkedEpochMeter(dims, X, Y, y, X_val, y_val, weight_decay, chunk=chunk)
    grads_one = {name: np.empty_like(p) for name, p in params.items()}
    grads_chunked = {name: np.empty_like(p) for name, p in params.items()}
    expected = one_pass.record(params, grads_one, before, 3, 0.1, 0.5).row()
    found = chunked.record(params, grads_chunked, before, 3, 0.1, 0.5).row()
    for column, value in expected.items():
        if column in EXACT:
            assert found[column] == value, column
        else:
            assert math.isclose(found[column], value, rel_tol=1e-10, abs_tol=1e-13), column
    for name in network.PARAM_NAMES:
        np.testing.assert_allclose(grads_chunked[name], grads_one[name], rtol=1e-10, atol=1e-14)


def test_small_sets_use_the_one_pass_meter_and_big_ones_chunks_of_bounded_memory():
    dims = (10, 32, 3)
    rows = chunk_rows(32, np.dtype(np.float64))
    assert rows >= MIN_CHUNK_ROWS > 1797  # the biggest shipped config: measured in one pass, same bytes
    _, X, Y, y, X_val, y_val = problem(0, rows - 100, 100, dims)
    assert isinstance(epoch_meter(dims, X, Y, y, X_val, y_val, 0.0), EpochMeter)
    _, X, Y, y, X_val, y_val = problem(0, 3 * rows, 100, dims)
    meter = epoch_meter(dims, X, Y, y, X_val, y_val, 0.0)
    assert isinstance(meter, ChunkedEpochMeter)
    assert meter.ws.z.shape == (rows, 32)  # not one row per training row


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), chunk=st.integers(1, 25))
def test_chunked_validation_rows_that_are_the_training_rows_give_the_record_of_a_copy_of_them(seed, n, chunk):
    dims = (4, 6, 3)
    params, X, Y, y, _, _ = problem(seed, n, 0, dims)
    grads_once = {name: np.empty_like(p) for name, p in params.items()}
    grads_copy = {name: np.empty_like(p) for name, p in params.items()}
    once = ChunkedEpochMeter(dims, X, Y, y, X, y, 1e-2, chunk=chunk)
    copied = ChunkedEpochMeter(dims, X, Y, y, X.copy(), y.copy(), 1e-2, chunk=chunk)
    found = once.record(params, grads_once, None, 1, 0.1, 0.5)
    assert found == copied.record(params, grads_copy, None, 1, 0.1, 0.5)


def test_validation_rows_that_are_the_training_rows_count_once_toward_the_one_pass_limit():
    dims = (10, 32, 3)
    rows = chunk_rows(32, np.dtype(np.float64))
    _, X, Y, y, _, _ = problem(0, rows - 100, 0, dims)
    assert isinstance(epoch_meter(dims, X, Y, y, X, y, 0.0), EpochMeter)
    assert isinstance(epoch_meter(dims, X, Y, y, X.copy(), y.copy(), 0.0), ChunkedEpochMeter)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), chunk=st.integers(1, 25))
def test_the_chunked_meters_one_softmax_path_records_what_its_plain_path_records(seed, n, chunk):
    dims = (4, 6, 3)
    params, X, Y, y, X_val, y_val = problem(seed, n, 7, dims)
    plain_objective = network.Objective(backward=lambda *args, **kwargs: network.backward(*args, **kwargs))
    grads = [{name: np.empty_like(p) for name, p in params.items()} for _ in range(2)]
    fast = ChunkedEpochMeter(dims, X, Y, y, X_val, y_val, 1e-2, chunk=chunk)
    plain = ChunkedEpochMeter(dims, X, Y, y, X_val, y_val, 1e-2, plain_objective, chunk=chunk)
    assert fast.one_softmax and not plain.one_softmax
    assert fast.record(params, grads[0], None, 1, 0.1, 0.5) == plain.record(
        params, grads[1], None, 1, 0.1, 0.5
    )
    for name in network.PARAM_NAMES:
        assert grads[0][name].tobytes() == grads[1][name].tobytes(), name
