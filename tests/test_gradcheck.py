"""The gradient check: passes correct gradients, catches a broken one, skips ReLU kinks."""

import numpy as np
import pytest

import nnapp.core.gradcheck as gradcheck
import nnapp.core.network as network
from nnapp.core.gradcheck import FLOOR, check_gradients, relative_error
from nnapp.core.network import init_params


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


def test_a_gradient_off_by_a_tenth_of_a_percent_fails(problem):
    real_backward = network.backward

    def broken_backward(*args, **kwargs):
        grads = real_backward(*args, **kwargs)
        grads["U"] *= 1.001  # in place: training reads its gradient from the `out` buffer
        return grads

    report = check_gradients(*problem, coords=None, objective=network.Objective(backward=broken_backward))
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


def test_sampled_mode_checks_k_coordinates_per_tensor_b2_in_full_and_u_in_every_class_row(problem):
    report = check_gradients(*problem, coords=2, directional=False)
    sizes = {t.name: t.checked + t.kinks for t in report.tensors}
    assert sizes == {"W": 2, "b1": 2, "U": 3, "b2": 3, "x": 2}  # N_c = 3 classes
    assert report.directional is None
    rng = np.random.default_rng(7)
    for coords in (1, 3, 5):
        picked = gradcheck.coordinates("U", (10, 4), coords, rng)
        assert set(picked // 4) == set(range(10)) and len(picked) == max(coords, 10)
        assert len(gradcheck.coordinates("b2", (10,), coords, rng)) == 10


# ----------------------------------------------------------------------------- verdicts that mean it


def test_a_nan_in_the_weights_is_a_failure_never_a_pass(problem):
    params, X, y = problem
    params["U"][1, 2] = np.nan
    report = check_gradients(params, X, y, coords=None)
    assert report.verdict == gradcheck.Verdict.FAIL
    assert report.max_error == np.inf
    assert any(t.nonfinite for t in report.tensors)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_fail_the_check_without_numpy_warnings(problem, value):
    import warnings

    params, X, y = problem
    params["W"][...] = value
    params["U"][...] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from the passes would raise here
        report = check_gradients(params, X, y, coords=None)
    assert report.verdict == gradcheck.Verdict.FAIL


def test_a_nan_in_the_analytic_gradient_alone_is_a_failure(problem):
    real_backward = network.backward

    def nan_backward(*args, **kwargs):
        grads = real_backward(*args, **kwargs)
        grads["b1"][0] = np.nan
        return grads

    report = check_gradients(*problem, coords=None, objective=network.Objective(backward=nan_backward))
    b1 = next(t for t in report.tensors if t.name == "b1")
    assert b1.verdict == "fail" and b1.nonfinite == 1 and b1.worst_index == (0,)
    assert report.verdict == "fail"


def test_relative_error_of_non_finite_values_is_infinite_not_zero():
    assert max(0.0, float("nan")) == 0.0  # why the old maximum read a NaN as a pass
    for bad in (float("nan"), float("inf"), -float("inf")):
        assert relative_error(bad, 1.0) == np.inf and relative_error(1.0, bad) == np.inf
    assert gradcheck.verdict_for(np.inf, 1e-6, 1e-4) == "fail"


def test_round_off_beyond_tol_makes_a_coordinate_unreliable_never_pass_or_fail():
    assert gradcheck.verdict_for(1.0, 1e-6, 1e-4, noise=1e-3) == "unreliable"
    assert gradcheck.verdict_for(1e-9, 1e-6, 1e-4, noise=1e-3) == "unreliable"
    assert gradcheck.verdict_for(1e-9, 1e-6, 1e-4, noise=1e-8) == "pass"
    # the bound grows with the size of the loss and shrinks with eps; in float32 it is 2^29 times larger
    small = gradcheck.roundoff_bound(0.0, 0.0, 2.0, 1e-5)
    assert small < 1e-6 < gradcheck.roundoff_bound(0.0, 0.0, 1e12, 1e-5)
    assert gradcheck.roundoff_bound(0.0, 0.0, 2.0, 1e-5, np.float32) == pytest.approx(small * 2.0**29)


def test_weights_blown_up_by_a_runaway_loss_check_as_unreliable_not_failed(monkeypatch):
    from nnapp.config import config_from_mapping
    from nnapp.data.datasets import load_dataset
    from nnapp.training import start, trainer

    monkeypatch.setattr(trainer, "RUNAWAY_FACTOR", np.inf)  # let it run away, as the old code did
    raw = {
        "data": {"dataset": "iris"},
        "model": {"hidden": 16},
        "optim": {"lr": 3, "momentum": 0.9},
        "train": {"epochs": 31, "batch_size": 16, "early_stopping": {"patience": 0}},
        "gradcheck": {"enabled": False},
    }
    cfg, _ = config_from_mapping(raw)
    data = load_dataset(cfg.data, cfg.seed)
    result = trainer.train(cfg, data)
    assert result.history[-1].train_loss > 1e10
    params = network.views(result.state.flat, *start.dimensions(data, cfg))
    report = start.run_gradcheck(cfg, params, data, np.random.default_rng(0))
    assert report.verdict == "unreliable"
    assert all(t.verdict in ("unreliable", "pass") for t in report.tensors)
    assert sum(t.unresolved for t in report.tensors) > 0


def test_verdicts_are_an_enum_that_files_write_as_the_same_strings():
    import json

    from nnapp.rundir.artifacts import gradcheck_rows
    from nnapp.training.records import GradcheckRecord

    assert [v.value for v in gradcheck.Verdict] == ["pass", "warn", "fail", "unreliable"]
    check = gradcheck.TensorCheck("W", 1, 0, 0.0, (0, 0), "unreliable")  # as read back from a file
    assert check.verdict is gradcheck.Verdict.UNRELIABLE
    report = gradcheck.GradcheckReport([check])
    assert json.dumps({"v": report.verdict}) == '{"v": "unreliable"}'
    assert gradcheck_rows([GradcheckRecord(0, "epoch", report)])[0].verdict == "unreliable"
    assert f"{gradcheck.Verdict.FAIL}" == "fail"


# ------------------------------------------------------------------------------ the training path


def test_the_check_differentiates_the_step_function_training_calls(problem):
    """What the backward pass is given: what a training step gives it."""
    calls = []

    def spy(params, fwd, y, weight_decay, input_grad=True, out=None, y_hat=None):
        capacity = len(fwd.ws.ones.base) if fwd.ws.ones.base is not None else len(fwd.ws.ones)
        calls.append(
            (y.ndim, capacity, len(fwd.X), out is not None and out["W"].base is not None, fwd.X.dtype)
        )
        return network.backward(params, fwd, y, weight_decay, input_grad, out, y_hat)

    params, X, y = problem
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    check_gradients(params32, X, y, batch_rows=16, objective=network.Objective(backward=spy))
    ndim, capacity, rows, views_of_a_buffer, dtype = calls[0]
    assert ndim == 2  # one-hot rows, as training passes them
    assert capacity == 16 > rows  # a short batch in a larger Workspace
    assert views_of_a_buffer and dtype == np.float64  # float32 parameters, checked in float64


def test_a_stale_gradient_buffer_that_the_backward_adds_to_is_a_failure(problem):
    real_backward = network.backward

    def accumulating(params, fwd, y, weight_decay=0.0, input_grad=True, out=None):
        previous = None if out is None else out["U"].copy()
        grads = real_backward(params, fwd, y, weight_decay, input_grad, out)
        if previous is not None:
            grads["U"] += previous  # forgot that `out` holds the last step's gradient
        return grads

    assert check_gradients(*problem, objective=network.Objective(backward=accumulating)).verdict == "fail"


def test_check_rows_hold_every_class_and_samples_is_raised_to_n_c():
    from nnapp.config import config_from_mapping
    from nnapp.data.datasets import load_dataset
    from nnapp.data.preflight import notes
    from nnapp.training.start import gradcheck_rows

    cfg, _ = config_from_mapping({"data": {"dataset": "digits"}, "gradcheck": {"samples": 3}})
    data = load_dataset(cfg.data, cfg.seed)
    rows = gradcheck_rows(cfg, data)
    assert len(rows) == 10 and set(data.y_train[rows]) == set(range(10))
    assert any("gradcheck.samples=3 is fewer than the 10 classes" in n for n in notes(cfg, data))
    cfg, _ = config_from_mapping({"data": {"dataset": "digits"}, "gradcheck": {"samples": 25}})
    rows = gradcheck_rows(cfg, data)
    assert len(rows) == len(set(rows)) == 25 and set(data.y_train[rows]) == set(range(10))
    assert not any("gradcheck.samples" in n for n in notes(cfg, data))


def test_console_and_summary_json_report_the_same_max_error(write_config, tmp_path):
    import json
    import re

    from _shared import TINY
    from typer.testing import CliRunner

    from nnapp.cli.app import app
    from nnapp.rundir.artifacts import read_csv_rows

    result = CliRunner().invoke(
        app, ["train", str(write_config(TINY)), "gradcheck.every=2", "output.plots=false"]
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").glob("*/*")
    summary = json.loads((run_dir / "summary.json").read_text())
    recorded = read_csv_rows(run_dir / "gradcheck.csv")
    over_all_checks = max(float(r["max_error"]) for r in recorded)
    assert summary["gradcheck_max_error"] == over_all_checks
    (shown,) = re.findall(r"checks, max error ([0-9.e+-]+)\)", result.output)
    assert shown == f"{over_all_checks:.1e}"


def test_nothing_judged_is_unreliable_not_pass():
    from nnapp.core.gradcheck import Verdict, worst_verdict

    assert worst_verdict([]) == Verdict.UNRELIABLE


def test_a_row_of_kinks_only_reads_unreliable_and_the_rest_still_decide(write_config):
    """At eps 0.5 (the hostile tester's case) steps cross ReLU kinks: rows that judged nothing
    say so; the report's verdict is the worst of the rows that judged something."""
    from nnapp.config import load_config
    from nnapp.tools.gradcheck_run import check_config

    config = write_config("name: tiny\ndata: {dataset: iris}\nmodel: {hidden: 4}\ntrain: {epochs: 3}\n")
    report = check_config(load_config(config, ["gradcheck.eps=0.5"])).report
    d = report.directional
    assert d is not None and d.kink  # the planted situation: the direction step crosses a kink
    assert d.verdict == "unreliable"
    judged = [t.verdict for t in report.tensors if t.checked or t.unresolved]
    assert judged and report.verdict == max(
        judged, key=lambda v: ["pass", "warn", "unreliable", "fail"].index(v)
    )
    assert all(t.verdict == "unreliable" for t in report.tensors if not (t.checked or t.unresolved))


def test_gradcheck_with_a_tiny_eps_says_eps_is_too_small(write_config):
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    config = write_config("name: tiny\ndata: {dataset: iris}\nmodel: {hidden: 4}\n")
    result = CliRunner().invoke(
        app, ["gradcheck", str(config), "gradcheck.eps=1.0e-300"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    assert "verdict: unreliable" in result.output and "gradcheck.eps too small" in result.output
