"""Hostile input on the newer surfaces: the notebook API, the lab commands, sweep addresses and values,
signals and streams. Each row: the exception type or exit code, one line naming what is wrong, nothing
written anywhere, and the caller's own values unchanged. One row per distinct mistake."""

from __future__ import annotations

import os
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _shared import ROOT, copy_of
from typer.testing import CliRunner

import nnapp
from nnapp.errors import ArgumentError, ArtifactError, ChoiceError, ConfigError, DataError, NnappError

IRIS = ROOT / "configs" / "iris.yaml"
WINE = ROOT / "configs" / "wine.yaml"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def _snapshot(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


# ---------------------------------------------------------------- the notebook API
@dataclass(frozen=True)
class ApiCase:
    """`call(iris run, flowers run, tmp folder, *args)` must raise `error` with `expect` in its one line.
    `args` are the caller's values: pickled before and after, they must not change."""

    id: str
    call: Callable[..., Any]
    args: tuple[Any, ...]
    error: type[NnappError]
    expect: str


def api(id: str, call: Callable[..., Any], error: type[NnappError], expect: str, *args: Any) -> ApiCase:
    return ApiCase(id, call, args, error, expect)


def _train(*args: Any, **kwargs: Any) -> Any:
    return lambda iris, flowers, tmp: nnapp.train(*args, **kwargs)


API_CASES = [
    # ---- load_run: paths
    api("load-run-none", lambda i, f, t: nnapp.load_run(None), ArgumentError, "path: expected a path"),
    api("load-run-number", lambda i, f, t: nnapp.load_run(5), ArgumentError, "got int"),
    api("load-run-bytes", lambda i, f, t, p: nnapp.load_run(p), ArgumentError, "got bytes", b"/tmp"),
    api("load-run-empty-string", lambda i, f, t: nnapp.load_run(""), ArgumentError, "the empty string"),
    api("load-run-nul", lambda i, f, t: nnapp.load_run("run\0dir"), ArgumentError, "NUL character"),
    api("load-run-list", lambda i, f, t, p: nnapp.load_run(p), ArgumentError, "got list", ["a", "b"]),
    api("load-run-a-config-file", lambda i, f, t: nnapp.load_run(IRIS), ArtifactError, "not a directory"),
    api("run-made-from-a-path", lambda i, f, t: nnapp.Run(str(i.path)), ArgumentError, "nnapp.load_run"),
    # ---- train: config, overrides, run_dir
    api("train-overrides-a-number", lambda i, f, t: nnapp.train(IRIS, 5), ConfigError, "not int"),
    api("train-overrides-bytes", lambda i, f, t: nnapp.train(IRIS, b"x=1"), ConfigError, "not bytes"),
    api(
        "train-overrides-a-string", lambda i, f, t: nnapp.train(IRIS, "seed=1"), ConfigError, "not the string"
    ),
    api("train-config-none", lambda i, f, t: nnapp.train(None), ConfigError, "not NoneType"),
    api("train-config-a-number", lambda i, f, t: nnapp.train(3.5), ConfigError, "not float"),
    api(
        "train-config-object-holding-an-object",
        lambda i, f, t: nnapp.train(replace(i.config, name=object())),
        ConfigError,
        "holds object, which is not a config value",
    ),
    api("train-config-a-directory", lambda i, f, t: nnapp.train(t), ConfigError, "is a directory"),
    api(
        "train-override-key-not-a-string",
        lambda i, f, t, o: nnapp.train(IRIS, o),
        ConfigError,
        "key 1 is not a dotted string",
        {1: 2},
    ),
    api(
        "train-override-value-an-object",
        lambda i, f, t, o: nnapp.train(IRIS, o),
        ConfigError,
        "optim.lr: type is not a config value",
        {"optim.lr": object},
    ),
    api(
        "train-override-list-holds-a-number",
        lambda i, f, t, o: nnapp.train(IRIS, o),
        ConfigError,
        "3 is not a 'key=value' string",
        ["seed=1", 3],
    ),
    api("train-run-dir-a-number", lambda i, f, t: nnapp.train(IRIS, run_dir=7), ArgumentError, "run_dir"),
    api(
        "train-run-dir-inside-a-run",
        lambda i, f, t: nnapp.train(IRIS, run_dir=i.path / "inner"),
        ArtifactError,
        "is inside the run directory",
    ),
    api(
        "train-run-dir-a-run-of-another-dataset",
        lambda i, f, t: nnapp.train(WINE, run_dir=i.path),
        ArtifactError,
        "holds a run of a different config (dataset iris)",
    ),
    api(
        "train-run-dir-a-run-with-other-settings",
        lambda i, f, t: nnapp.train(IRIS, {"optim.lr": 0.7}, run_dir=i.path),
        ArtifactError,
        "dataset iris with other settings",
    ),
    api(
        "train-run-dir-a-file",
        lambda i, f, t: nnapp.train(IRIS, run_dir=i.path / "model.npz"),
        ArtifactError,
        "exists and is not a directory",
    ),
    # ---- predict / predict_proba: rows
    api(
        "predict-ragged-rows",
        lambda i, f, t, x: i.predict(x),
        DataError,
        "row 1 has 2 values",
        [IRIS_ROW, [1, 2]],
    ),
    api(
        "predict-proba-ragged-rows",
        lambda i, f, t, x: i.predict_proba(x),
        DataError,
        "row 0 has 3 values",
        [[1, 2, 3], IRIS_ROW],
    ),
    api("predict-complex-value", lambda i, f, t, x: i.predict(x), DataError, "complex", [[1j, 2, 3, 4]]),
    api(
        "predict-complex-array",
        lambda i, f, t, x: i.predict(x),
        DataError,
        "complex",
        np.array([[1 + 0j, 2, 3, 4]]),
    ),
    api(
        "predict-int-beyond-float",
        lambda i, f, t, x: i.predict(x),
        DataError,
        "too large",
        [[10**400, 2, 3, 4]],
    ),
    api(
        "predict-list-in-a-cell",
        lambda i, f, t, x: i.predict(x),
        DataError,
        "list is not a value",
        [[[1], 2, 3, 4]],
    ),
    api(
        "predict-none-in-a-cell",
        lambda i, f, t, x: i.predict(x),
        DataError,
        "None is not a value",
        [[None, 2, 3, 4]],
    ),
    api("predict-a-string", lambda i, f, t: i.predict("5.1,3.5,1.4,0.2"), DataError, "got str"),
    api("predict-a-dict", lambda i, f, t, x: i.predict(x), DataError, "got dict", {"a": 1}),
    api("predict-none", lambda i, f, t: i.predict(None), DataError, "got None"),
    api("predict-a-generator", lambda i, f, t: i.predict(r for r in [IRIS_ROW]), DataError, "got generator"),
    api(
        "predict-a-masked-value",
        lambda i, f, t, x: i.predict(x),
        DataError,
        "row 1 holds a masked (missing) value",
        np.ma.masked_array([IRIS_ROW, IRIS_ROW], mask=[[0, 0, 0, 0], [0, 1, 0, 0]]),
    ),
    api(
        "predict-3d-array", lambda i, f, t, x: i.predict(x), DataError, "shape (1, 2, 4)", np.zeros((1, 2, 4))
    ),
    api(
        "predict-csv-run-ragged-rows",
        lambda i, f, t, x: f.predict(x),
        DataError,
        "row 1 has 1 values",
        [[5.1, 3.5, 1.4, 0.2, "east"], ["east"]],
    ),
    # ---- evaluate, saliency: splits and CSV paths
    api("evaluate-csv-a-number", lambda i, f, t: i.evaluate(csv=5), ArgumentError, "csv: expected a path"),
    api("evaluate-csv-missing", lambda i, f, t: i.evaluate(csv=t / "no.csv"), DataError, "no.csv"),
    api(
        "evaluate-split-and-csv",
        lambda i, f, t: i.evaluate("val", csv=t / "no.csv"),
        DataError,
        "a split and another CSV",
    ),
    api("evaluate-split-a-number", lambda i, f, t: i.evaluate(3), ChoiceError, "split must be one of"),
    api("saliency-split-none", lambda i, f, t: i.saliency(None), ChoiceError, "split must be one of"),
    # ---- attack: eps as numbers
    api("attack-eps-a-string", lambda i, f, t: i.attack("0.1"), ArgumentError, "got str"),
    api("attack-eps-none", lambda i, f, t: i.attack(None), ArgumentError, "got None"),
    api("attack-eps-a-bool", lambda i, f, t, e: i.attack(e), ArgumentError, "True is not a number", [True]),
    api("attack-eps-nested", lambda i, f, t, e: i.attack(e), ArgumentError, "is not a number", [[0.1]]),
    api(
        "attack-eps-one-value-two-spellings",
        lambda i, f, t, e: i.attack(e),
        DataError,
        "given twice",
        [0.1, 1e-1],
    ),
    api("attack-eps-int-beyond-float", lambda i, f, t, e: i.attack(e), DataError, "not a finite", [10**400]),
    api(
        "attack-eps-negative-zero-twice",
        lambda i, f, t, e: i.attack(e),
        DataError,
        "given twice",
        [0.0, -0.0],
    ),
    api("attack-split-unknown", lambda i, f, t: i.attack([0.1], "holdout"), ChoiceError, "'holdout'"),
]


def test_every_api_case_has_its_own_name():
    assert len({c.id for c in API_CASES}) == len(API_CASES)


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_the_notebook_api_refuses_with_one_nnapp_error_and_touches_nothing(
    case: ApiCase, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # output.dir is relative: a run started by mistake would show here
    iris = nnapp.load_run(copy_of("iris", tmp_path))
    flowers = nnapp.load_run(copy_of("flowers_csv", tmp_path))
    before, given = _snapshot(tmp_path), pickle.dumps(case.args)

    with pytest.raises(case.error) as caught:
        case.call(iris, flowers, tmp_path, *case.args)

    message = str(caught.value)
    assert "\n" not in message and case.expect in message, message
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched, no run started
    assert pickle.dumps(case.args) == given  # the caller's values as they were


def test_an_argument_error_is_also_a_type_error():
    with pytest.raises(TypeError):
        nnapp.load_run(None)


def test_the_readmes_evaluate_on_a_csv_works(tmp_path):
    from _shared import FLOWERS

    flowers = nnapp.load_run(copy_of("flowers_csv", tmp_path))
    evaluation = flowers.evaluate(csv=FLOWERS)
    assert evaluation.source == str(FLOWERS) and evaluation.n_rows == sum(1 for _ in FLOWERS.open()) - 1


def test_numpy_numbers_and_paths_are_config_values(tmp_path):
    from nnapp.tools.notebook import load

    values = {"optim.lr": np.float32(0.5), "model.hidden": np.int64(7), "output.dir": tmp_path}
    loaded = load(IRIS, values)
    assert (loaded.config.optim.lr, loaded.config.model.hidden) == (0.5, 7)
    assert loaded.config.output.dir == str(tmp_path)


# ---------------------------------------------------------------- data flows down: train's Run from memory
def test_train_returns_the_run_it_wrote_without_reading_it_back(tmp_path):
    run = nnapp.train(IRIS, ["train.epochs=3", "output.plots=false"], run_dir=tmp_path / "r")
    for name in ("metrics.csv", "gradcheck.csv", "summary.json", "model.npz"):
        (tmp_path / "r" / name).rename(tmp_path / name)  # the Run must not need them
    assert [r.epoch for r in run.history] == [0, 1, 2, 3] and run.summary.epochs_trained == 3
    assert run.gradcheck_plot() is not None and run.predict([IRIS_ROW]).shape == (1,)
    for name in ("metrics.csv", "gradcheck.csv", "summary.json", "model.npz"):
        (tmp_path / name).rename(tmp_path / "r" / name)
    back = nnapp.load_run(run.path)  # and what it holds is what the files say
    assert (back.config, back.summary, back.history, back.classes) == (
        run.config,
        run.summary,
        run.history,
        run.classes,
    )
    np.testing.assert_array_equal(back.predict_proba([IRIS_ROW]), run.predict_proba([IRIS_ROW]))


def test_attack_takes_the_floats_it_is_given(tmp_path):
    run = nnapp.load_run(copy_of("iris", tmp_path))
    eps = [np.float32(0.1), 0.1 + 0.2]  # no spelling could carry these exactly through a string list
    assert [p.eps for p in run.attack(eps).points] == sorted([float(np.float32(0.1)), 0.1 + 0.2])


def test_a_dataframe_is_read_by_column_name_not_by_position(tmp_path):
    import pandas as pd

    run = nnapp.load_run(copy_of("iris", tmp_path))
    columns = run.model.input_columns
    table = pd.DataFrame([IRIS_ROW], columns=columns)
    reversed_table = table[columns[::-1]]  # the same row, its columns in another order
    np.testing.assert_array_equal(run.predict_proba(reversed_table), run.predict_proba([IRIS_ROW]))


def test_a_dataframe_without_a_model_column_is_refused_naming_it(tmp_path):
    import pandas as pd

    run = nnapp.load_run(copy_of("iris", tmp_path))
    columns = run.model.input_columns
    table = pd.DataFrame([IRIS_ROW], columns=["length", *columns[1:]])
    with pytest.raises(DataError, match=f"no column\\(s\\) '{re.escape(columns[0])}'") as caught:
        run.predict(table)
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- the lab commands and sweeps, from the CLI
@dataclass(frozen=True)
class CliCase:
    """`nnapp ARGS` with '{run}' a private copy of a trained iris run, '{tmp}' the test's folder, '{iris}'
    the shipped iris config: exit 2, one `error:` line naming `names` and holding `expect`."""

    id: str
    args: tuple[str, ...]
    names: str
    expect: tuple[str, ...] = field(default_factory=tuple)


DASK = ("--backend", "dask", "--out", "{tmp}/sweep")
CLI_CASES = [
    CliCase("saliency-empty-split", ("saliency", "{run}", "--split", ""), "--split", ("''",)),
    CliCase("saliency-run-is-a-config", ("saliency", "{iris}"), "{iris}", ("not a directory",)),
    CliCase("saliency-run-name-with-newline", ("saliency", "{tmp}/a\nb"), "{tmp}/a\\nb", ("no such",)),
    CliCase("attack-empty-eps", ("attack", "{run}", "--eps", ""), "--eps", ("'' is not a number",)),
    CliCase("attack-eps-gap", ("attack", "{run}", "--eps", "0,,0.1"), "--eps", ("'' is not a number",)),
    CliCase("attack-eps-two-spellings", ("attack", "{run}", "--eps", "0.1,1e-1"), "--eps", ("given twice",)),
    CliCase("attack-eps-nan", ("attack", "{run}", "--eps", "nan"), "--eps", ("not a finite number",)),
    CliCase("attack-eps-overflows", ("attack", "{run}", "--eps", "1e309"), "--eps", ("not a finite",)),
    CliCase("attack-eps-hex", ("attack", "{run}", "--eps", "0x10"), "--eps", ("'0x10' is not a number",)),
    CliCase("attack-eps-too-large", ("attack", "{run}", "--eps", "1001"), "--eps", ("larger than 1000",)),
    CliCase("attack-run-is-a-file", ("attack", "{run}/model.npz"), "model.npz", ("not a directory",)),
    CliCase("lr-find-steps-zero", ("lr-find", "{iris}", "--steps", "0"), "--steps"),
    CliCase("lr-find-steps-huge", ("lr-find", "{iris}", "--steps", "100000000"), "--steps"),
    CliCase("lr-find-config-a-directory", ("lr-find", "{tmp}"), "{tmp}", ("is a directory",)),
    CliCase("lr-find-batch-zero", ("lr-find", "{iris}", "train.batch_size=0"), "train.batch_size"),
    CliCase("animate-run-is-a-config", ("animate", "{iris}"), "{iris}", ("not a directory",)),
    CliCase("animate-folder-without-a-run", ("animate", "{tmp}"), "config.yaml", ("missing",)),
    CliCase("shapes-config-a-directory", ("shapes", "{tmp}"), "{tmp}", ("is a directory",)),
    CliCase("shapes-csv-without-path", ("shapes", "{iris}", "data.dataset=csv"), "data.path"),
    CliCase("shapes-hidden-negative", ("shapes", "{iris}", "model.hidden=-1"), "model.hidden"),
    # ---- sweeps: the scheduler's address is parsed first; points are compared by value
    CliCase(
        "sweep-scheduler-not-an-address",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", "nope"),
        "--scheduler 'nope'",
        ("HOST:PORT",),
    ),
    CliCase(
        "sweep-scheduler-port-out-of-range",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", "tcp://127.0.0.1:99999"),
        "--scheduler",
        ("port 99999 is out of range",),
    ),
    CliCase(
        "sweep-scheduler-port-zero",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", "localhost:0"),
        "--scheduler",
        ("port 0",),
    ),
    CliCase(
        "sweep-scheduler-unknown-transport",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", "http://h:8786"),
        "--scheduler",
        ("'http'",),
    ),
    CliCase(
        "sweep-scheduler-no-host",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", "tcp://:8786"),
        "--scheduler",
        ("HOST:PORT",),
    ),
    CliCase(
        "sweep-scheduler-empty",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", ""),
        "--scheduler",
        ("HOST:PORT",),
    ),
    CliCase(
        "sweep-scheduler-with-a-path",
        ("sweep", "{iris}", "optim.lr=0.1,1", *DASK, "--scheduler", "tcp://h:1/x"),
        "--scheduler",
        ("HOST:PORT",),
    ),
    CliCase(
        "sweep-one-lr-two-spellings",
        ("sweep", "{iris}", "optim.lr=0.1,1e-1", "--out", "{tmp}/sweep"),
        "optim.lr=0.1 and optim.lr=1e-1",
        ("same value",),
    ),
    CliCase(
        "sweep-one-hidden-two-spellings",
        ("sweep", "{iris}", "model.hidden=4,0x4", "--out", "{tmp}/sweep"),
        "model.hidden=4 and model.hidden=0x4",
        ("same value",),
    ),
    CliCase(
        "sweep-one-dataset-quoted",
        ("sweep", "{iris}", "data.dataset=iris,'iris'", "--out", "{tmp}/sweep"),
        "data.dataset=iris and",
        ("same value",),
    ),
    CliCase(
        "sweep-point-dir-holds-another-run",
        ("sweep", "{iris}", "optim.lr=0.1,1", "--out", "{tmp}/taken"),
        "different config",
    ),
]


def test_every_cli_case_has_its_own_name():
    assert len({c.id for c in CLI_CASES}) == len(CLI_CASES)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_the_lab_and_sweep_commands_refuse_with_one_line_and_touch_nothing(
    case: CliCase, tmp_path, monkeypatch
):
    from nnapp.cli.app import app

    monkeypatch.chdir(tmp_path)
    run = copy_of("iris", tmp_path)
    (tmp_path / "taken").mkdir()  # a sweep directory whose first point holds a run of another config
    (tmp_path / "taken" / "optim.lr=0.1_seed=0").symlink_to(run)
    tokens = {"{run}": str(run), "{tmp}": str(tmp_path), "{iris}": str(IRIS)}

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
    assert fill(case.names) in lines[0] and all(part in lines[0] for part in case.expect), lines[0]
    assert _snapshot(tmp_path) == before  # no sweep directory, no output file, the run unchanged


# ---------------------------------------------------------------- streams: real processes, real descriptors
TINY = "name: tiny\ndata: {dataset: iris}\nmodel: {hidden: 4}\ntrain: {epochs: 2}\noutput: {plots: false}\n"


def _nnapp(
    args: list[str], cwd: Path, stdout: Any, close_stdout: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nnapp", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        preexec_fn=(lambda: os.close(1)) if close_stdout else None,
    )


def _one_error_line(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, lines
    assert all(part in lines[0] for part in parts), lines[0]


@pytest.fixture
def predict_inputs(tmp_path):
    run = copy_of("iris", tmp_path)
    rows = tmp_path / "new.csv"
    rows.write_text(
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n"
    )
    return run, rows


def test_predict_with_stdout_closed_is_one_line_not_an_attribute_error(predict_inputs, tmp_path):
    run, rows = predict_inputs
    before = _snapshot(tmp_path)
    result = _nnapp(["predict", str(run), str(rows)], tmp_path, None, close_stdout=True)
    _one_error_line(result, "standard output", "closed")
    assert _snapshot(tmp_path) == before


def test_predict_into_a_full_device_is_one_line(predict_inputs, tmp_path):
    run, rows = predict_inputs
    with open("/dev/full", "w") as full:
        result = _nnapp(["predict", str(run), str(rows)], tmp_path, full)
    _one_error_line(result, "standard output", "No space left on device")


def test_help_into_a_full_device_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        _one_error_line(_nnapp(["--help"], tmp_path, full), "standard output")


def test_train_into_a_full_device_still_writes_the_whole_run_directory(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    with open("/dev/full", "w") as full:
        result = _nnapp(["train", str(config)], tmp_path, full)
    _one_error_line(result, "No space left on device")
    (run,) = (tmp_path / "runs" / "tiny").iterdir()
    back = nnapp.load_run(run)  # model, config and summary all there and consistent
    assert back.summary.stop_reason == "completed" and back.summary.epochs_trained == 2
    assert not list(run.glob(".*"))  # no temporary file left


def test_a_reader_that_goes_away_is_no_error(predict_inputs, tmp_path):
    run, rows = predict_inputs
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write is a broken pipe
    with os.fdopen(write, "w") as pipe:
        result = _nnapp(["predict", str(run), str(rows)], tmp_path, pipe)
    assert result.returncode == 0 and result.stderr == "", result.stderr


# ---------------------------------------------------------------- signals
def test_a_stop_signal_while_the_first_frame_is_drawn_exits_130_not_with_matplotlibs_error(tmp_path):
    """The console's handler raises where the program is; matplotlib's writer then fails on its own
    (no frame to save) with the interruption as context: the command line still says interrupted."""
    from nnapp.cli.shell import reported
    from nnapp.cli.signals import interrupt
    from nnapp.pictures.animation import LossTrace, plane_gif

    def proba_at(epoch: int) -> np.ndarray:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the first frame is drawn
        return np.full((2, 2, 2), 0.5)

    saved = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with pytest.raises(BaseException) as caught:
            grid = np.meshgrid([0.0, 1.0], [0.0, 1.0])
            trace = LossTrace([0, 1], [1.0, 0.5], [1.0, 0.6], [0.5, 0.7])
            train = (np.zeros((2, 2)), np.array([0, 1]))
            plane_gif(tmp_path / "training.gif", [0, 1], proba_at, grid, train, ["a", "b"], ["x", "y"], trace)
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    ended = reported(caught.value)
    assert ended is not None and ended.exit_code == 130
    assert list(tmp_path.iterdir()) == []  # no GIF, no temporary file


@pytest.mark.parametrize("cleanup", [IndexError, ValueError, OSError, ArtifactError])
def test_an_interruption_behind_a_cleanup_error_is_still_an_interruption(cleanup: type[BaseException]):
    from nnapp.cli.shell import reported
    from nnapp.cli.signals import Interrupted

    try:
        try:
            raise Interrupted(signal.SIGTERM)
        finally:
            raise cleanup("raised by cleanup code")
    except BaseException as exc:
        ended = reported(exc)
    assert ended is not None and ended.exit_code == 130
