"""The gradient check: passes correct gradients, catches a broken one, skips ReLU kinks."""

import numpy as np
import pytest

import nnapp.gradcheck as gradcheck
from nnapp.gradcheck import FLOOR, check_gradients, relative_error
from nnapp.network import init_params


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    params = init_params(4, 6, 3, rng)
    X = rng.standard_normal((8, 4))
    y = rng.integers(0, 3, 8)
    return params, X, y


def test_correct_gradients_pass_on_every_tensor(problem):
    report = check_gradients(*problem, weight_decay=0.01, coords=None)
    assert report.verdict == "pass"
    assert [t.name for t in report.tensors] == ["W", "b1", "U", "b2", "x"]
    assert all(
        t.checked + t.kinks == size for t, size in zip(report.tensors, [24, 6, 18, 3, 32], strict=True)
    )
    assert report.directional is not None and report.directional.verdict == "pass"


def test_a_gradient_off_by_a_tenth_of_a_percent_fails(problem, monkeypatch):
    real_backward = gradcheck.backward

    def broken_backward(*args, **kwargs):
        grads = real_backward(*args, **kwargs)
        grads["U"] = grads["U"] * 1.001
        return grads

    monkeypatch.setattr(gradcheck, "backward", broken_backward)
    report = check_gradients(*problem, coords=None)
    by_name = {t.name: t for t in report.tensors}
    assert by_name["U"].verdict == "fail" and by_name["U"].max_error > 1e-4
    assert by_name["W"].verdict == "pass"
    assert report.directional is not None and report.directional.verdict == "fail"
    assert report.verdict == "fail"


def test_a_coordinate_that_crosses_a_relu_kink_is_skipped_not_failed(problem):
    params, X, y = problem
    z = X @ params["W"].T + params["b1"]
    params["b1"][2] -= z[0, 2] - 1e-7  # row 0's unit 2 sits 1e-7 above its kink
    report = check_gradients(params, X, y, eps=1e-5, coords=None)
    b1 = next(t for t in report.tensors if t.name == "b1")
    assert b1.kinks >= 1
    assert b1.checked + b1.kinks == 6
    assert report.verdict == "pass"


def test_the_error_floor_forgives_round_off_on_tiny_entries():
    # 1e-10 of absolute round-off on an entry of 1e-6 is 1e-4 relative: a bare ratio would fail it
    assert abs(1e-6 - (1e-6 + 1e-10)) / 1e-6 > 9e-5
    assert relative_error(1e-6, 1e-6 + 1e-10) == pytest.approx(1e-10 / FLOOR)
    assert relative_error(1e-6, 1e-6 + 1e-10) < 1e-6  # below the default pass tolerance


def test_float32_parameters_are_checked_in_float64():
    rng = np.random.default_rng(1)
    params = init_params(3, 5, 2, rng, dtype=np.float32)
    X = rng.standard_normal((4, 3)).astype(np.float32)
    report = check_gradients(params, X, rng.integers(0, 2, 4), coords=None)
    assert report.verdict == "pass"
    assert params["W"].dtype == np.float32  # the caller's arrays are untouched


def test_sampled_mode_checks_k_coordinates_per_tensor(problem):
    report = check_gradients(*problem, coords=2, directional=False)
    assert all(t.checked + t.kinks == 2 for t in report.tensors)
    assert report.directional is None
