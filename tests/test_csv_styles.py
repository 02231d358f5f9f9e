"""Users' CSVs as they come: each export style reads on the first try, with a config of dataset, path,
target and at most categorical: auto, drop, missing and thousands; every problem is named at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnapp.config import DataConfig, load_config
from nnapp.data.datasets import load_dataset, load_table
from nnapp.errors import ConfigError, DataError

N = 60


def people() -> pd.DataFrame:
    """A small table of the kind users have: an id, a name, a date, a category, numbers and a label."""
    rng = np.random.default_rng(0)
    income = rng.integers(1_000, 90_000, N)
    return pd.DataFrame(
        {
            "id": np.arange(1, N + 1),
            "name": [f"person {i}" for i in range(N)],
            "joined": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(N)],
            "dept": np.array(["sales", "it", "hr"])[np.arange(N) % 3],
            "age": rng.integers(20, 65, N),
            "score": np.round(rng.normal(size=N), 3),
            "income": income,
            "left": np.where(income > 45_000, "Yes", "No"),
        }
    )


def csv(tmp_path: Path, **kwargs) -> DataConfig:
    return DataConfig(dataset="csv", path=str(tmp_path / "d.csv"), target="left", **kwargs)


def table(cfg: DataConfig):
    return load_table(cfg, seed=0)


EVERYDAY = {"categorical": "auto", "drop": ["id", "name", "joined"]}


def test_pandas_to_csv_defaults_read_with_the_index_as_row_names(tmp_path):
    people().to_csv(tmp_path / "d.csv")  # pandas writes its index under an empty header cell
    t = table(csv(tmp_path, **EVERYDAY))
    assert t.columns == ["age", "score", "income", "dept"]
    assert t.X.shape == (N, 3 + 3)
    assert any("no header (row names" in note for note in t.notes)


def test_a_semicolon_file_with_decimal_commas_reads_with_data_decimal(tmp_path):
    frame = people()
    frame.to_csv(tmp_path / "d.csv", sep=";", decimal=",", index=False)
    t = table(csv(tmp_path, decimal=",", **EVERYDAY))
    np.testing.assert_array_equal(t.X[:, 1], frame["score"].to_numpy())  # 0,123 read as 0.123


def test_r_write_csv_with_row_names_and_na_reads_with_missing_drop(tmp_path):
    frame = people().drop(columns=["id", "name", "joined"])
    lines = ['"","dept","age","score","income","left"']
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        age = "NA" if i == 5 else str(row.age)
        lines.append(f'"{i}","{row.dept}",{age},{row.score},{row.income},"{row.left}"')
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    t = table(csv(tmp_path, categorical="auto", missing="drop"))
    assert t.dropped_rows == 1 and len(t.y) == N - 1
    assert t.columns == ["age", "score", "income", "dept"]  # the row names are no feature


def test_an_excel_export_with_bom_and_crlf_reads(tmp_path):
    people().to_csv(tmp_path / "d.csv", index=False, lineterminator="\r\n", encoding="utf-8-sig")
    t = table(csv(tmp_path, **EVERYDAY))
    assert t.columns[0] == "age" and t.y[0] in ("Yes", "No")


def test_quoted_thousands_read_as_numbers_with_data_thousands(tmp_path):
    frame = people()[["age", "income", "left"]]
    text = "age,income,left\n" + "".join(f'{a},"{i:,}",{y}\n' for a, i, y in frame.itertuples(index=False))
    (tmp_path / "d.csv").write_text(text)
    t = table(csv(tmp_path, thousands=","))
    np.testing.assert_array_equal(t.X[:, 1], frame["income"].to_numpy())


def test_without_data_thousands_the_message_suggests_it(tmp_path):
    (tmp_path / "d.csv").write_text("age,income,left\n" + '30,"3,504",No\n' * 30)
    with pytest.raises(DataError, match=r"'3,504' looks like a number with a thousands separator: "):
        table(csv(tmp_path))


def test_every_non_numeric_column_is_named_in_one_error_with_the_line_to_paste(tmp_path):
    people().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError) as info:
        table(csv(tmp_path))
    message = str(info.value)
    assert "line 2, column 'name': 'person 0' is not a number" in message
    assert "column 'joined'" in message and "column 'dept'" in message
    assert "data.categorical: [name, joined, dept]" in message
    assert "\n" not in message


def test_categorical_auto_refuses_identifier_columns_by_name_and_suggests_drop(tmp_path):
    people().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"'name', 'joined' identify rows .* data\.drop: \[name, joined\]"):
        table(csv(tmp_path, categorical="auto"))


def test_categorical_auto_refuses_a_column_over_its_documented_limit(tmp_path):
    from nnapp.data.csvtable import AUTO_MAX_CATEGORIES

    assert AUTO_MAX_CATEGORIES == 50  # docs/csv.md: "at most 50 distinct values"
    rows = "".join(f"c{i % 60},{i},{'ab'[i % 2]}\n" for i in range(240))
    (tmp_path / "d.csv").write_text("town,x,left\n" + rows)
    with pytest.raises(DataError, match=r"'town' \(60 values\) have more"):
        table(csv(tmp_path, categorical="auto"))


def test_a_declared_category_with_a_value_per_row_gets_a_note(tmp_path):
    people().to_csv(tmp_path / "d.csv", index=False)
    t = table(csv(tmp_path, categorical=["name", "dept"], drop=["id", "joined"]))
    assert any("'name' (data.categorical) has a different value in nearly every row" in n for n in t.notes)


def test_a_numeric_row_index_column_gets_a_note_and_stays_a_feature(tmp_path):
    people().to_csv(tmp_path / "d.csv", index=False)
    t = table(csv(tmp_path, categorical="auto", drop=["name", "joined"]))
    assert "id" in t.columns
    assert any("column 'id' holds consecutive integers (1 to 60)" in note for note in t.notes)


def test_a_semicolon_file_read_with_a_comma_names_the_likely_separator(tmp_path):
    people().to_csv(tmp_path / "d.csv", sep=";", index=False)
    with pytest.raises(DataError, match=r"one column: is the separator ';'\? \(set data.delimiter: ';'\)"):
        table(csv(tmp_path, delimiter=","))


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_the_separator_is_detected(tmp_path, sep):
    people().to_csv(tmp_path / "d.csv", sep=sep, index=False)
    assert table(csv(tmp_path, **EVERYDAY)).X.shape == (N, 6)


def test_a_csv_not_found_names_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    cfg = DataConfig(dataset="csv", path="data/x.csv", target="y")
    with pytest.raises(DataError) as info:
        load_dataset(cfg, seed=0, base_dir=config_dir)
    assert str(tmp_path / "data/x.csv") in str(info.value)
    assert str(config_dir / "data/x.csv") in str(info.value)


def test_an_empty_header_cell_after_the_first_is_named(tmp_path):
    (tmp_path / "d.csv").write_text("a,,left\n1,2,x\n")
    with pytest.raises(DataError, match=r"empty column name \(column 2\)"):
        table(csv(tmp_path))


def test_a_dropped_column_must_exist(tmp_path):
    people().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"column 'nope' \(data.drop\) is not in the header"):
        table(csv(tmp_path, drop=["nope"]))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.delimiter=ab", "data.delimiter must be one character"),
        ("data.thousands=x", "data.thousands must be one character"),
        ("data.decimal=;", "data.decimal must be one of"),
        ("data.categorical=sometimes", "data.categorical must be a list of strings or one of 'auto'"),
    ],
)
def test_csv_options_are_checked_when_the_config_is_read(tmp_path, override, message):
    path = tmp_path / "c.yaml"
    path.write_text("data: {dataset: csv, path: d.csv, target: y}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path, [override])


def test_thousands_and_decimal_must_differ(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {dataset: csv, path: d.csv, target: y, decimal: ',', thousands: ','}\n")
    with pytest.raises(ConfigError, match=r"data\.thousands and data\.decimal must differ"):
        load_config(path)


# ------------------------------------------------------------------ through the command line, a real run


def train(tmp_path: Path, data: str, *extra: str):
    from nnapp.cli.app import app

    config = tmp_path / "c.yaml"
    config.write_text(
        f"name: t\ndata: {data}\ntrain: {{epochs: 30}}\ngradcheck: {{enabled: false}}\n"
        f"output: {{dir: '{tmp_path / 'runs'}', plots: false}}\n"
    )
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["train", str(config), *extra])
    run_dirs = sorted((tmp_path / "runs" / "t").glob("*"))
    return result, (run_dirs[-1] if run_dirs else None)


def test_a_messy_file_trains_in_one_command_and_predicts_joined_by_key(tmp_path):
    from nnapp.cli.app import app

    people().to_csv(tmp_path / "d.csv", sep=";", decimal=",", index=False)  # no data.decimal needed
    path = tmp_path / "d.csv"
    data = f"{{dataset: csv, path: '{path}', target: left, categorical: auto, drop: [name, joined]}}"
    result, run = train(tmp_path, data)
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert 0 < summary["test_majority_rate"] <= 1 and summary["majority_class"] in ("Yes", "No")
    assert "majority class" in result.stdout
    # predict takes the very file (label and unused columns too), keeping the id to join back
    out = CliRunner().invoke(app, ["predict", str(run), str(tmp_path / "d.csv"), "--keep", "id"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "id,predicted" and lines[1].startswith("1,") and len(lines) == N + 1
    assert "name, joined, left are not model inputs: ignored" not in out.stderr  # the label is not unused
    assert "column(s) name, joined are not model inputs: ignored" in out.stderr


def test_evaluate_scores_the_runs_own_training_file_with_columns_left_out(tmp_path):
    from nnapp.cli.app import app

    people().to_csv(tmp_path / "d.csv", index=False)
    data = f"{{dataset: csv, path: '{tmp_path / 'd.csv'}', target: left, features: [age, score, income]}}"
    result, run = train(tmp_path, data)
    assert result.exit_code == 0, result.output
    out = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["evaluate", str(run), "--data", str(tmp_path / "d.csv")]
    )
    assert out.exit_code == 0, out.output
    from nnapp.rundir.runs import load_run
    from nnapp.tools.evaluation import evaluate_run

    evaluation = evaluate_run(load_run(run), data_path=tmp_path / "d.csv")
    counts = people()["left"].value_counts()
    assert evaluation.n_rows == N and evaluation.majority_rate == counts.max() / N
    assert "id, name, joined, dept are not model inputs: ignored" in out.stderr


def test_with_missing_drop_a_row_with_a_gap_gets_an_empty_prediction_never_a_shifted_row(tmp_path):
    from nnapp.cli.app import app

    frame = people()[["age", "score", "income", "left"]]
    frame.to_csv(tmp_path / "d.csv", index=False)
    result, run = train(
        tmp_path, f"{{dataset: csv, path: '{tmp_path / 'd.csv'}', target: left, missing: drop}}"
    )
    assert result.exit_code == 0, result.output
    gappy = frame.copy().astype(object)
    gappy.loc[1, "score"] = ""
    gappy.to_csv(tmp_path / "new.csv", index=False)
    full = CliRunner().invoke(app, ["predict", str(run), str(tmp_path / "d.csv")]).stdout.splitlines()
    out = CliRunner().invoke(app, ["predict", str(run), str(tmp_path / "new.csv")])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[2] == "" or lines[2] == '""'
    assert lines[:2] == full[:2] and lines[3:] == full[3:]  # every other row keeps its place
    assert "1 row(s) with a missing value given an empty prediction" in out.stderr


def test_a_model_no_better_than_the_majority_class_is_warned_about(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.where(rng.random(300) < 0.9, "No", "Yes")  # labels that have nothing to do with x
    pd.DataFrame({"x": rng.normal(size=300), "left": labels}).to_csv(tmp_path / "d.csv", index=False)
    result, _ = train(tmp_path, f"{{dataset: csv, path: '{tmp_path / 'd.csv'}', target: left}}")
    assert result.exit_code == 0, result.output
    assert "is no better than always answering 'No'" in result.stdout
    assert "imbalanced classes; test recall per class: No " in result.stdout


# ------------------------------------------------------------------ hostile files

PIECES = ["a", "y", "1", "2,5", "NA", "", '"', '""', ",", ";", "\t", "|", "\n", "\r\n", "\r", "\x00",
          "\ufeff", "é", "3,504", "2024-01-02", " ", "inf", "1e400", "-0"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=60), auto=st.booleans())
def test_any_mix_of_separators_quotes_and_odd_bytes_reads_or_is_one_clean_error(
    pieces, auto, tmp_path_factory
):
    path = tmp_path_factory.mktemp("hostile") / "d.csv"
    path.write_text("a,y\n" + "".join(pieces), encoding="utf-8")
    cfg = DataConfig(dataset="csv", path=str(path), target="y", categorical="auto" if auto else [])
    try:
        t = load_table(cfg, seed=0)
    except DataError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc).strip()
    else:
        assert t.X.shape[0] == len(t.y) and np.isfinite(t.X).all()


def test_a_quoted_cell_may_hold_the_separator_and_a_line_end(tmp_path):
    (tmp_path / "d.csv").write_text('note,x,left\n"a, b\nc",1,No\n"d",2,Yes\n' + "e,3,No\nf,4,Yes\n" * 10)
    t = table(csv(tmp_path, drop=["note"]))
    assert t.X[:2, 0].tolist() == [1.0, 2.0]


def test_a_short_row_is_refused_naming_its_line_not_padded(tmp_path):
    (tmp_path / "d.csv").write_text("x,z,left\n1,2,No\n3,4\n")
    with pytest.raises(DataError, match=r"line 3 has 2 cells, the header has 3 columns"):
        table(csv(tmp_path))


def test_a_first_row_longer_than_the_header_is_refused_not_cut(tmp_path):
    (tmp_path / "d.csv").write_text("x,left\n1,No,9\n3,Yes,8\n")
    with pytest.raises(DataError, match=r"line 2 has 3 cells, the header has 2 columns"):
        table(csv(tmp_path))
