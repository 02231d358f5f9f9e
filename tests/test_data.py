"""Datasets: built-ins, CSV with string labels and categories, missing values, stratified splits."""

from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from nnapp.config import DataConfig
from nnapp.data.datasets import load_dataset
from nnapp.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


def write_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "d.csv"
    path.write_text(text)
    return str(path)


def flowers(**kwargs) -> DataConfig:
    return DataConfig(
        dataset="csv", path=str(ROOT / "data/flowers.csv"), target="species", categorical=["garden"], **kwargs
    )


def test_csv_string_labels_are_encoded_and_kept_for_display():
    data = load_dataset(flowers(), seed=0)
    assert list(data.classes) == ["setosa", "versicolor", "virginica"]
    assert set(np.unique(data.y_train)) == {0, 1, 2}


def test_categorical_columns_are_one_hot_encoded():
    data = load_dataset(flowers(scaling="none"), seed=0)
    assert data.feature_names[-3:] == ["garden=east", "garden=north", "garden=south"]
    np.testing.assert_array_equal(data.X_train[:, -3:].sum(axis=1), 1.0)


def test_splits_are_stratified_and_sized():
    data = load_dataset(DataConfig(dataset="iris", test_size=0.2, val_size=0.2), seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (90, 30, 30)
    assert np.bincount(data.y_test).tolist() == [10, 10, 10]


def test_scaler_is_fit_on_training_rows_only():
    data = load_dataset(DataConfig(dataset="wine"), seed=0)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1.0, atol=1e-12)
    assert np.abs(data.X_test.mean(axis=0)).max() > 1e-3  # the test rows were not used to fit


def test_the_seed_decides_the_split():
    a = load_dataset(DataConfig(dataset="moons"), seed=0)
    b = load_dataset(DataConfig(dataset="moons"), seed=0)
    c = load_dataset(DataConfig(dataset="moons"), seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


CSV_WITH_GAPS = "a,b,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(30)) + ",1,x\n2,,y\n"


def test_missing_values_are_an_error_naming_rows_columns_and_the_fix(tmp_path):
    path = write_csv(tmp_path, CSV_WITH_GAPS)
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="csv", path=path, target="label"), seed=0)
    message = str(info.value)
    assert "2 row(s) have missing values in column(s) a, b" in message
    assert "line(s) 32, 33" in message and "data.missing: drop" in message


def test_missing_values_can_be_dropped_and_are_counted(tmp_path):
    path = write_csv(tmp_path, CSV_WITH_GAPS)
    data = load_dataset(DataConfig(dataset="csv", path=path, target="label", missing="drop"), seed=0)
    assert data.dropped_rows == 2
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 30


def test_a_non_numeric_feature_names_row_and_column(tmp_path):
    path = write_csv(tmp_path, "a,label\n" + "1,x\n2,y\n" * 10 + "oops,x\n")
    with pytest.raises(DataError, match=r"line 22, column 'a': 'oops' is not a number"):
        load_dataset(DataConfig(dataset="csv", path=path, target="label"), seed=0)


def test_a_missing_target_column_is_named(tmp_path):
    path = write_csv(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"data\.target column 'label' is not in the header"):
        load_dataset(DataConfig(dataset="csv", path=path, target="label"), seed=0)


def test_builtin_datasets_have_their_shapes():
    shapes = {}
    for name in ("iris", "wine", "breast_cancer", "digits"):
        data = load_dataset(DataConfig(dataset=cast(Any, name)), seed=0)
        shapes[name] = (data.n_features, data.n_classes)
    assert shapes == {"iris": (4, 3), "wine": (13, 3), "breast_cancer": (30, 2), "digits": (64, 10)}


def test_a_row_of_empty_cells_is_a_row_of_missing_values_not_skipped(tmp_path):
    path = write_csv(tmp_path, "a,label\n" + "1,x\n2,y\n" * 10 + ",\n")
    with pytest.raises(DataError, match=r"1 row\(s\) have missing values .* \(first at line\(s\) 22\)"):
        load_dataset(DataConfig(dataset="csv", path=path, target="label"), seed=0)
    dropped = load_dataset(DataConfig(dataset="csv", path=path, target="label", missing="drop"), seed=0)
    assert dropped.dropped_rows == 1  # counted, and said in the run's notes


def test_blank_lines_are_skipped_and_messages_count_them_as_file_lines(tmp_path):
    path = write_csv(tmp_path, "\na,label\n\n" + "1,x\n2,y\n" * 10 + "\n  \noops,x\n")
    with pytest.raises(DataError, match=r"line 26, column 'a': 'oops' is not a number"):
        load_dataset(DataConfig(dataset="csv", path=path, target="label"), seed=0)


def test_rows_and_their_file_lines_come_back_in_order(tmp_path):
    from nnapp.data.csvfile import read_csv

    table = read_csv(write_csv(tmp_path, 'a,b\n1,2\n\n,\n"multi\nline",3\n4,5\n'))
    assert table.frame["a"].tolist()[2:] == ["multi\nline", "4"] and table.frame["b"].tolist()[2:] == [3, 5]
    assert table.frame.iloc[1].isna().all()  # a row of empty cells keeps its place
    # a quoted cell over two lines: the row starts on line 5
    assert [table.line_of(row) for row in range(4)] == [2, 4, 5, 7]


def test_a_csv_line_longer_than_the_documented_limit_is_refused_naming_it(tmp_path):
    from nnapp.data.csvfile import MAX_CSV_LINE_CHARS, read_csv

    assert MAX_CSV_LINE_CHARS == 2**20  # docs/csv.md: "a CSV line may hold up to 1,048,576 characters"
    read_csv(write_csv(tmp_path, "a,b\n" + "1" * (2**20 - 3) + ",2\n"))  # exactly the limit with its newline
    with pytest.raises(DataError, match=r"d.csv: line 3 is longer than 1,048,576 characters"):
        read_csv(write_csv(tmp_path, "a,b\n1,2\n" + "1" * (2**20 - 2) + ",2\n"))


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_data_path_that_is_not_a_regular_file_is_refused_before_opening(tmp_path, kind):
    import os

    from nnapp.data.csvfile import read_csv

    path = tmp_path / "pipe.csv" if kind == "fifo" else Path("/dev/zero")
    if kind == "fifo":
        os.mkfifo(path)  # opening a FIFO with no writer would block this test forever
    with pytest.raises(DataError, match=rf"{path}: is a (FIFO|device), not a regular file"):
        read_csv(path)


def test_running_out_of_memory_while_reading_a_csv_is_one_line_naming_the_file(tmp_path):
    from nnapp.data.csvfile import read_csv

    def memory_runs_out(done: int, size: int) -> None:  # called from inside pandas' parser, as it reads
        raise MemoryError

    with pytest.raises(DataError, match=r"d.csv: the CSV does not fit in memory once read .* GiB"):
        read_csv(write_csv(tmp_path, "a,b\n1,2\n"), progress=memory_runs_out)
