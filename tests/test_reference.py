"""The plain reference path (nnapp.core.reference): its gradients agree with float64 finite differences,
and the fast path and the batched finite differences the gradient check uses agree with it."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nnapp.core.gradcheck_eval as gradcheck_eval
from nnapp.core import network, reference
from nnapp.core.gradcheck import one_hot

TENSORS = ("W", "b1", "U", "b2", "x")

sizes = st.fixed_dictionaries(
    {
        "batch": st.integers(1, 6),
        "d_in": st.integers(1, 5),
        "d_hidden": st.integers(1, 6),  # D_h = 1 included
        "n_classes": st.integers(2, 5),  # N_c = 2 included
        "seed": st.integers(0, 2**32 - 1),
    }
)


def _problem(batch, d_in, d_hidden, n_classes, seed):
    """Random float64 parameters (biases not zero, so the ReLU mask varies), rows and integer labels."""
    rng = np.random.default_rng(seed)
    params = {
        "W": rng.normal(0, 1, (d_hidden, d_in)),
        "b1": rng.normal(0, 0.5, d_hidden),
        "U": rng.normal(0, 1, (n_classes, d_hidden)),
        "b2": rng.normal(0, 0.5, n_classes),
    }
    return params, rng.standard_normal((batch, d_in)), rng.integers(0, n_classes, batch)


def _far_from_kinks(params, X, margin=1e-3):
    """No z within `margin` of 0: a finite difference of step 1e-5 there sees one ReLU branch only."""
    return bool(np.all(np.abs(reference.trace(params, X).z) > margin))


@settings(max_examples=40, deadline=None)
@given(sizes)
def test_reference_gradients_match_centred_differences_in_float64(size):
    params, X, y = _problem(**size)
    assume(_far_from_kinks(params, X))  # a kink within the difference step has no derivative to check
    grads = reference.gradients(params, X, y)
    for name in TENSORS:
        array = X if name == "x" else params[name]
        numeric = reference.numeric_gradient(lambda: reference.loss(params, X, y), array)
        analytic = getattr(grads, name)
        assert analytic.shape == array.shape
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_numeric_gradient_restores_the_array_even_when_f_raises():
    array = np.array([1.0, 2.0])
    calls = []

    def f() -> float:
        calls.append(array.copy())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        reference.numeric_gradient(f, array)
    assert calls[0][0] == 1.0 + 1e-5
    np.testing.assert_array_equal(array, [1.0, 2.0])


def test_loss_is_finite_for_huge_logits():
    params, X, y = _problem(4, 3, 5, 3, seed=1)
    params["U"] *= 1e4
    assert np.isfinite(reference.loss(params, X, y))
    assert all(np.isfinite(getattr(reference.gradients(params, X, y), n)).all() for n in TENSORS)


@settings(max_examples=40, deadline=None)
@given(sizes, st.booleans())
def test_the_fast_workspace_path_equals_the_reference(size, one_hot_labels):
    """step_gradients, as training calls it (a Workspace longer than the batch, out= arrays holding NaN),
    and forward/cross_entropy give the reference's numbers to round-off."""
    params, X, y = _problem(**size)
    d_hidden, n_classes = params["W"].shape[0], params["U"].shape[0]
    ws = network.Workspace.new(len(X) + 1, d_hidden, n_classes)
    out = {name: np.full_like(p, np.nan) for name, p in params.items()}
    labels = one_hot(y, n_classes) if one_hot_labels else y
    fast = network.step_gradients(params, X, labels, 0.0, ws, out, input_grad=True)
    expected = reference.gradients(params, X, y)
    for name in TENSORS:
        np.testing.assert_allclose(fast[name], getattr(expected, name), rtol=1e-12, atol=1e-15, err_msg=name)
    fwd = network.forward(params, X)
    t = reference.trace(params, X)
    for name in ("z", "h", "theta", "y_hat"):
        np.testing.assert_allclose(getattr(fwd, name), getattr(t, name), rtol=1e-12, atol=1e-15, err_msg=name)
    assert network.cross_entropy(fwd, labels) == pytest.approx(reference.loss(params, X, y), rel=1e-13)


@settings(max_examples=25, deadline=None)
@given(sizes)
def test_the_batched_finite_differences_equal_the_references(size):
    """gradcheck_eval's moved-point losses, differenced, are reference.numeric_gradient of reference.loss
    (no weight decay: the reference loss has no penalty) for every coordinate of every tensor."""
    params, X, y = _problem(**size)
    eps = 1e-5
    at = gradcheck_eval.point(params, X, one_hot(y, params["U"].shape[0]), 0.0)
    chosen = {name: np.arange((X if name == "x" else params[name]).size) for name in TENSORS}
    moved = gradcheck_eval.evaluate(at, chosen, eps)
    for name in TENSORS:
        array = X if name == "x" else params[name]
        batched = ((moved[name].loss_plus - moved[name].loss_minus) / (2 * eps)).reshape(array.shape)
        expected = reference.numeric_gradient(lambda: reference.loss(params, X, y), array, eps)
        # the two differ only by the round-off of J (~1e-16) divided by 2 eps
        np.testing.assert_allclose(batched, expected, rtol=0, atol=1e-9, err_msg=name)
