"""`import nnapp`: the notebook API, each method checked against an independent computation or the CLI."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _shared import FLOWERS, ROOT, copy_of, trained
from matplotlib.figure import Figure
from typer.testing import CliRunner

import nnapp
from nnapp.cli.app import app
from nnapp.rundir.artifacts import read_csv_rows
from nnapp.tools.notebook import load, override_strings

runner = CliRunner()
IRIS = ROOT / "configs" / "iris.yaml"


def test_import_nnapp_loads_neither_numpy_nor_the_trainer():
    code = (
        "import sys, nnapp; print(sorted(m for m in sys.modules if m in ('numpy', 'nnapp.tools.notebook')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_name_in_all_resolves_and_is_documented():
    for name in nnapp.__all__:
        assert getattr(nnapp, name).__doc__, name
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        getattr(nnapp, "trian")  # noqa: B009


def test_train_writes_the_same_model_npz_as_nnapp_train(tmp_path: Path):
    overrides = ["train.epochs=4", "model.hidden=8", "output.plots=false"]  # pictures change no weight
    cli = runner.invoke(app, ["train", str(IRIS), *overrides, f"output.dir={tmp_path / 'cli'}", "-q"])
    assert cli.exit_code == 0, cli.output
    (cli_run,) = (tmp_path / "cli" / "iris").iterdir()
    api = {"train.epochs": 4, "model.hidden": 8, "output.plots": False, "output.dir": str(tmp_path / "api")}
    run = nnapp.train(IRIS, api)
    assert run.path.parent == tmp_path / "api" / "iris"
    assert (run.path / "model.npz").read_bytes() == (cli_run / "model.npz").read_bytes()


def test_dict_and_list_overrides_give_the_same_config():
    as_dict = load(IRIS, {"optim.lr": 1e-5, "model.hidden": 7, "data.dataset": "wine"}).config
    as_list = load(IRIS, ["optim.lr=1e-5", "model.hidden=7", "data.dataset=wine"]).config
    assert as_dict == as_list
    assert (as_dict.optim.lr, as_dict.model.hidden, as_dict.data.dataset) == (1e-5, 7, "wine")


def test_a_config_object_loads_as_its_file_does():
    from_file = load(IRIS, ["optim.lr=0.2"]).config
    assert load(load(IRIS).config, {"optim.lr": 0.2}).config == from_file


def test_a_bare_string_of_overrides_is_refused():
    with pytest.raises(nnapp.ConfigError, match=r"not the string 'optim\.lr=0\.1'"):
        override_strings("optim.lr=0.1")


def test_a_bad_override_raises_before_anything_is_written(tmp_path: Path):
    with pytest.raises(nnapp.ConfigError, match=r"unknown key 'optim\.lrr'"):
        nnapp.train(IRIS, {"optim.lrr": 0.1, "output.dir": str(tmp_path)})
    assert not any(tmp_path.iterdir())


def test_load_run_of_a_missing_directory_is_one_artifact_error(tmp_path: Path):
    with pytest.raises(nnapp.ArtifactError, match="no such run directory"):
        nnapp.load_run(tmp_path / "nope")


def _iris_raw_test_rows(run: nnapp.Run) -> tuple[np.ndarray, np.ndarray]:
    """The test split in original units: the rows of sklearn's iris whose scaled values the split holds."""
    from sklearn.datasets import load_iris

    from nnapp.rundir.runs import load_run, rebuild_dataset

    X_std, y = rebuild_dataset(load_run(run.path)).split("test")
    model = np.load(run.path / "model.npz")
    raw = X_std * model["scaler_scale"] + model["scaler_mean"]
    iris = load_iris().data
    nearest = np.argmin(((raw[:, None, :] - iris[None, :, :]) ** 2).sum(axis=2), axis=1)
    return iris[nearest], y


def test_predict_proba_is_a_numpy_softmax_of_the_saved_weights_on_raw_rows():
    run = nnapp.load_run(trained("iris"))
    X_raw, _ = _iris_raw_test_rows(run)
    saved = np.load(run.path / "model.npz")
    x = (X_raw - saved["scaler_mean"]) / saved["scaler_scale"]
    logits = np.maximum(x @ saved["W"].T + saved["b1"], 0) @ saved["U"].T + saved["b2"]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(run.predict_proba(X_raw), expected, rtol=1e-12, atol=1e-15)


def test_predict_on_raw_rows_reproduces_the_test_accuracy():
    run = nnapp.load_run(trained("iris"))
    X_raw, y = _iris_raw_test_rows(run)
    labels = run.predict(X_raw)
    assert set(labels) <= set(run.classes)
    assert np.mean(labels == np.asarray(run.classes)[y]) == run.summary.test_acc


