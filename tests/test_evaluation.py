"""evaluate: the rebuilt split reproduces the run's numbers; other CSVs go through the saved encoding."""

import csv
import json
from dataclasses import asdict

import numpy as np
import pytest
from _shared import FLOWERS, copy_of, trained

from nnapp.core.network import predict_proba
from nnapp.errors import ChoiceError, NnappError
from nnapp.rundir.runs import load_run, rebuild_dataset
from nnapp.tools.evaluation import evaluate_run


def test_test_split_reproduces_the_runs_summary_exactly():
    run = load_run(trained("iris"))
    evaluation = evaluate_run(run, "test")
    assert evaluation.accuracy == run.summary.test_acc
    assert evaluation.log_loss == run.summary.test_loss
    assert evaluation.n_rows == run.summary.n_test


def test_log_loss_agrees_with_sklearn_on_the_models_probabilities():
    from sklearn.metrics import log_loss

    run = load_run(trained("iris"))
    X, y = rebuild_dataset(run).split("val")
    expected = log_loss(y, predict_proba(run.params, X), labels=[0, 1, 2])
    assert evaluate_run(run, "val").log_loss == pytest.approx(expected, rel=1e-9)


def test_confusion_matrix_counts_true_against_predicted_rows():
    run = load_run(trained("iris"))
    X, y = rebuild_dataset(run).split("train")
    predicted = np.argmax(predict_proba(run.params, X), axis=1)
    counts = np.zeros((3, 3), dtype=int)
    np.add.at(counts, (y, predicted), 1)
    evaluation = evaluate_run(run, "train")
    np.testing.assert_array_equal(evaluation.confusion, counts)
    np.testing.assert_array_equal(evaluation.support, counts.sum(axis=1))


def test_labels_are_the_original_class_names():
    assert evaluate_run(load_run(trained("flowers_csv"))).classes == ["setosa", "versicolor", "virginica"]


def test_scoring_the_whole_training_csv_adds_up_the_three_splits():
    run = load_run(trained("flowers_csv"))
    s = asdict(run.summary)
    evaluation = evaluate_run(run, data_path=FLOWERS)
    correct = sum(s[f"{k}_acc"] * s[f"n_{k}"] for k in ("train", "val", "test"))
    assert evaluation.n_rows == 150
    assert evaluation.accuracy * 150 == pytest.approx(correct)


def test_an_unknown_split_is_an_error():
    with pytest.raises(ChoiceError, match=r"^split must be one of train, val, test") as caught:
        evaluate_run(load_run(trained("iris")), "holdout")
    assert (caught.value.name, caught.value.value) == ("split", "holdout")  # the CLI words it as --split


def test_a_label_the_model_never_saw_is_an_error_naming_row_and_column(tmp_path):
    rows = list(csv.reader(FLOWERS.open()))
    rows[3][-1] = "rose"
    path = tmp_path / "f.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(NnappError, match=r"line 4, column 'species': unknown class 'rose'"):
        evaluate_run(load_run(trained("flowers_csv")), data_path=path)


def test_a_csv_without_the_label_column_cannot_be_scored(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("\n".join(",".join(r[:-1]) for r in csv.reader(FLOWERS.open())) + "\n")
    with pytest.raises(NnappError, match="no label column 'species'"):
        evaluate_run(load_run(trained("flowers_csv")), data_path=path)


def test_data_that_changed_since_training_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    config = (run_dir / "config.yaml").read_text().replace("seed: 0", "seed: 1")
    (run_dir / "config.yaml").write_text(config)
    with pytest.raises(NnappError, match=r"config\.yaml \(dataset iris\): not the data .* was trained on"):
        rebuild_dataset(load_run(run_dir))


def test_a_run_with_no_file_recording_its_data_hash_is_still_checked_by_its_scaler(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / "summary.json").unlink()
    (run_dir / "checkpoint.npz").unlink()  # the two files that record the hash
    assert rebuild_dataset(load_run(run_dir)).name == "iris"  # no hash to compare: the scaler decides
    config = (run_dir / "config.yaml").read_text().replace("seed: 0", "seed: 1")
    (run_dir / "config.yaml").write_text(config)
    with pytest.raises(NnappError, match="no longer matches"):
        rebuild_dataset(load_run(run_dir))


def test_summary_json_is_read_with_the_run_every_field_from_its_key():
    run = load_run(trained("iris"))
    written = json.loads((run.path / "summary.json").read_text())
    assert asdict(run.summary) == {key: written[key] for key in asdict(run.summary)}


def test_a_relative_data_path_is_read_from_the_working_directory(tmp_path, monkeypatch):
    run_dir = copy_of("flowers_csv", tmp_path)
    config = (run_dir / "config.yaml").read_text().replace(str(FLOWERS), "data/flowers.csv")
    (run_dir / "config.yaml").write_text(config)
    monkeypatch.chdir(FLOWERS.parents[1])
    assert evaluate_run(load_run(run_dir)).n_rows == 30
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NnappError, match=r"data\.path 'data/flowers\.csv' not found from"):
        evaluate_run(load_run(run_dir))


def test_a_float32_run_is_scored_in_its_own_precision_like_its_summary(tmp_path):
    from nnapp.config import load_config
    from nnapp.orchestration.experiment import run_experiment

    overrides = ["model.dtype=float32", "train.epochs=2", "output.plots=false", f"output.dir={tmp_path}"]
    run = load_run(
        run_experiment(load_config(FLOWERS.parents[1] / "configs" / "iris.yaml", overrides)).run_dir
    )
    assert run.params["W"].dtype == np.float32
    evaluation = evaluate_run(run, "test")
    assert (evaluation.accuracy, evaluation.log_loss) == (run.summary.test_acc, run.summary.test_loss)
