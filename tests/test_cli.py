"""The CLI end to end (typer's CliRunner), with the files of the run directory checked."""

import json
import os
import stat
from datetime import datetime, timedelta

import numpy as np
import pytest
import yaml
from _shared import TINY, trained
from typer.testing import CliRunner

from nnapp import __version__
from nnapp.cli.app import app
from nnapp.rundir.artifacts import read_csv_rows

runner = CliRunner()


def run_dirs(tmp_path):
    return sorted((tmp_path / "runs").glob("*/*"))


def test_train_writes_a_complete_run_directory(write_config, tmp_path):
    result = runner.invoke(app, ["train", str(write_config(TINY))])
    assert result.exit_code == 0, result.output
    (run,) = run_dirs(tmp_path)
    assert run.parent.name == "tiny"
    names = {p.name for p in run.iterdir()}
    assert {"config.yaml", "metrics.csv", "gradcheck.csv", "model.npz", "summary.json"} <= names
    assert {"curves.png", "gradcheck.png"} <= names
    metrics = read_csv_rows(run / "metrics.csv")
    assert [int(r["epoch"]) for r in metrics] == list(range(7))
    checks = read_csv_rows(run / "gradcheck.csv")
    assert {r["tensor"] for r in checks} == {"W", "b1", "U", "b2", "x", "direction"}
    assert {r["verdict"] for r in checks} == {"pass"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "completed" and summary["seed"] == 3
    assert 0 <= summary["test_acc"] <= 1 and summary["classes"] == ["setosa", "versicolor", "virginica"]
    with np.load(run / "model.npz") as model:
        assert model["W"].shape == (8, 4) and model["U"].shape == (3, 8)
        assert list(model["classes"]) == ["setosa", "versicolor", "virginica"]
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "run directory:" in result.output


def test_the_saved_config_records_the_overrides(write_config, tmp_path):
    result = runner.invoke(
        app, ["train", str(write_config(TINY)), "optim.lr=0.07", "output.plots=false", "-q"]
    )
    assert result.exit_code == 0, result.output
    (run,) = run_dirs(tmp_path)
    text = (run / "config.yaml").read_text()
    assert "# overrides: optim.lr=0.07 output.plots=false" in text
    assert yaml.safe_load(text)["optim"]["lr"] == 0.07


@pytest.fixture(scope="module")
def two_tiny_runs(tmp_path_factory):
    """TINY trained twice through the CLI, the second while every run-directory name it could take for
    the next two minutes is already taken (an empty directory): (first, second, the names taken)."""
    root = tmp_path_factory.mktemp("two-runs")
    config = root / "tiny.yaml"
    config.write_text(TINY + f"\noutput:\n  dir: {root / 'runs'}\n  plots: false\n")  # no picture is tested
    assert runner.invoke(app, ["train", str(config), "-q"]).exit_code == 0
    (first,) = sorted((root / "runs" / "tiny").iterdir())
    first_files = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    now = datetime.now()
    taken = set()
    for s in range(120):
        name = (now + timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S")
        if not (first.parent / name).exists():
            (first.parent / name).mkdir()
            taken.add(name)
    assert runner.invoke(app, ["train", str(config), "-q"]).exit_code == 0
    (second,) = [p for p in first.parent.iterdir() if p != first and p.name not in taken]
    return first, first_files, second, taken


def test_two_runs_never_share_a_directory(two_tiny_runs):
    first, first_files, second, taken = two_tiny_runs
    assert second.name.endswith("-2") and second.name[:-2] in taken | {first.name}
    assert all(not any((first.parent / name).iterdir()) for name in taken)  # still empty
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == first_files  # untouched


def test_same_config_gives_byte_identical_models(two_tiny_runs):
    first, _, second, _ = two_tiny_runs
    assert (first / "model.npz").read_bytes() == (second / "model.npz").read_bytes()


def test_print_config_prints_the_resolved_config_and_writes_nothing(write_config, tmp_path):
    result = runner.invoke(app, ["train", str(write_config(TINY)), "model.hidden=5", "--print-config"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.output)["model"]["hidden"] == 5
    assert not (tmp_path / "runs").exists()


def test_a_config_error_is_one_line_with_exit_code_2(write_config, tmp_path):
    result = runner.invoke(app, ["train", str(write_config(TINY)), "optim.lr=-1"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: override 'optim.lr=-1': optim.lr must be > 0 (got -1)"
    assert not (tmp_path / "runs").exists()


def test_a_missing_config_file_is_exit_code_2(tmp_path):
    result = runner.invoke(app, ["train", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such config file" in result.output


def test_a_failed_gradient_check_exits_with_4_and_names_the_tensor(write_config, tmp_path, capsys):
    """A run stopped by its gradient check (a mistake planted in the objective training is given) ends
    `nnapp train` with exit code 4 and the check's message."""
    import typer

    from nnapp.cli.train import finish
    from nnapp.config import load_config
    from nnapp.core import mistakes
    from nnapp.orchestration.experiment import run_experiment

    loaded = load_config(write_config(TINY), ["output.plots=false"])
    outcome = run_experiment(loaded, objective=mistakes.planted("scaled_y"))
    with pytest.raises(typer.Exit) as exited:
        finish(outcome)
    assert exited.value.exit_code == 4
    assert "gradient check failed at epoch 0: dJ/d" in capsys.readouterr().err
    (run,) = run_dirs(tmp_path)
    assert json.loads((run / "summary.json").read_text())["stop_reason"] == "gradcheck_failed"


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_help_shows_examples():
    result = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert result.exit_code == 0 and "nnapp train configs/iris.yaml optim.lr=0.05" in result.output


def test_run_files_are_readable_by_others_like_ordinary_files(write_config, tmp_path):
    assert runner.invoke(app, ["train", str(write_config(TINY)), "-q"]).exit_code == 0
    (run,) = run_dirs(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run.iterdir() if p.is_file()}
    assert modes and set(modes.values()) == {0o666 & ~umask}


def test_an_unwritable_output_is_one_line_with_exit_code_2():
    run = trained("iris", pictures=False)
    # /proc is a folder no file can be created in: the write itself fails, after every check passed
    result = runner.invoke(app, ["plot", str(run), str(run), "--out", "/proc/nnapp-test.png"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: /proc/nnapp-test.png: cannot write")
    assert len(result.output.strip().splitlines()) == 1


def test_a_usage_error_from_the_console_script_is_one_error_line_with_exit_2():
    import subprocess
    import sys

    # the installed entry point (nnapp.cli.launcher:main), not CliRunner: what a user's shell shows
    code = "import sys; from nnapp.cli.launcher import main; sys.argv = ['nnapp', *sys.argv[1:]]; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "sweep", "configs/iris.yaml", "optim.lr=0.1,1", "--jobs", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "40"},  # a narrow terminal wrapped the old panel over many lines
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: nnapp sweep: Invalid value for '--jobs' / '-j': Input should be greater than or equal to 1 "
        "(see nnapp sweep --help)"
    ]


def test_a_file_system_error_in_any_command_is_one_line_not_a_traceback(monkeypatch, tmp_path):
    import nnapp.config

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.yaml"))

    monkeypatch.setattr(nnapp.config, "load_config", refuse)
    result = CliRunner().invoke(app, ["shapes", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {tmp_path / 'x.yaml'}: Permission denied"]


def test_help_imports_neither_numpy_nor_rich_markdown():
    """What makes `nnapp --help` slow is what it imports (numpy, matplotlib, scikit-learn, typer's rich help
    with markdown-it and pygments): a fresh process shows the help without any of them."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from nnapp.cli.app import main\n"
        "sys.argv = ['nnapp', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['numpy', 'matplotlib', 'sklearn', 'rich.markdown', 'pygments', 'yaml']\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "Usage: nnapp" in result.stdout
    assert "LOADED []" in result.stdout


def test_every_commands_annotations_are_objects_typer_need_not_compile_again():
    """typer reads each command's annotations whenever it builds the command tree: once per `nnapp` process
    and once per CliRunner.invoke. Strings (`from __future__ import annotations`) are compiled again each
    time: a build took 24 ms, objects take 8 ms (the command modules leave the future import out)."""
    import inspect

    import typer.main

    group = typer.main.get_command(app)
    strings = [
        f"{name}: {parameter}"
        for name, command in group.commands.items()
        for parameter, annotation in inspect.get_annotations(inspect.unwrap(command.callback)).items()
        if isinstance(annotation, str)
    ]
    assert len(group.commands) >= 15 and not strings
