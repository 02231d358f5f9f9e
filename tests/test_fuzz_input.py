"""Properties: whatever config mapping or CSV a user writes, `nnapp train` ends in a run or a clean error.

"Clean" means exit code 2 with one line on stderr and no run directory; a run may complete (0), diverge
(3) or fail its gradient check (4). Never a traceback. Values are drawn so that valid configs stay tiny.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("NNAPP_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RUN_EXIT_CODES = {0, 3, 4}

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)


def either(
    valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any] | None = None
) -> st.SearchStrategy[Any]:
    """Mostly valid values; sometimes out of range or the wrong choice; sometimes anything at all."""
    wrong = invalid if invalid is not None else junk
    # one_of(valid, valid, ...) would not weigh: identical branches are merged, so choose by number
    return st.integers(0, 9).flatmap(lambda k: valid if k < 7 else wrong if k < 9 else junk)


floats = st.floats
SECTIONS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "data": {
        "dataset": either(
            st.sampled_from(["iris", "wine", "moons", "circles", "blobs", "csv"]), st.just("irsi")
        ),
        "path": either(st.just("{csv}"), st.sampled_from(["missing.csv", "{dir}"])),
        "target": either(st.just("y"), st.sampled_from(["a", "nope"])),
        "features": either(st.lists(st.sampled_from(["a", "b"]), unique=True, min_size=1), st.just(["nope"])),
        "categorical": either(st.lists(st.sampled_from(["a", "b"]), max_size=1), st.just(["y"])),
        "missing": either(st.sampled_from(["error", "drop"]), st.just("skip")),
        "test_size": either(floats(0.1, 0.3), floats(-0.5, 1.5)),
        "val_size": either(floats(0.1, 0.3), floats(-0.5, 1.5)),
        "scaling": either(st.sampled_from(["standard", "minmax", "maxabs", "none"]), st.just("z")),
        "n_samples": either(st.integers(30, 120), st.integers(-5, 40) | st.just(10**9)),
        "noise": either(floats(0, 0.5), floats(-1, 0)),
        "n_features": either(st.integers(1, 6), st.integers(-1, 0) | st.just(10**6)),
        "centers": either(st.integers(2, 4), st.integers(0, 1)),
    },
    "model": {
        "hidden": either(st.integers(1, 12), st.integers(-2, 0) | st.just(10**12)),
        "init": either(st.sampled_from(["he", "glorot"]), st.just("xavier")),
        "dtype": either(st.sampled_from(["float64", "float32"]), st.just("float16")),
    },
    "optim": {
        "lr": either(floats(1e-4, 1.0) | st.sampled_from(["1e-3", 1e4]), floats(-1, 0) | st.just("1e400")),
        "momentum": either(floats(0, 0.99), floats(-0.5, 1.5)),
        "nesterov": either(st.booleans()),
        "weight_decay": either(floats(0, 0.1), floats(-1, 0)),
        "schedule": either(
            st.sampled_from(["constant", "step", "cosine", "invscaling", "plateau"]), st.just("cos")
        ),
        "step_every": either(st.integers(1, 3), st.integers(-1, 0)),
        "decay": either(floats(0.1, 0.9), floats(-1, 2)),
        "power_t": either(floats(0.1, 1), floats(-1, 0) | st.just(500.0)),
        "plateau_patience": either(st.integers(1, 3), st.integers(-1, 0)),
        "min_lr": either(floats(0, 1e-3), floats(-1, 0) | floats(2, 10)),
        "clip_norm": either(st.none() | floats(0.1, 10), floats(-1, 0)),
    },
    "train": {
        "epochs": either(st.integers(1, 2), st.integers(-1, 0)),
        "batch_size": either(st.integers(1, 400), st.integers(-1, 0)),
        "shuffle": either(st.booleans()),
        "early_stopping": either(
            st.fixed_dictionaries(
                {},
                optional={
                    "monitor": either(st.sampled_from(["val_loss", "val_acc"]), st.just("loss")),
                    "patience": either(st.integers(0, 3), st.just(-1)),
                    "min_delta": either(floats(0, 0.1), floats(-1, 0)),
                },
            )
        ),
    },
    "gradcheck": {
        "every": either(st.integers(0, 2), st.just(-1)),
        "samples": either(st.integers(1, 4), st.integers(-1, 0)),
        "coords": either(st.integers(1, 3) | st.just("all"), st.integers(-1, 0)),
        "directional": either(st.booleans()),
        "eps": either(floats(1e-7, 1e-3), floats(-1e-3, 0)),
        "tol": either(floats(1e-8, 1e-5), floats(-1, 1)),
        "fail": either(floats(1e-5, 1e-2), floats(-1, 1)),
        "on_fail": either(st.sampled_from(["stop", "warn"]), st.just("ignore")),
        "enabled": either(st.booleans()),
    },
}


@st.composite
def config_mappings(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if draw(st.booleans()):
        raw["name"] = draw(either(st.just("fuzz"), st.sampled_from(["a b", "x/y", "", "..", ".", "a" * 300])))
    if draw(st.booleans()):
        raw["seed"] = draw(either(st.integers(0, 2**32 - 1), st.just(-1) | st.just(2**33)))
    for section, keys in SECTIONS.items():
        if draw(st.integers(0, 4)) == 0:
            continue
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=4))
        raw[section] = {key: draw(keys[key]) for key in chosen}
        if draw(st.integers(0, 29)) == 0:
            raw[section][draw(st.sampled_from(["lrr", "hiden", "epoch", "x"]))] = 1
        if draw(st.integers(0, 29)) == 0:
            raw[section] = draw(junk)
    if draw(st.integers(0, 29)) == 0:
        raw[draw(st.sampled_from(["optimizer", "Data", "extra"]))] = {}
    return raw


def _fill(value: Any, csv_path: Path, directory: Path) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, csv_path, directory) for k, v in value.items()}
    if value == "{csv}":
        return str(csv_path)
    if value == "{dir}":
        return str(directory)
    return value


def _run(config: Path, out_dir: Path) -> tuple[int, str]:
    """`nnapp train` in-process; asserts the properties every outcome must have."""
    from nnapp.cli.app import app

    before = set(out_dir.rglob("*")) if out_dir.exists() else set()
    result = CliRunner().invoke(app, ["train", str(config), "-q"])
    event(f"exit code {result.exit_code}")  # shown by --hypothesis-show-statistics: are runs reached?
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
        after = set(out_dir.rglob("*")) if out_dir.exists() else set()
        assert {p for p in after - before if p.is_file()} == set()  # nothing written
    else:
        assert result.exit_code in RUN_EXIT_CODES, (result.exit_code, result.stderr)
        from nnapp.config import load_config

        # the run is one folder output.dir/<name>/<time stamp>, and its saved config reads back (no .inf)
        (run_dir,) = [p for p in out_dir.glob("*/*") if p.is_dir()]
        load_config(run_dir / "config.yaml")
    return result.exit_code, result.stderr


GOOD_CSV = "a,b,y\n" + "".join(f"{i % 7},{(i * 3) % 5},{'pq'[i % 2]}\n" for i in range(30))


@FUZZ_SETTINGS
@given(raw=config_mappings())
def test_random_config_mappings_end_in_a_run_or_a_clean_error(raw, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cfg")
    csv_path = tmp / "data.csv"
    csv_path.write_text(GOOD_CSV)
    raw = _fill(raw, csv_path, tmp)
    if isinstance(raw.get("output"), dict) or "output" not in raw:
        raw["output"] = {"dir": str(tmp / "runs"), "plots": False}
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    _run(config, tmp / "runs")


TOKENS = ["0", "1", "-2.5", "3e2", "1e308", "-1e308", "nan", "", "?", "NA", "inf", "x", "p", "q", " ", "1,5"]


@st.composite
def csv_texts(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    """A CSV (usually close to valid, then damaged a little), its target column and categorical columns."""
    n_features = draw(st.integers(0, 3))
    header = [*(f"f{i}" for i in range(n_features)), "y"]
    n_classes = draw(st.sampled_from([2, 2, 3, 1]))
    rows = []
    for i in range(draw(st.sampled_from([30, 40, 20, 12, 5, 0]))):
        numbers = [
            str(draw(st.integers(-5, 5) | st.floats(-10, 10, allow_nan=False))) for _ in range(n_features)
        ]
        rows.append([*numbers, "pqr"[i % n_classes]])
    for _ in range(
        draw(st.sampled_from([0, 0, 1, 1, 2, 3]))
    ):  # damage: a token in a cell, a short row, a renamed column
        kind = draw(st.sampled_from(["cell", "cell", "short", "header"]))
        if kind == "cell" and rows:
            row = rows[draw(st.integers(0, len(rows) - 1))]
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(st.sampled_from(TOKENS) | st.text(max_size=3))
        elif kind == "short" and rows and rows[-1]:
            rows[-1].pop()
        elif kind == "header":
            header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(["y", "f0", "", "z"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    categorical = draw(st.lists(st.sampled_from(header), unique=True, max_size=1))
    target = draw(st.sampled_from(["y", "y", "y", "missing", *header]))
    return buffer.getvalue(), target, categorical


@FUZZ_SETTINGS
@given(
    content=csv_texts(),
    missing=st.sampled_from(["error", "drop"]),
    batch_size=st.integers(1, 64),
)
def test_random_csv_contents_end_in_a_run_or_a_clean_error(content, missing, batch_size, tmp_path_factory):
    text, target, categorical = content
    tmp = tmp_path_factory.mktemp("csv")
    csv_path = tmp / "data.csv"
    csv_path.write_text(text)
    data = {"dataset": "csv", "path": str(csv_path), "target": target, "missing": missing}
    if categorical:
        data["categorical"] = categorical
    raw = {
        "name": "fuzz",
        "data": data,
        "model": {"hidden": 4},
        "train": {"epochs": 1, "batch_size": batch_size},
        "gradcheck": {"samples": 2, "coords": 2},
        "output": {"dir": str(tmp / "runs"), "plots": False},
    }
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    code, stderr = _run(config, tmp / "runs")
    if code == 2:
        assert str(csv_path) in stderr or str(config) in stderr  # the message names the file


YAML_TOKENS = [
    *("name:", "optim:", "lr:", "data:", "model:", "hidden:", "seed:", "train:", "epochs:"),
    *(" ", "  ", "\n", "\t", "- ", "[", "]", "{", "}", ",", ":", "? ", "'", '"', "#", "|", ">"),
    *("&a ", "*a", "!!float ", "!!int ", "!!binary ", "!!python/object:os.system ", "!!set ", "!!omap "),
    *(
        "2020-13-01",
        "1e3",
        "1.0e-3",
        ".nan",
        "-.inf",
        "null",
        "~",
        "yes",
        "---",
        "...",
        "%YAML 1.1\n",
        "0x1F",
    ),
]


@FUZZ_SETTINGS
@given(text=st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=3), max_size=25).map("".join))
def test_random_yaml_text_is_a_config_or_a_config_error(text, tmp_path_factory):
    from nnapp.config import load_config
    from nnapp.errors import NnappError

    config = tmp_path_factory.mktemp("yaml") / "config.yaml"
    config.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(config)
    except NnappError as exc:
        assert str(exc).startswith(str(config))


@FUZZ_SETTINGS
@given(
    overrides=st.lists(
        st.lists(st.sampled_from([*YAML_TOKENS, "=", "optim.lr", "."]), max_size=6).map("".join)
    )
)
def test_random_overrides_are_applied_or_refused_with_a_config_error(overrides):
    from nnapp.config import config_from_mapping
    from nnapp.errors import NnappError

    try:
        config_from_mapping({"name": "t"}, "base.yaml", overrides)
    except NnappError as exc:
        assert str(exc).startswith(("override ", "base.yaml"))


PREDICT_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "garden"]
PREDICT_TOKENS = [
    "5.1",
    "0",
    "-2.5",
    "1e308",
    "",
    " ",
    "nan",
    "inf",
    "x",
    "east",
    "south",
    "mars",
    "1,5",
    '"',
]


@st.composite
def predict_csvs(draw: st.DrawFn) -> str:
    """A CSV for the flowers model: valid rows, rows of empty cells, blank lines, damaged cells and rows."""
    header = list(PREDICT_COLUMNS)
    if draw(st.integers(0, 9)) == 0:
        header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(["species", "", "x", "garden"]))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 12))):
        # mostly valid rows and blank lines (which keep the run going), so that outputs get counted too
        kind = draw(st.sampled_from(["row"] * 8 + ["blank"] * 3 + ["empty-cells", "damaged", "short"]))
        if kind == "row":
            numbers = [str(draw(st.floats(-10, 10, allow_nan=False))) for _ in range(4)]
            lines.append(",".join([*numbers, draw(st.sampled_from(["east", "south", "north"]))]))
        elif kind == "empty-cells":
            lines.append("," * (len(header) - 1))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
        elif kind == "damaged":
            cells = ["5.1", "3.5", "1.4", "0.2", "east"]
            cells[draw(st.integers(0, 4))] = draw(st.sampled_from(PREDICT_TOKENS) | st.text(max_size=3))
            lines.append(",".join(cells))
        else:
            lines.append("5.1,3.5")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


@FUZZ_SETTINGS
@given(text=predict_csvs())
def test_predict_gives_one_row_per_data_row_in_order_or_one_line_naming_the_file(text, tmp_path_factory):
    from _shared import trained

    from nnapp.cli.app import app

    path = tmp_path_factory.mktemp("predict") / "new.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    result = CliRunner().invoke(app, ["predict", str(trained("flowers_csv")), str(path), "--proba"])
    event(f"exit code {result.exit_code}")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith(f"error: {path}"), result.stderr
        return
    assert result.exit_code == 0, result.output
    # an independent count of the data rows: every record after the header that is not a blank line
    records = list(csv.reader(io.StringIO(text, newline="")))
    records = records[next(i for i, r in enumerate(records) if any(c.strip() for c in r)) + 1 :]
    data_rows = [r for r in records if r and not (len(r) == 1 and not r[0].strip())]
    predicted = list(csv.reader(io.StringIO(result.stdout)))
    assert predicted[0][0] == "predicted" and len(predicted) - 1 == len(data_rows)
    for row in predicted[1:]:  # a NaN probability would make the label meaningless
        assert abs(sum(float(p) for p in row[1:]) - 1) < 1e-9
    # in order: each row predicted alone gives the label at its position
    header = ",".join(PREDICT_COLUMNS)
    for position in {0, len(data_rows) - 1}:
        alone = path.with_name("alone.csv")
        alone.write_text(header + "\n" + ",".join(data_rows[position]) + "\n")
        single = CliRunner().invoke(app, ["predict", str(trained("flowers_csv")), str(alone)])
        assert single.exit_code == 0 and single.stdout.splitlines()[1] == predicted[position + 1][0]