def test_predict_on_a_csv_run_gives_nnapp_predicts_labels(tmp_path: Path):
    run = nnapp.load_run(trained("flowers_csv"))
    with FLOWERS.open(newline="") as handle:
        rows = [row[:-1] for row in csv.reader(handle)][1:]  # every column but the species
    out = tmp_path / "predicted.csv"
    cli = runner.invoke(app, ["predict", str(run.path), str(FLOWERS), "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    with out.open(newline="") as handle:
        expected = [row["predicted"] for row in csv.DictReader(handle)]
    assert run.predict(rows).tolist() == expected


def test_one_flat_row_is_one_prediction():
    run = nnapp.load_run(trained("iris"))
    assert run.predict([5.1, 3.5, 1.4, 0.2]).shape == (1,)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[5.1, 3.5]], r"expected rows of 4 values \(sepal length \(cm\), .*got shape \(1, 2\)"),
        ([[5.1, 3.5, "wide", 0.2]], "every value must be a number"),
        ([[5.1, 3.5, 1.4, 0.2], [5.1, np.nan, 1.4, 0.2]], "row 1 holds a value that is not a finite number"),
        ([[1e308, -1e308, 1e308, 1e308]], "row 0: the model's output overflows"),
    ],
)
def test_bad_rows_are_one_data_error(rows: list, message: str):
    with pytest.raises(nnapp.DataError, match=message):
        nnapp.load_run(trained("iris")).predict(rows)


def test_an_unknown_category_is_named():
    run = nnapp.load_run(trained("flowers_csv"))
    with pytest.raises(nnapp.DataError, match="column 'garden': unknown category 'west'"):
        run.predict([[5.1, 3.5, 1.4, 0.2, "west"]])


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_evaluate_gives_nnapp_evaluates_numbers(split: str, tmp_path: Path):
    run = nnapp.load_run(copy_of("iris", tmp_path))  # nnapp evaluate draws confusion_<split>.png into it
    evaluation = run.evaluate(split)
    cli = runner.invoke(app, ["evaluate", str(run.path), "--split", split], terminal_width=200)
    assert cli.exit_code == 0, cli.output
    assert f"accuracy {evaluation.accuracy:.4f} · log loss {evaluation.loss:.4f}" in cli.output
    for c in evaluation.per_class:
        assert f"{c.precision:.4f}" in cli.output and f"{c.recall:.4f}" in cli.output
    assert evaluation.confusion.sum() == evaluation.n_rows == sum(c.support for c in evaluation.per_class)


def test_evaluate_on_the_test_split_is_the_summarys():
    run = nnapp.load_run(trained("iris"))
    evaluation = run.evaluate()
    assert (evaluation.accuracy, evaluation.loss) == (run.summary.test_acc, run.summary.test_loss)
    assert str(evaluation).splitlines()[1].split() == ["class", "precision", "recall", "F1", "support"]


def test_evaluate_an_unknown_split_is_a_choice_error():
    with pytest.raises(nnapp.NnappError, match="split must be one of train, val, test"):
        nnapp.load_run(trained("iris")).evaluate("holdout")


def test_history_is_metrics_csv_one_record_per_epoch():
    run = nnapp.load_run(trained("iris"))
    rows = read_csv_rows(run.path / "metrics.csv")
    assert [r.epoch for r in run.history] == [int(row["epoch"]) for row in rows] == [0, 1, 2, 3]
    assert [r.val_acc for r in run.history] == [float(row["val_acc"]) for row in rows]


def test_pictures_are_figures():
    iris, moons = nnapp.load_run(trained("iris")), nnapp.load_run(trained("moons"))
    assert isinstance(iris.curves(), Figure) and len(iris.curves().axes) == 2
    assert isinstance(iris.gradcheck_plot(), Figure)
    assert isinstance(moons.decision_boundary(), Figure)


def test_decision_regions_of_a_four_feature_run_are_refused():
    with pytest.raises(nnapp.DataError, match=r"need two numeric input features; .* \(iris\) has 4"):
        nnapp.load_run(trained("iris")).decision_boundary()


def test_a_run_without_gradient_checks_has_no_gradcheck_plot(tmp_path: Path):
    run = nnapp.train(
        IRIS, ["train.epochs=1", "gradcheck.enabled=false", "output.plots=false"], run_dir=tmp_path / "r"
    )
    assert run.path == tmp_path / "r"
    with pytest.raises(nnapp.NnappError, match="no gradient checks recorded"):
        run.gradcheck_plot()


def test_saliency_is_nnapp_saliencys_csv(tmp_path: Path):
    run = nnapp.load_run(copy_of("iris", tmp_path))
    cli = runner.invoke(app, ["saliency", str(run.path)])
    assert cli.exit_code == 0, cli.output
    with (run.path / "saliency.csv").open(newline="") as handle:
        written = [float(row["mean_abs_grad"]) for row in csv.DictReader(handle)]
    np.testing.assert_allclose(run.saliency().mean_abs_grad, written, rtol=1e-12)


def test_attack_at_eps_0_is_the_test_accuracy_and_bad_eps_is_one_error():
    run = nnapp.load_run(trained("iris"))
    (point,) = run.attack([0]).points
    assert point.accuracy_fgsm == point.accuracy_random == run.summary.test_acc
    with pytest.raises(nnapp.DataError, match="is negative"):
        run.attack([0, -0.1])
    with pytest.raises(nnapp.ArgumentError, match="'big' is not a number"):
        run.attack(["big"])
