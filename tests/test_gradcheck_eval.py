"""The batched loss evaluation of the gradient check: each moved point's J, round-off scale and kink flag
are what a full forward pass at that point gives, in chunks or not, and the loss it reads is training's."""

import numpy as np
import pytest

import nnapp.core.gradcheck as gradcheck
import nnapp.core.gradcheck_eval as gradcheck_eval
import nnapp.core.network as network
from nnapp.core.gradcheck import check_gradients, one_hot
from nnapp.core.network import PARAM_NAMES, init_params


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    params = init_params(4, 6, 3, rng)
    params["b1"][:] = rng.normal(0, 0.3, 6)
    params["b2"][:] = rng.normal(0, 0.3, 3)
    X = rng.standard_normal((7, 4))
    z = X @ params["W"].T + params["b1"]
    params["b1"][2] -= z[0, 2] - 1e-3  # row 0's unit 2 sits 1e-3 above its kink: moves of 1e-2 cross it
    return params, X, one_hot(rng.integers(0, 3, 7), 3)


def _full_pass(params, X, Y, weight_decay):
    """J, S and the mask z > 0 by a forward pass at one point (the way the check used to evaluate)."""
    fwd = network.forward(params, X)
    penalty = network.l2_penalty(params, weight_decay)
    loss = network.cross_entropy(fwd, Y) + penalty
    terms = np.mean(np.abs(fwd.log_norm)) + np.mean(np.abs(np.einsum("ik,ik->i", Y, fwd.theta)))
    return loss, max(abs(loss), terms + penalty), fwd.z > 0


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_every_moved_point_matches_a_forward_pass_there(problem, weight_decay):
    params, X, Y = problem
    eps = 1e-2  # large enough that some moves cross kinks
    at = gradcheck_eval.point(params, X, Y, weight_decay)
    chosen = {name: np.arange((X if name == "x" else params[name]).size) for name in gradcheck.TENSORS}
    moved = gradcheck_eval.evaluate(at, chosen, eps)
    crossings = 0
    for name, flat in chosen.items():
        for n, flat_index in enumerate(flat):
            sides = []
            for sign in (1, -1):
                p, x = {k: v.copy() for k, v in params.items()}, X.copy()
                tensor = x if name == "x" else p[name]
                tensor.reshape(-1)[flat_index] += sign * eps
                sides.append(_full_pass(p, x, Y, weight_decay))
            (loss_p, scale_p, mask_p), (loss_m, scale_m, mask_m) = sides
            m = moved[name]
            assert m.loss_plus[n] == pytest.approx(loss_p, rel=1e-13, abs=1e-15)
            assert m.loss_minus[n] == pytest.approx(loss_m, rel=1e-13, abs=1e-15)
            assert m.scale_plus[n] == pytest.approx(scale_p, rel=1e-13)
            assert m.scale_minus[n] == pytest.approx(scale_m, rel=1e-13)
            crossed = not (np.array_equal(mask_p, at.mask) and np.array_equal(mask_m, at.mask))
            assert bool(m.crossed[n]) == crossed, (name, flat_index)
            crossings += crossed
    assert crossings > 0  # the kink detection was exercised


def test_chunked_evaluation_gives_the_same_report(problem, monkeypatch):
    params, X, Y = problem
    whole = check_gradients(params, X, Y.argmax(1), 0.1, coords=None, rng=np.random.default_rng(5))
    monkeypatch.setattr(gradcheck_eval, "CHUNK_NUMBERS", 40)  # a few moves per chunk
    chunked = check_gradients(params, X, Y.argmax(1), 0.1, coords=None, rng=np.random.default_rng(5))
    assert chunked == whole


def test_a_loss_that_reads_x_sees_the_moved_rows(problem, monkeypatch):
    """A loss (and its gradient) reading more of the Forward than theta: the check differences it at each
    moved point, so a consistent pair passes and a loss alone, without its gradient, fails."""
    params, X, Y = problem
    real_cross_entropy, real_backward = network.cross_entropy, network.backward

    def cross_entropy(fwd, y):  # + (1/2B) ||X||^2
        return real_cross_entropy(fwd, y) + 0.5 * float(np.vdot(fwd.X, fwd.X)) / len(y)

    def backward(params, fwd, y, weight_decay=0.0, input_grad=True, out=None):
        grads = real_backward(params, fwd, y, weight_decay, input_grad, out)
        if input_grad:
            grads["x"] = grads["x"] + fwd.X / len(y)
        return grads

    monkeypatch.setattr(network, "cross_entropy", cross_entropy)
    report = check_gradients(params, X, Y.argmax(1), coords=None)
    assert next(t for t in report.tensors if t.name == "x").verdict == "fail"
    monkeypatch.setattr(network, "backward", backward)
    report = check_gradients(params, X, Y.argmax(1), coords=None)
    assert report.verdict == "pass", [(t.name, t.verdict, t.max_error) for t in report.tensors]


def test_the_penalty_is_training_s_as_looked_up_at_call_time(problem, monkeypatch):
    params, X, Y = problem
    real_l2 = network.l2_penalty
    at = gradcheck_eval.point(params, X, Y, 0.2)
    chosen = {name: np.arange(params[name].size) for name in PARAM_NAMES}
    right = gradcheck_eval.evaluate(at, chosen, 1e-5)
    monkeypatch.setattr(network, "l2_penalty", lambda p, wd: 3.0 * real_l2(p, wd))
    at = gradcheck_eval.point(params, X, Y, 0.2)
    tripled = gradcheck_eval.evaluate(at, chosen, 1e-5)
    for name in ("W", "U"):  # the penalty's change along W and U is three times as large
        slope_right = (right[name].loss_plus - right[name].loss_minus) / 2e-5
        slope_tripled = (tripled[name].loss_plus - tripled[name].loss_minus) / 2e-5
        decay = 0.2 * params[name].reshape(-1)
        np.testing.assert_allclose(slope_tripled - slope_right, 2 * decay, rtol=1e-5, atol=1e-9)
