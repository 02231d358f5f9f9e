"""saliency: dJ_i/dx_i from the derived delta2 W agrees with float64 finite differences of the loss in x."""

import csv
import io

import numpy as np
import pytest
from _shared import FLOWERS, ROOT, copy_of, copy_of_full, trained, trained_full
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.lab.saliency import image_side, per_example_input_gradients, saliency
from nnapp.rundir.runs import load_run, rebuild_dataset

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
H = 1e-5


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env=WIDE)


def example_loss(params, x, label):
    """J_i = -log softmax(U relu(W x + b1) + b2)[label] for one example, written out independently."""
    h = np.maximum(params["W"] @ x + params["b1"], 0.0)
    theta = params["U"] @ h + params["b2"]
    top = theta.max()
    return float(top + np.log(np.exp(theta - top).sum()) - theta[label])


def finite_difference_gradients(params, X, y):
    """Central differences of each example's own loss in each of its inputs, float64, (B, D_x)."""
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    grads = np.empty(X.shape)
    for i, (x, label) in enumerate(zip(X.astype(np.float64), y, strict=True)):
        for j in range(len(x)):
            up, down = x.copy(), x.copy()
            up[j] += H
            down[j] -= H
            grads[i, j] = (example_loss(params, up, label) - example_loss(params, down, label)) / (2 * H)
    return grads


def assert_close_to_finite_differences(analytic, numeric):
    # |error| / max(|g|, floor): finite differences have a noise floor near 1e-10 (see the developers' notes)
    error = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-6)
    assert error.max() < 1e-5


def test_per_example_input_gradient_is_b_times_a_row_of_the_mean_loss_gradient_and_matches_fd():
    run = load_run(trained("iris"))
    X, y = rebuild_dataset(run).split("test")
    assert_close_to_finite_differences(
        per_example_input_gradients(run.params, X, y), finite_difference_gradients(run.params, X, y)
    )


def test_mean_abs_grad_per_feature_and_per_class_match_finite_differences():
    run = load_run(trained("iris"))
    X, y = rebuild_dataset(run).split("test")
    numeric = np.abs(finite_difference_gradients(run.params, X, y))
    result = saliency(run, "test")
    assert_close_to_finite_differences(result.mean_abs_grad, numeric.mean(axis=0))
    for k in range(3):
        assert_close_to_finite_differences(result.per_class[k], numeric[y == k].mean(axis=0))
    np.testing.assert_array_equal(result.class_rows, np.bincount(y, minlength=3))


def test_original_units_are_finite_differences_in_the_raw_feature():
    """Step the raw input, standardize it with the run's scaler: dJ/dx_raw = dJ/dx_std / scale."""
    run = load_run(trained("iris"))
    X, y = rebuild_dataset(run).split("test")
    mean, scale = run.model.scaler_mean, run.model.scaler_scale
    params = {k: np.asarray(v, dtype=np.float64) for k, v in run.params.items()}
    raw = X * scale + mean
    numeric = np.empty(X.shape)
    for i in range(len(raw)):
        for j in range(raw.shape[1]):
            up, down = raw[i].copy(), raw[i].copy()
            up[j] += H
            down[j] -= H
            numeric[i, j] = (
                example_loss(params, (up - mean) / scale, y[i])
                - example_loss(params, (down - mean) / scale, y[i])
            ) / (2 * H)
    assert_close_to_finite_differences(saliency(run).mean_abs_grad_original, np.abs(numeric).mean(axis=0))


def test_image_side_recognises_row_major_pixel_features_only():
    assert image_side([f"pixel_{r}_{c}" for r in range(8) for c in range(8)]) == 8
    assert image_side([f"pixel_{c}_{r}" for r in range(8) for c in range(8)]) is None  # column-major
    assert image_side(["sepal length", "sepal width", "petal length", "petal width"]) is None


def test_cli_writes_one_csv_row_per_feature_with_a_column_per_class(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    result = invoke("saliency", run_dir)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((run_dir / "saliency.csv").read_text())))
    assert list(rows[0]) == [
        "feature",
        "mean_abs_grad",
        "mean_abs_grad_original",
        "class_setosa",
        "class_versicolor",
        "class_virginica",
    ]
    expected = saliency(load_run(run_dir))
    assert [r["feature"] for r in rows] == expected.feature_names
    assert [float(r["mean_abs_grad"]) for r in rows] == expected.mean_abs_grad.tolist()
    assert (run_dir / "saliency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_on_digits_draws_maps_and_another_split_gets_its_own_files(tmp_path):
    run_dir = copy_of_full("digits", tmp_path)
    assert invoke("saliency", run_dir, "--split", "val").exit_code == 0
    assert (run_dir / "saliency_val.csv").exists() and (run_dir / "saliency_val.png").exists()
    assert not (run_dir / "saliency.csv").exists()
    assert image_side(saliency(load_run(trained_full("digits"))).feature_names) == 8


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.output


def test_an_unknown_split_is_exit_2_in_one_line_and_writes_nothing(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    assert_one_line_error(invoke("saliency", run_dir, "--split", "holdout"), "--split must be one of")
    assert not list(run_dir.glob("saliency*"))


def test_a_missing_run_directory_is_exit_2_in_one_line(tmp_path):
    assert_one_line_error(invoke("saliency", tmp_path / "nope"), "no such run directory")


@pytest.fixture
def csv_run(tmp_path):
    """A run trained on a private copy of flowers.csv (so that the test can change or delete it)."""
    from nnapp.config import load_config
    from nnapp.orchestration.experiment import run_experiment

    data = tmp_path / "flowers.csv"
    data.write_text(FLOWERS.read_text())
    overrides = [
        "train.epochs=3",
        f"data.path={data}",
        "output.plots=false",
        f"output.dir={tmp_path / 'runs'}",
    ]
    run_dir = run_experiment(load_config(ROOT / "configs" / "flowers_csv.yaml", overrides)).run_dir
    return run_dir, data


def test_changed_training_data_is_refused_as_evaluate_refuses_it(csv_run):
    run_dir, data = csv_run
    lines = data.read_text().splitlines()
    data.write_text("\n".join([lines[0], *lines[1:-5]]) + "\n")  # five rows fewer
    assert_one_line_error(invoke("saliency", run_dir), "not the data")
    assert not list(run_dir.glob("saliency*"))


def test_a_run_whose_data_is_gone_has_no_test_split_to_explain_exit_2(csv_run):
    run_dir, data = csv_run
    data.unlink()
    assert_one_line_error(invoke("saliency", run_dir), "not found")
    assert_one_line_error(invoke("attack", run_dir), "not found")
