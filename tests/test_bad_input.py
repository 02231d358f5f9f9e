"""Bad input, through the CLI: exit code 2, one line naming the file and the key, column or row, no
traceback, and no run directory left behind. One row of the table per distinct mistake."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnapp.errors import ArtifactError, NnappError
from nnapp.rundir.model_file import SavedModel, load_model

GOOD_ROWS = "".join(f"{i % 7},{i % 5}.5,{i % 3},{'pq'[i % 2]}\n" for i in range(40))
GOOD_CSV = "a,b,c,y\n" + GOOD_ROWS
CSV_CONFIG = "name: t\ndata: {dataset: csv, path: '{csv}', target: y}\n"
LINE_LIMIT = 2**20  # nnapp.data.csvfile.MAX_CSV_LINE_CHARS, written out: the test states the documented limit


@dataclass(frozen=True)
class Case:
    id: str
    config: str | bytes | None  # the YAML; '{csv}', '{dir}' stand for paths. None: no file is written
    expect: tuple[str, ...]  # the key, column or row the message must name (besides the file)
    # what the message names: "config", "csv", "dir" (the directory), "fifo", an absolute path or an override
    names: str = "config"
    csv: str | bytes | None = None
    overrides: tuple[str, ...] = ()


def csv_case(id: str, csv: str | bytes, *expect: str) -> Case:
    return Case(id, CSV_CONFIG, expect, names="csv", csv=csv)


def config_case(id: str, text: str, *expect: str) -> Case:
    return Case(id, text, expect)


def override_case(id: str, override: str, *expect: str) -> Case:
    return Case(id, "name: t\n", expect, names=override, overrides=(override,))


CASES = [
    # ---- the config file itself
    config_case("yaml-syntax-error", "name: t\ndata: [\n", "YAML error at line 3, column 1"),
    config_case("yaml-tab-indent", "name: t\n\tdata: 1\n", "line 2, column 1"),
    config_case("duplicate-key", "name: a\nseed: 1\nname: b\n", "duplicate key 'name'", "line 3"),
    config_case(
        "yaml-impossible-date", "name: t\nseed: 2020-13-01\n", "YAML error", "month must be in 1..12"
    ),
    config_case("yaml-bad-float-tag", "optim: {lr: !!float fast}\n", "YAML error", "'fast'"),
    config_case("yaml-list-as-key", "? [1, 2]\n: 3\n", "YAML error", "unhashable"),
    config_case(
        "yaml-python-tag", "name: !!python/object:os.system x\n", "line 1, column 7", "python/object"
    ),
    config_case("top-level-list", "- name: t\n", "must be a mapping", "list"),
    config_case("top-level-scalar", "42\n", "must be a mapping", "int"),
    config_case("empty-file", "", "empty"),
    config_case("comments-only", "# nothing yet\n", "empty"),
    config_case("unknown-top-key", "optimm: {lr: 0.1}\n", "'optimm'", "did you mean 'optim'"),
    config_case(
        "unknown-nested-key",
        "train: {early_stopping: {patiense: 3}}\n",
        "'train.early_stopping.patiense'",
        "did you mean 'train.early_stopping.patience'",
    ),
    config_case("string-for-number", "optim: {lr: fast}\n", "optim.lr must be a number", "'fast'"),
    config_case("list-for-mapping", "optim: [1, 2]\n", "optim must be a mapping"),
    config_case("mapping-for-number", "model: {hidden: {a: 1}}\n", "model.hidden must be an integer"),
    config_case("bool-for-integer", "model: {hidden: yes}\n", "model.hidden must be an integer", "True"),
    config_case("fraction-for-integer", "model: {hidden: 3.5}\n", "model.hidden must be an integer"),
    config_case(
        "spiral-arms-without-points",
        "data: {dataset: spiral, n_samples: 20, centers: 5}\n",
        "data.centers",
        "data.n_samples >= 50",
    ),
    config_case("lr-zero", "optim: {lr: 0}\n", "optim.lr must be > 0"),
    config_case("lr-negative", "optim: {lr: -1e-3}\n", "optim.lr must be > 0"),
    config_case("lr-nan", "optim: {lr: .nan}\n", "optim.lr must be a finite number"),
    config_case("momentum-one", "optim: {momentum: 1}\n", "optim.momentum must be < 1"),
    config_case("momentum-negative", "optim: {momentum: -0.5}\n", "optim.momentum must be >= 0"),
    config_case("epochs-zero", "train: {epochs: 0}\n", "train.epochs must be >= 1"),
    config_case("batch-size-zero", "train: {batch_size: 0}\n", "train.batch_size must be >= 1"),
    config_case("hidden-zero", "model: {hidden: 0}\n", "model.hidden must be >= 1"),
    config_case(
        "splits-sum-to-one", "data: {test_size: 0.5, val_size: 0.5}\n", "data.test_size + data.val_size"
    ),
    config_case("test-size-one", "data: {test_size: 1.0}\n", "data.test_size must be < 1"),
    config_case("gradcheck-eps-zero", "gradcheck: {eps: 0}\n", "gradcheck.eps must be > 0"),
    config_case("gradcheck-tol-above-fail", "gradcheck: {tol: 0.1, fail: 0.01}\n", "gradcheck.tol"),
    config_case("unknown-dataset", "data: {dataset: irsi}\n", "data.dataset", "did you mean 'iris'"),
    config_case("unknown-schedule", "optim: {schedule: cosin}\n", "optim.schedule", "did you mean 'cosine'"),
    config_case("seed-negative", "seed: -1\n", "seed must be >= 0"),
    config_case("seed-too-big", "seed: 99999999999999999999\n", "seed must be <= 4,294,967,295"),
    config_case("name-with-slash", "name: a/b\n", "name must use only"),
    config_case("csv-without-path", "data: {dataset: csv, target: y}\n", "data.path is required"),
    config_case("csv-without-target", "data: {dataset: csv, path: x.csv}\n", "data.target is required"),
    config_case("features-not-a-list", "data: {features: a}\n", "data.features must be a list of strings"),
    config_case("self-referencing-alias", "name: t\nx: &a [*a]\n", "more than 10000 values"),
    Case("config-not-utf8", b"name: \xff\xfe\n", ("cannot read the config", "UnicodeDecodeError")),
    Case("config-missing", None, ("no such config file",)),
    config_case("config-larger-than-1-mib", "name: t\n#" + "x" * 2**20 + "\n", "larger than 1,048,576 bytes"),
    config_case("name-dot-dot", "name: ..\n", "name must not be only dots", "'..'"),
    config_case("name-dot", "name: .\n", "name must not be only dots", "'.'"),
    config_case("name-empty", "name: ''\n", "name must use only"),
    config_case("name-with-nul", 'name: "a\\0b"\n', "name must use only", "\\x00"),
    config_case("name-absurdly-long", "name: " + "a" * 5000 + "\n", "name must be at most 100 characters"),
    config_case("lr-overflows-as-a-string", "optim: {lr: 1e400}\n", "optim.lr must be a finite number"),
    config_case(
        "weight-decay-overflows", "optim: {weight_decay: -1e999}\n", "optim.weight_decay must be a finite"
    ),
    config_case(
        "min-lr-above-lr",
        "optim: {lr: 0.1, min_lr: 0.5, schedule: cosine}\n",
        "optim.min_lr must be <= optim.lr",
    ),
    config_case(
        "invscaling-overflows-over-the-epochs",
        "optim: {schedule: invscaling, power_t: 200}\n",
        "optim.power_t=200 overflows the invscaling schedule over 100 epochs",
    ),
    config_case(
        "noise-overflows-the-data", "data: {dataset: moons, noise: 1.0e308}\n", "data.noise must be <= 1000"
    ),
    config_case("hidden-beyond-any-float", f"model: {{hidden: {10**400}}}\n", "model.hidden=10,000,", "GiB"),
    config_case(
        "epochs-as-huge-integer", f"train: {{epochs: {2**64}}}\n", "train.epochs must be <= 1,000,000"
    ),
    # ---- overrides (the message names the override, which is where the mistake is)
    override_case("override-without-equals", "optim.lr", "expected KEY=VALUE"),
    override_case("override-empty-key", "=0.1", "expected KEY=VALUE"),
    override_case("override-unknown-key", "optim.lrr=0.1", "'optim.lrr'", "did you mean 'optim.lr'"),
    override_case("override-bad-yaml", "optim.lr=[1", "YAML error"),
    override_case("override-out-of-range", "optim.lr=-1", "optim.lr must be > 0"),
    override_case("override-into-a-number", "optim.lr.x=3", "optim.lr must be a number"),
    override_case("override-mapping-with-scalar", "optim=3", "optim must be a mapping"),
    override_case("override-missing-value", "train.epochs=", "train.epochs must be an integer"),
    override_case("override-lr-overflows", "optim.lr=1e400", "optim.lr must be a finite number", "'1e400'"),
    override_case("override-name-dot-dot", "name=..", "name must not be only dots"),
    # ---- the CSV
    Case("csv-missing", CSV_CONFIG, ("no such CSV file",), names="csv"),
    csv_case("csv-empty", "", "the CSV file is empty"),
    csv_case("csv-header-only", "a,b,y\n", "header but no data rows"),
    csv_case("csv-target-missing", GOOD_CSV.replace(",y\n", ",label\n", 1), "data.target column 'y'"),
    csv_case("csv-duplicate-column", "a,a,y\n1,2,p\n", "duplicate column name 'a'"),
    csv_case("csv-empty-column-name", "a,,y\n1,2,p\n", "empty column name"),
    csv_case("csv-ragged-row", "a,y\n1,p\n2\n", "line 3 has 1 cells"),
    csv_case("csv-ragged-row-after-blank-lines", "a,y\n\n1,p\n\n2\n", "line 5 has 1 cells"),
    csv_case(
        "csv-row-of-empty-cells", "a,b,c,y\n0,0.5,0,p\n1,1.5,1,q\n,,,\n" + GOOD_ROWS, "(first at line(s) 4)"
    ),
    csv_case(
        "csv-line-too-long", "a,y\n" + "1" * (LINE_LIMIT + 1) + ",p\n", "line 2 is longer than 1,048,576"
    ),
    csv_case("csv-without-newlines", "a" * (3 * LINE_LIMIT), "line 1 is longer than 1,048,576 characters"),
    Case(
        "csv-is-a-device",
        CSV_CONFIG.replace("{csv}", "/dev/zero"),
        ("a device", "not a regular file"),
        "/dev/zero",
    ),
    Case(
        "csv-is-a-fifo",
        "name: t\ndata: {dataset: csv, path: '{fifo}', target: y}\n",
        ("a FIFO", "not a regular file"),
        "fifo",
    ),
    csv_case(
        "csv-non-numeric-feature",
        GOOD_CSV.replace("\n3,", "\nthree,", 1),
        "line 5, column 'a'",
        "data.categorical",
    ),
    csv_case("csv-infinite-value", GOOD_CSV.replace("\n3,", "\ninf,", 1), "line 5, column 'a'", "not finite"),
    csv_case("csv-missing-value", GOOD_CSV.replace("\n1,1.5,", "\n1,,", 1), "column(s) b", "line(s) 3"),
    csv_case("csv-one-class", GOOD_CSV.replace(",q\n", ",p\n"), "only one class ('p')"),
    csv_case("csv-rare-class", GOOD_CSV + "1,1,1,z\n", "class 'z' has 1 row(s)"),
    csv_case(
        "csv-too-few-rows", "a,y\n1,p\n2,q\n3,p\n4,q\n5,p\n6,q\n", "6 rows are too few", "data.test_size"
    ),
    Case(
        "csv-unknown-feature",
        "name: t\ndata: {dataset: csv, path: '{csv}', target: y, features: [a, nope]}\n",
        ("column 'nope'",),
        names="csv",
        csv=GOOD_CSV,
    ),
    Case(
        "csv-feature-listed-twice",
        "name: t\ndata: {dataset: csv, path: '{csv}', target: y, features: [a, b, a]}\n",
        ("column 'a' is listed twice in data.features",),
        names="csv",
        csv=GOOD_CSV,
    ),
    Case(
        "csv-target-as-feature",
        "name: t\ndata: {dataset: csv, path: '{csv}', target: y, features: [a, y]}\n",
        ("target column 'y' cannot also be a feature",),
        names="csv",
        csv=GOOD_CSV,
    ),
    csv_case(
        "csv-values-overflow-standardization",
        GOOD_CSV.replace("\n0,", "\n1e308,").replace("\n1,", "\n-1e308,"),
        "column(s) 'a' cannot be scaled",
    ),
    csv_case("csv-not-utf8", b"a,y\n\xff,p\n", "cannot read the CSV"),
    Case(
        "csv-all-rows-dropped",
        "name: t\ndata: {dataset: csv, path: '{csv}', target: y, missing: drop}\n",
        ("every row has a missing value",),
        names="csv",
        csv="a,y\n,p\n1,\n",
    ),
    Case(
        "csv-is-a-directory",
        "name: t\ndata: {dataset: csv, path: '{dir}', target: y}\n",
        ("is a directory",),
        "dir",
    ),
    # ---- built-in data and resources
    config_case(
        "builtin-too-few-rows-to-split",
        "data: {dataset: moons, n_samples: 10, test_size: 0.1, val_size: 0.1}\n",
        "(dataset moons)",
        "10 rows are too few",
    ),
    config_case(
        "hidden-too-big-for-memory", "model: {hidden: 1000000000}\n", "model.hidden=1,000,000,000", "GiB"
    ),
    Case(
        "output-dir-is-a-file-after-a-note",  # the note on the batch size must not make it two lines
        "name: t\ntrain: {batch_size: 1000}\noutput: {dir: '{csv}'}\n",
        ("output.dir: cannot create",),
        names="csv",
        csv="not a directory\n",
    ),
    config_case(
        "generated-data-too-big-for-memory",
        "data: {dataset: blobs, n_samples: 10000000, n_features: 100000}\n",
        "data.n_samples, data.n_features",
        "GiB",
    ),
]


def test_every_bad_input_case_has_its_own_name():
    # parametrize would silently suffix a repeated id, and a failure report would name the wrong case
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input_exits_2_with_one_line_naming_file_and_key(case: Case, tmp_path, monkeypatch):
    from nnapp.cli.app import app

    monkeypatch.chdir(tmp_path)  # output.dir defaults to ./runs: it must not appear
    config = tmp_path / "config.yaml"
    csv_path = tmp_path / "data.csv"
    data_dir = tmp_path / "a_directory"
    data_dir.mkdir()
    fifo = tmp_path / "a_fifo"
    os.mkfifo(fifo)  # opening it would block until a writer comes: it must be refused before
    if case.csv is not None:
        csv_path.write_bytes(case.csv if isinstance(case.csv, bytes) else case.csv.encode())
    if case.config is not None:
        text = case.config if isinstance(case.config, bytes) else case.config.encode()
        config.write_bytes(
            text.replace(b"{csv}", str(csv_path).encode())
            .replace(b"{dir}", str(data_dir).encode())
            .replace(b"{fifo}", str(fifo).encode())
        )

    result = CliRunner().invoke(app, ["train", str(config), *case.overrides, "-q"])

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert message.startswith("error: ") and "Traceback" not in result.output
    named = {"config": str(config), "csv": str(csv_path), "dir": str(data_dir), "fifo": str(fifo)}.get(
        case.names, case.names if case.names.startswith("/") else None
    )
    assert (named or f"override {case.names!r}") in message
    for part in case.expect:
        assert part in message
    assert not (tmp_path / "runs").exists()


def _model_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    params = {
        "W": rng.normal(size=(3, 2)),
        "b1": np.zeros(3),
        "U": rng.normal(size=(2, 3)),
        "b2": np.zeros(2),
    }
    path = tmp_path / "model.npz"
    SavedModel(
        params, np.array(["a", "b"]), np.zeros(2), np.ones(2), ["x1", "x2"], [], {}, "0" * 16, "standard"
    ).save(path)
    return path


def test_a_model_written_by_nnapp_loads_back(tmp_path):
    model = load_model(_model_file(tmp_path))
    assert list(model.classes) == ["a", "b"] and model.params["W"].shape == (3, 2)


@pytest.mark.parametrize("damage", ["missing", "truncated", "empty", "text", "foreign", "directory"])
def test_load_model_refuses_a_damaged_or_foreign_file_in_one_line(tmp_path, damage):
    path = _model_file(tmp_path)
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("name: not a model\n")
    elif damage == "foreign":
        np.savez(path, weights=np.ones(3))
    elif damage == "directory":
        path.unlink()
        path = tmp_path  # a directory without model.npz
    with pytest.raises(ArtifactError) as caught:
        load_model(path)
    message = str(caught.value)
    assert isinstance(caught.value, NnappError) and "\n" not in message
    assert str(tmp_path) in message


# ---------------------------------------------------------------- every other command of `nnapp --help`
FLOWERS_HEADER = "sepal_length,sepal_width,petal_length,petal_width,garden"
FLOWER = "5.1,3.5,1.4,0.2,east\n"


@dataclass(frozen=True)
class CommandCase:
    """`nnapp ARGS`: '{run}' is a copy of a trained flowers run, '{tmp}' the test's folder, '{iris}' the
    shipped iris config; `files` are written into '{tmp}' first. The message names `names` (same tokens)."""

    id: str
    args: tuple[str, ...]
    names: str
    expect: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()


def predict_case(id: str, csv: str, *expect: str) -> CommandCase:
    return CommandCase(
        id, ("predict", "{run}", "{tmp}/new.csv"), "{tmp}/new.csv", expect, (("new.csv", csv),)
    )


COMMAND_CASES = [
    # ---- predict: one output row per data row, or one line naming the file's line
    predict_case("predict-row-of-empty-cells", f"{FLOWERS_HEADER}\n{FLOWER}{FLOWER},,,,\n{FLOWER}", "line 4"),
    predict_case(
        "predict-row-of-empty-cells-after-blank-line", f"{FLOWERS_HEADER}\n\n{FLOWER},,,,\n", "line 4"
    ),
    predict_case("predict-ragged-row", f"{FLOWERS_HEADER}\n{FLOWER}5.1,3.5\n", "line 3 has 2 cells"),
    predict_case("predict-non-numeric", f"{FLOWERS_HEADER}\n{FLOWER}5.1,x,1.4,0.2,east\n", "line 3", "'x'"),
    predict_case("predict-unknown-category", f"{FLOWERS_HEADER}\n5.1,3.5,1.4,0.2,mars\n", "line 2", "'mars'"),
    predict_case(
        "predict-values-overflow-the-model",  # the probabilities were NaN and the label the first class
        f"{FLOWERS_HEADER}\n{FLOWER}1e308,1e308,-1e308,1e308,east\n",
        "line 3",
        "overflows",
    ),
    predict_case("predict-missing-column", "sepal_length,garden\n1,east\n", "missing column(s)"),
    predict_case("predict-header-only", f"{FLOWERS_HEADER}\n", "header but no data rows"),
    predict_case(
        "predict-line-too-long", f"{FLOWERS_HEADER}\n{'1' * (LINE_LIMIT + 1)}\n", "line 2 is longer"
    ),
    predict_case("predict-no-newline-at-all", "x" * (2 * LINE_LIMIT), "line 1 is longer"),
    CommandCase("predict-device", ("predict", "{run}", "/dev/zero"), "/dev/zero", ("not a regular file",)),
    CommandCase("predict-fifo", ("predict", "{run}", "{tmp}/fifo"), "{tmp}/fifo", ("a FIFO",)),
    CommandCase(
        "predict-missing-csv", ("predict", "{run}", "{tmp}/nope.csv"), "{tmp}/nope.csv", ("no such",)
    ),
    CommandCase("predict-missing-run", ("predict", "{tmp}/no_run", "{tmp}/x.csv"), "{tmp}/no_run"),
    CommandCase("predict-no-arguments", ("predict",), "predict", ("Missing argument",)),
    # ---- evaluate
    CommandCase("evaluate-unknown-split", ("evaluate", "{run}", "--split", "tset"), "--split", ("'tset'",)),
    CommandCase("evaluate-missing-run", ("evaluate", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase(
        "evaluate-data-unknown-class",
        ("evaluate", "{run}", "--data", "{tmp}/l.csv"),
        "{tmp}/l.csv",
        ("line 3", "'rose'"),
        (("l.csv", f"{FLOWERS_HEADER},species\n{FLOWER[:-1]},setosa\n{FLOWER[:-1]},rose\n"),),
    ),
    CommandCase(
        "evaluate-data-row-of-empty-cells",
        ("evaluate", "{run}", "--data", "{tmp}/l.csv"),
        "{tmp}/l.csv",
        ("line 2",),
        (("l.csv", f"{FLOWERS_HEADER},species\n,,,,,\n"),),
    ),
    CommandCase("evaluate-data-device", ("evaluate", "{run}", "--data", "/dev/zero"), "/dev/zero"),
    # ---- gradcheck, shapes, compare: the config and its overrides
    CommandCase("train-config-is-a-device", ("train", "/dev/zero"), "/dev/zero", ("larger than 1,048,576",)),
    CommandCase(
        "shapes-config-is-a-device", ("shapes", "/dev/zero"), "/dev/zero", ("larger than 1,048,576",)
    ),
    CommandCase("gradcheck-missing-config", ("gradcheck", "{tmp}/no.yaml"), "{tmp}/no.yaml", ("no such",)),
    CommandCase("gradcheck-lr-overflows", ("gradcheck", "{iris}", "optim.lr=1e400"), "optim.lr=1e400"),
    CommandCase("gradcheck-missing-run", ("gradcheck", "{iris}", "--run", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase("shapes-name-dot-dot", ("shapes", "{iris}", "name=.."), "name=..", ("only dots",)),
    CommandCase("shapes-hidden-not-integer", ("shapes", "{iris}", "model.hidden=1e400"), "model.hidden"),
    CommandCase("compare-min-lr-above-lr", ("compare", "{iris}", "optim.min_lr=9"), "optim.min_lr=9"),
    CommandCase(
        "compare-csv-device",
        ("compare", "{iris}", "data.dataset=csv", "data.path=/dev/zero", "data.target=y"),
        "/dev/zero",
    ),
    # ---- sweep
    CommandCase("sweep-jobs-zero", ("sweep", "{iris}", "optim.lr=0.1,1", "--jobs", "0"), "--jobs"),
    CommandCase("sweep-bad-seeds", ("sweep", "{iris}", "--seeds", "a,b"), "--seeds"),
    CommandCase(
        "sweep-power-t-overflows",
        ("sweep", "{iris}", "optim.schedule=invscaling", "optim.power_t=300,1"),
        "power_t",
    ),
    CommandCase("sweep-name-dot-dot", ("sweep", "{iris}", "name=..", "optim.lr=0.1,1"), "name=.."),
    # ---- the teaching lab: saliency, attack, lr-find, explain
    CommandCase("saliency-unknown-split", ("saliency", "{run}", "--split", "tset"), "--split", ("'tset'",)),
    CommandCase("saliency-missing-run", ("saliency", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase("attack-negative-eps", ("attack", "{run}", "--eps", "0,-0.1"), "--eps", ("-0.1",)),
    CommandCase("attack-non-numeric-eps", ("attack", "{run}", "--eps", "0,abc"), "--eps", ("'abc'",)),
    CommandCase("attack-missing-run", ("attack", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase("lr-find-missing-config", ("lr-find", "{tmp}/no.yaml"), "{tmp}/no.yaml", ("no such",)),
    CommandCase("lr-find-lr-overflows", ("lr-find", "{iris}", "optim.lr=1e400"), "optim.lr=1e400"),
    CommandCase("explain-missing-config", ("explain", "{tmp}/no.yaml"), "{tmp}/no.yaml", ("no such",)),
    CommandCase(
        "explain-row-past-the-end", ("explain", "{iris}", "--row", "90"), "--row 90", ("out of range",)
    ),
    CommandCase("explain-missing-run", ("explain", "--run", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase(
        "explain-config-is-a-device", ("explain", "/dev/zero"), "/dev/zero", ("larger than 1,048,576",)
    ),
    # ---- grade: a learner's file, a class folder
    CommandCase("grade-missing-file", ("grade", "{tmp}/nope.py"), "{tmp}/nope.py", ("no such file",)),
    CommandCase("grade-unknown-layout", ("grade", "{tmp}/g.py", "--layout", "rowz"), "--layout", ("'rowz'",)),
    CommandCase("grade-unknown-tensor", ("grade", "{tmp}/g.py", "--tensors", "U,V"), "--tensors", ("'U,V'",)),
    CommandCase("grade-unknown-template", ("grade", "--template", "cs231"), "--template", ("'cs231'",)),
    CommandCase("grade-folder-without-python", ("grade", "{run}"), "{run}", ("no .py file to grade",)),
    CommandCase(
        "grade-python-2",
        ("grade", "{tmp}/old.py"),
        "old.py",
        ("line 2", "Python 2 print statement"),
        (("old.py", 'def gradients(x, y, W, b1, U, b2):\n    print "hi"\n'),),
    ),
    # ---- animate: two-feature or 8x8 image data only
    CommandCase("animate-four-features", ("animate", "{run}"), "{run}", ("cannot animate", "7 features")),
    CommandCase("animate-missing-run", ("animate", "{tmp}/no_run"), "{tmp}/no_run"),
    # ---- export: a format asked for, a run that exists
    CommandCase("export-no-format", ("export", "{run}"), "--tensorboard", ("say which format",)),
    CommandCase("export-missing-run", ("export", "{tmp}/no_run", "--tensorboard"), "{tmp}/no_run"),
    # ---- plot, datasets, the command line itself
    CommandCase("plot-missing-run", ("plot", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase("plot-no-arguments", ("plot",), "plot", ("Missing argument",)),
    CommandCase("report-missing-run", ("report", "{tmp}/no_run"), "{tmp}/no_run"),
    CommandCase("report-no-arguments", ("report",), "report", ("Missing argument",)),
    CommandCase("datasets-extra-argument", ("datasets", "iris"), "datasets", ("unexpected extra argument",)),
    CommandCase("unknown-command", ("trian",), "trian", ("No such command",)),
    CommandCase("unknown-option", ("train", "{iris}", "--quite"), "--quite", ("No such option",)),
]


def test_the_command_table_covers_every_command_of_the_cli():
    from typer.core import TyperGroup
    from typer.main import get_command

    from nnapp.cli.app import app

    group = get_command(app)
    assert isinstance(group, TyperGroup)
    commands = set(group.commands)
    covered = {case.args[0] for case in COMMAND_CASES} | {"train"}  # train: the table above
    assert commands <= covered, commands - covered
    assert len({c.id for c in COMMAND_CASES}) == len(COMMAND_CASES)


def _snapshot(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if not p.is_fifo()}


@pytest.mark.parametrize("case", COMMAND_CASES, ids=[c.id for c in COMMAND_CASES])
def test_every_command_refuses_bad_input_with_one_line_and_writes_nothing(
    case: CommandCase, tmp_path, monkeypatch
):
    from _shared import ROOT, copy_of

    from nnapp.cli.app import app

    monkeypatch.chdir(tmp_path)
    run = copy_of("flowers_csv", tmp_path)  # a private copy: a write into it would show
    os.mkfifo(tmp_path / "fifo")
    for name, text in case.files:
        (tmp_path / name).write_text(text)
    tokens = {"{run}": str(run), "{tmp}": str(tmp_path), "{iris}": str(ROOT / "configs" / "iris.yaml")}

    def fill(text: str) -> str:
        for token, value in tokens.items():
            text = text.replace(token, value)
        return text

    before = _snapshot(tmp_path)
    result = CliRunner().invoke(app, [fill(a) for a in case.args])

    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert fill(case.names) in lines[0]
    for part in case.expect:
        assert part in lines[0]
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched
