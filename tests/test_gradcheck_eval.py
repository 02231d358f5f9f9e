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


def _full_pass(params, X, Y, weight_decay, objective=network.DERIVED):
    """J, S and the mask z > 0 by a forward pass at one point (the way the check used to evaluate)."""
    fwd = network.forward(params, X)
    penalty = objective.l2_penalty(params, weight_decay)
    loss = objective.cross_entropy(fwd, Y) + penalty
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


def test_a_loss_that_reads_x_sees_the_moved_rows(problem):
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

    loss_alone = network.Objective(cross_entropy=cross_entropy)
    report = check_gradients(params, X, Y.argmax(1), coords=None, objective=loss_alone)
    assert next(t for t in report.tensors if t.name == "x").verdict == "fail"
    both = network.Objective(backward=backward, cross_entropy=cross_entropy)
    report = check_gradients(params, X, Y.argmax(1), coords=None, objective=both)
    assert report.verdict == "pass", [(t.name, t.verdict, t.max_error) for t in report.tensors]


def test_the_penalty_is_the_given_objective_s(problem):
    params, X, Y = problem
    at = gradcheck_eval.point(params, X, Y, 0.2)
    chosen = {name: np.arange(params[name].size) for name in PARAM_NAMES}
    right = gradcheck_eval.evaluate(at, chosen, 1e-5)
    tripled_penalty = network.Objective(l2_penalty=lambda p, wd: 3.0 * network.l2_penalty(p, wd))
    at = gradcheck_eval.point(params, X, Y, 0.2, tripled_penalty)
    tripled = gradcheck_eval.evaluate(at, chosen, 1e-5)
    for name in ("W", "U"):  # the penalty's change along W and U is three times as large
        slope_right = (right[name].loss_plus - right[name].loss_minus) / 2e-5
        slope_tripled = (tripled[name].loss_plus - tripled[name].loss_minus) / 2e-5
        decay = 0.2 * params[name].reshape(-1)
        np.testing.assert_allclose(slope_tripled - slope_right, 2 * decay, rtol=1e-5, atol=1e-9)


def _moved_full_pass(params, X, Y, weight_decay, name, flat_index, value, objective):
    """_full_pass at the point with one entry of params[name] (or of X) set to `value`."""
    p, x = {k: v.copy() for k, v in params.items()}, X.copy()
    (x if name == "x" else p[name]).reshape(-1)[flat_index] = value
    return _full_pass(p, x, Y, weight_decay, objective)


def _assert_matches_full_passes(
    params, X, Y, weight_decay, eps, rel, direction=None, chosen=None, objective=network.DERIVED
):
    """Each moved point's J, S and kink flag (of every coordinate, or those `chosen`) against a forward
    pass (+ the objective's l2_penalty) there."""
    at = gradcheck_eval.point(params, X, Y, weight_decay, objective)
    every = {name: np.arange((X if name == "x" else params[name]).size) for name in gradcheck.TENSORS}
    chosen = every if chosen is None else chosen
    moved = gradcheck_eval.evaluate(at, chosen, eps, direction)
    for name, flat in chosen.items():
        tensor = (X if name == "x" else params[name]).reshape(-1)
        for n, flat_index in enumerate(flat):
            m = moved[name]
            sides = [
                _moved_full_pass(
                    params, X, Y, weight_decay, name, flat_index, tensor[flat_index] + e, objective
                )
                for e in (eps, -eps)
            ]
            got = [(m.loss_plus[n], m.scale_plus[n]), (m.loss_minus[n], m.scale_minus[n])]
            for (loss, scale, _), (m_loss, m_scale) in zip(sides, got, strict=True):
                np.testing.assert_allclose(m_loss, loss, rtol=rel, atol=0, err_msg=f"{name}[{flat_index}]")
                np.testing.assert_allclose(m_scale, scale, rtol=rel, atol=0, err_msg=f"{name}[{flat_index}]")
            crossed = not all(np.array_equal(mask, at.mask) for _, _, mask in sides)
            assert bool(m.crossed[n]) == crossed, (name, flat_index)
    if direction is not None:
        sides = [_full_pass({k: params[k] + s * eps * direction[k] for k in PARAM_NAMES}, X, Y, weight_decay,
                            objective) for s in (1, -1)]  # fmt: skip
        m = moved[gradcheck_eval.DIRECTION]
        np.testing.assert_allclose([m.loss_plus[0], m.loss_minus[0]], [s[0] for s in sides], rtol=rel, atol=0)
        assert bool(m.crossed[0]) == any(not np.array_equal(s[2], at.mask) for s in sides)


