"""predict: new rows through the saved encoding and scaler; every bad input is a one-line error."""

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from _shared import FLOWERS, trained

from nnapp.errors import NnappError
from nnapp.rundir.runs import load_run
from nnapp.tools.evaluation import predict_csv

HEADER = "sepal_length,sepal_width,petal_length,petal_width,garden"


def reference_proba(model, path: Path) -> np.ndarray:
    """Independent of nnapp: read the CSV, one-hot 'garden', scale, forward pass, softmax."""
    rows = list(csv.DictReader(path.open()))
    gardens = model.categories["garden"]
    X = np.array(
        [
            [float(r[c]) for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")]
            + [1.0 if r["garden"] == g else 0.0 for g in gardens]
            for r in rows
        ]
    )
    W, b1, U, b2 = (model.params[name] for name in ("W", "b1", "U", "b2"))
    X = (X - model.scaler_mean) / model.scaler_scale
    theta = np.maximum(X @ W.T + b1, 0) @ U.T + b2
    e = np.exp(theta - theta.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "input.csv"
    path.write_text(text)
    return path


def test_probabilities_match_an_independent_forward_pass():
    run = load_run(trained("flowers_csv"))
    predictions = predict_csv(run, FLOWERS)
    np.testing.assert_allclose(predictions.proba, reference_proba(run.model, FLOWERS), rtol=1e-12, atol=1e-15)


def test_labels_are_original_values_in_input_order():
    run = load_run(trained("flowers_csv"))
    predictions = predict_csv(run, FLOWERS)
    expected = [run.model.classes[k] for k in reference_proba(run.model, FLOWERS).argmax(axis=1)]
    assert predictions.labels == expected
    assert len(predictions.labels) == 150


def test_csv_has_a_probability_column_per_class_summing_to_one():
    text = predict_csv(load_run(trained("flowers_csv")), FLOWERS).csv(with_proba=True)
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == ["predicted", "proba_setosa", "proba_versicolor", "proba_virginica"]
    assert all(abs(sum(float(v) for k, v in r.items() if k != "predicted") - 1) < 1e-12 for r in rows)


def test_the_label_column_may_be_present_and_is_ignored(tmp_path):
    run = load_run(trained("flowers_csv"))
    without = write(tmp_path, f"{HEADER}\n5.1,3.5,1.4,0.2,east\n")
    with_label = tmp_path / "labelled.csv"
    with_label.write_text(f"{HEADER},species\n5.1,3.5,1.4,0.2,east,virginica\n")
    np.testing.assert_array_equal(predict_csv(run, without).proba, predict_csv(run, with_label).proba)


def test_columns_the_model_does_not_use_are_ignored_and_named_in_a_note(tmp_path):
    run = load_run(trained("flowers_csv"))
    plain = predict_csv(run, write(tmp_path, f"{HEADER}\n5.1,3.5,1.4,0.2,east\n"))
    wider = tmp_path / "wider.csv"
    wider.write_text(f"id,{HEADER},colour\n7,5.1,3.5,1.4,0.2,east,red\n")
    predictions = predict_csv(run, wider)
    np.testing.assert_array_equal(predictions.proba, plain.proba)
    assert predictions.notes == [f"{wider}: column(s) id, colour are not model inputs: ignored"]


def test_keep_copies_columns_as_written_in_front_of_the_predictions(tmp_path):
    path = tmp_path / "keyed.csv"
    path.write_text(f"id,{HEADER},when\n007,5.1,3.5,1.4,0.2,east,2024-01-02\n008,6.7,3.0,5.2,2.3,north,\n")
    text = predict_csv(load_run(trained("flowers_csv")), path, keep=["id", "when"]).csv()
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["id", "when", "predicted"]
    assert [row[:2] for row in rows[1:]] == [["007", "2024-01-02"], ["008", ""]]


def test_keep_names_a_column_the_file_lacks(tmp_path):
    path = write(tmp_path, f"{HEADER}\n5.1,3.5,1.4,0.2,east\n")
    with pytest.raises(NnappError, match=r"input\.csv: missing column\(s\) 'id' \(--keep\)"):
        predict_csv(load_run(trained("flowers_csv")), path, keep=["id"])


def test_builtin_runs_take_their_feature_names_as_columns(tmp_path):
    run = load_run(trained("moons"))
    assert predict_csv(run, write(tmp_path, "x1,x2\n0.0,0.5\n1.0,-0.5\n")).labels[0] in ("0", "1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sepal_length,sepal_width,petal_length,garden\n1,2,3,east\n", "missing column(s) 'petal_width'"),
        (f"{HEADER}\n1,2,3,4,east\n1,two,3,4,east\n", "line 3, column 'sepal_width': 'two' is not a number"),
        (f"{HEADER}\n1,2,,4,east\n", "line 2, column 'petal_length': missing value"),
        (f"{HEADER}\n1,2,3,4,mars\n", "line 2, column 'garden': unknown category 'mars'"),
        ("", "the CSV file is empty"),
        (f"{HEADER}\n", "a header but no data rows"),
        (f"{HEADER}\n1,2,3\n", "line 2 has 3 cells"),
    ],
)
def test_bad_input_is_an_error_naming_file_column_and_row(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(NnappError, match=r"input\.csv: .*" + re.escape(message)):
        predict_csv(load_run(trained("flowers_csv")), path)
