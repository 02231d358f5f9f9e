"""The hand-derived gradients against an independent float64 finite-difference computation."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnapp.core.network import Workspace, backward, forward, init_params, loss_and_grads, predict_proba


def numeric_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of the scalar f() with respect to every entry of `array` (modified in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def reference_loss(params, X, y, weight_decay):
    """J written independently of nnapp.core.network: plain loops-free numpy, softmax then log."""
    z = X @ params["W"].T + params["b1"]
    h = np.where(z > 0, z, 0.0)
    theta = h @ params["U"].T + params["b2"]
    shifted = theta - theta.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    ce = -log_probs[np.arange(len(y)), y].mean()
    return ce + 0.5 * weight_decay * ((params["W"] ** 2).sum() + (params["U"] ** 2).sum())


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 6),
    d_in=st.integers(1, 5),
    d_hidden=st.integers(1, 6),
    n_classes=st.sampled_from([2, 3, 10]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_finite_differences(batch, d_in, d_hidden, n_classes, weight_decay, seed):
    rng = np.random.default_rng(seed)
    params = init_params(d_in, d_hidden, n_classes, rng)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}  # non-zero biases
    X = rng.standard_normal((batch, d_in))
    y = rng.integers(0, n_classes, batch)
    z = X @ params["W"].T + params["b1"]
    assume(np.min(np.abs(z)) >= 1e-3)  # a kink within reach of eps makes the numeric value meaningless
    _, grads = loss_and_grads(params, X, y, weight_decay)
    tensors = {**params, "x": X}
    for name, tensor in tensors.items():
        numeric = numeric_gradient(lambda: reference_loss(params, X, y, weight_decay), tensor)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 6), n_classes=st.sampled_from([2, 3, 10]), seed=st.integers(0, 2**16))
def test_the_training_path_one_hot_labels_and_a_reused_workspace_matches_finite_differences(
    batch, n_classes, seed
):
    rng = np.random.default_rng(seed)
    params = init_params(3, 4, n_classes, rng)
    X, y = rng.standard_normal((batch, 3)), rng.integers(0, n_classes, batch)
    assume(np.min(np.abs(X @ params["W"].T + params["b1"])) >= 1e-3)  # no kink within reach of eps
    ws = Workspace.new(8, 4, n_classes)  # larger than the batch, as for an epoch's short last batch
    forward(params, rng.standard_normal((8, 3)), ws)  # leave stale numbers in it
    fwd = forward(params, X, ws.first(batch))
    grads = backward(params, fwd, np.eye(n_classes)[y], weight_decay=0.01, input_grad=False)
    for name in ("W", "b1", "U", "b2"):
        numeric = numeric_gradient(lambda: reference_loss(params, X, y, 0.01), params[name])
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_loss_matches_the_reference_cross_entropy():
    rng = np.random.default_rng(1)
    params = init_params(4, 7, 3, rng)
    X, y = rng.standard_normal((9, 4)), rng.integers(0, 3, 9)
    loss, _ = loss_and_grads(params, X, y, weight_decay=0.05)
    assert np.isclose(loss, reference_loss(params, X, y, 0.05), rtol=1e-12, atol=0)


def test_huge_logits_give_finite_loss_and_gradients_without_warnings():
    rng = np.random.default_rng(2)
    params = init_params(3, 4, 3, rng)
    params["b2"][:] = [1e4, -1e4, 0.0]
    X, y = rng.standard_normal((5, 3)), np.array([0, 1, 2, 1, 0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is exact enough
        loss, grads = loss_and_grads(params, X, y)
    assert np.isfinite(loss) and loss > 1e3  # rows labelled 1 pay about 2e4 nats
    assert all(np.isfinite(g).all() for g in grads.values())


def test_float32_parameters_stay_float32():
    rng = np.random.default_rng(3)
    params = init_params(4, 5, 3, rng, dtype=np.float32)
    X = rng.standard_normal((6, 4)).astype(np.float32)
    _, grads = loss_and_grads(params, X, rng.integers(0, 3, 6))
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


def test_probabilities_sum_to_one():
    rng = np.random.default_rng(4)
    params = init_params(4, 5, 10, rng)
    proba = predict_proba(params, rng.standard_normal((7, 4)) * 100)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_he_and_glorot_initialisations_have_their_scales():
    rng = np.random.default_rng(5)
    he = init_params(400, 300, 10, rng, init="he")
    glorot = init_params(400, 300, 10, rng, init="glorot")
    assert abs(he["W"].std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)
    limit = np.sqrt(6 / 700)
    assert np.abs(glorot["W"]).max() <= limit and np.abs(glorot["W"]).max() > 0.95 * limit
    assert not he["b1"].any() and not he["b2"].any()


def test_forward_shapes():
    rng = np.random.default_rng(6)
    fwd = forward(init_params(3, 5, 4, rng), rng.standard_normal((2, 3)))
    assert (fwd.z.shape, fwd.h.shape, fwd.theta.shape, fwd.y_hat.shape) == ((2, 5), (2, 5), (2, 4), (2, 4))


def test_loss_and_grads_and_cross_entropy_take_class_indices_or_one_hot_rows_alike():
    from nnapp.core.network import cross_entropy

    rng = np.random.default_rng(6)
    params = init_params(4, 5, 3, rng)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    Y = np.eye(3)[y]
    loss_i, grads_i = loss_and_grads(params, X, y, 0.01)
    loss_y, grads_y = loss_and_grads(params, X, Y, 0.01)
    assert loss_y == pytest.approx(loss_i, rel=1e-14)
    for name in grads_i:
        np.testing.assert_allclose(grads_y[name], grads_i[name], rtol=1e-13, atol=1e-16)
    fwd = forward(params, X)
    assert cross_entropy(fwd, Y) == pytest.approx(cross_entropy(fwd, y), rel=1e-14)