def _large(problem):
    """W[:, 0] and b1 of order 1e6 (entries where fl(p + 1e-5) - p differs from 1e-5 by up to 6e-11),
    cancelling in z: X[:, 0] = 1 and b1 = -W[:, 0] + a small part. The other entries of W are multiples of
    2^-10 and X small integers, so that z is exact, in a forward pass and moved alike: J is then computed
    from moderate numbers (round-off about 1e-16), while the step's own error moves J by about 1e-11."""
    params, _, Y = problem
    rng = np.random.default_rng(7)
    X = rng.integers(-2, 3, (len(Y), 4)).astype(np.float64)
    X[:, 0] = 1.0
    big = {k: v.copy() for k, v in params.items()}
    big["W"][:] = rng.integers(-512, 512, big["W"].shape) / 1024
    big["W"][:, 0] = rng.uniform(2**19, 2**20, len(big["b1"])) * rng.choice([-1.0, 1.0], len(big["b1"]))
    big["b1"][:] = -big["W"][:, 0] + rng.integers(-512, 512, len(big["b1"])) / 1024
    return big, X, Y


@pytest.mark.parametrize("weight_decay", [0.0, 1e-12])
def test_moves_of_large_entries_are_the_real_float64_steps(problem, weight_decay):
    """At |p| ~ 1e6 and eps = 1e-5, fl(p + eps) - p is not eps: each moved point's J must be a forward pass's
    at fl(p +/- eps) to 1e-13 relative; the nominal step is 2e-12 to 1e-11 off (checked by planting it).
    Only the large entries are moved (and the directional pair): a move of another entry of W or of x
    makes the forward pass's own z inexact (fl(1e6 + 1e-5 x) is 6e-11 off), J by some 1e-12."""
    params, X, Y = _large(problem)
    chosen = {"W": np.arange(0, params["W"].size, params["W"].shape[1]), "b1": np.arange(len(params["b1"]))}
    rng = np.random.default_rng(0)
    u = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    norm = np.sqrt(sum(float(np.vdot(v, v)) for v in u.values()))
    unit = {k: v / norm for k, v in u.items()}
    _assert_matches_full_passes(params, X, Y, weight_decay, 1e-5, 1e-13, unit, chosen)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["W", "b1", "U", "b2"])
def test_non_finite_entries_move_as_a_forward_pass_does(problem, name, value):
    """An entry that is NaN or infinite: fl(p +/- eps) = p, and no inf - inf step or inf - inf change of
    h or theta spreads NaN where a forward pass at the moved point gives a number (or another number)."""
    params, X, Y = problem
    params = {k: v.copy() for k, v in params.items()}
    params[name].reshape(-1)[1] = value
    with np.errstate(all="ignore"):
        _assert_matches_full_passes(params, X, Y, 0.3, 1e-5, 1e-12)


def test_a_penalty_not_summed_over_entries_is_priced_at_each_moved_point(problem):
    """Another l2_penalty (the mean of the squares, over W and U and b1 together) is what each
    moved point's J includes, as a forward pass + that penalty there gives it."""

    def penalty(params, weight_decay):
        squares = np.concatenate([params[k].ravel() ** 2 for k in ("W", "U", "b1")])
        return 0.5 * weight_decay * float(np.mean(squares)) + 0.01 * float(np.sum(params["W"])) ** 2

    params, X, Y = problem
    objective = network.Objective(l2_penalty=penalty)
    _assert_matches_full_passes(params, X, Y, 0.3, 1e-5, 1e-13, objective=objective)


def test_a_check_of_no_coordinates_is_a_report(problem):
    """coords=0 draws no coordinate of W, b1 and x (b2 in full, U one per class): those are reported as
    checked 0 times, as main's check did."""
    params, X, Y = problem
    report = check_gradients(params, X, Y.argmax(1), 0.1, coords=0)
    checked = {t.name: t.checked + t.kinks + t.unresolved for t in report.tensors}
    assert checked == {"W": 0, "b1": 0, "U": 3, "b2": 3, "x": 0}
    assert report.verdict == "pass"
