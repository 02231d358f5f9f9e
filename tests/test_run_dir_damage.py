"""A damaged run directory (planted as a hostile tester did) is one line naming the file, exit 2:
oversized or non-regular text files, NaN weights, a config.yaml that disagrees with model.npz, outputs
aimed at the files a run was made from."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from _shared import FLOWERS, ROOT, copy_of, rewrite_npz, trained
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.orchestration.experiment import run_experiment
from nnapp.rundir.files import MAX_TABLE_BYTES as MAX_RUN_TABLE_BYTES
from nnapp.rundir.files import MAX_TEXT_BYTES as MAX_RUN_TEXT_BYTES

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def one_error_line(result, code: int = 2) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == code, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def grow(path, size: int) -> None:
    """A regular file of `size` bytes (sparse: costs no disk), starting with the file's own text."""
    with path.open("r+b") as handle:
        handle.truncate(size)


# ------------------------------------------------------------------------- bounded run-directory reads


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("summary.json", MAX_RUN_TEXT_BYTES),
        ("config.yaml", MAX_RUN_TEXT_BYTES),
        ("metrics.csv", MAX_RUN_TABLE_BYTES),
        ("gradcheck.csv", MAX_RUN_TABLE_BYTES),
    ],
)
def test_an_oversized_run_file_is_refused_without_reading_it_whole(tmp_path, name, limit):
    run_dir = copy_of("iris", tmp_path)
    grow(run_dir / name, limit + 1)
    line = one_error_line(invoke("plot", run_dir))
    assert f"{run_dir / name}: larger than {limit:,} bytes" in line


@pytest.mark.parametrize("name", ["summary.json", "metrics.csv", "gradcheck.csv", "config.yaml"])
def test_a_fifo_in_place_of_a_run_file_is_not_a_regular_file_and_is_never_opened(tmp_path, name):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / name).unlink()
    os.mkfifo(run_dir / name)  # opening it for reading would block forever: no writer
    line = one_error_line(invoke("plot", run_dir))
    assert f"{run_dir / name}: is not a regular file" in line


def test_a_symbolic_link_to_a_device_as_summary_json_is_not_a_regular_file(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / "summary.json").unlink()
    (run_dir / "summary.json").symlink_to("/dev/null")  # a device, never read (the finding: /dev/zero)
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / 'summary.json'}: is not a regular file" in line


def test_a_directory_in_place_of_model_npz_is_named_as_it_is(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / "model.npz").unlink()
    (run_dir / "model.npz").mkdir()
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / 'model.npz'}: not a regular file" in line and "model.npz/model.npz" not in line


# ------------------------------------------------------------------------------- non-finite weights


def plant_nan_weight(run_dir) -> None:

    with np.load(run_dir / "model.npz") as archive:
        weights = archive["W"].copy()
    weights[0, 0] = np.nan
    rewrite_npz(run_dir / "model.npz", W=weights)


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate"],
        ["predict", "{data}"],
        ["plot"],
        ["saliency"],
        ["attack"],
        ["animate"],
    ],
)
def test_every_command_that_uses_the_model_refuses_nan_weights(tmp_path, command):
    run_dir = copy_of("flowers_csv", tmp_path)
    plant_nan_weight(run_dir)
    before = sorted(p.name for p in run_dir.iterdir())
    args = [command[0], run_dir, *(a.format(data=FLOWERS) for a in command[1:])]
    line = one_error_line(invoke(*args))
    assert f"{run_dir / 'model.npz'}: W holds a non-finite value" in line
    assert sorted(p.name for p in run_dir.iterdir()) == before


@pytest.mark.parametrize("command", [["evaluate"], ["plot"], ["saliency"], ["attack"]])
def test_weights_too_large_for_training_to_have_saved_are_refused(tmp_path, command):
    """Finite weights of 1e300 overflow the logits to NaN: a NumPy warning and NaN saliencies before."""

    run_dir = copy_of("flowers_csv", tmp_path)
    with np.load(run_dir / "model.npz") as archive:
        rewrite_npz(run_dir / "model.npz", W=archive["W"] * 1e300, U=archive["U"] * 1e300)
    line = one_error_line(invoke(command[0], run_dir))
    assert f"{run_dir / 'model.npz'}: the weights are too large for a trained model" in line


def test_gradcheck_at_nan_weights_still_reports_a_failed_check(tmp_path, monkeypatch):
    run_dir = copy_of("flowers_csv", tmp_path)
    plant_nan_weight(run_dir)
    monkeypatch.chdir(ROOT)
    config = ROOT / "configs" / "flowers_csv.yaml"
    result = invoke("gradcheck", config, "train.epochs=3", f"data.path={FLOWERS}", "--run", run_dir)
    assert result.exit_code == 4, result.output
    assert "verdict: fail" in result.output


# --------------------------------------------------------------------- outputs over a run's sources


@pytest.fixture
def csv_run_with_config(tmp_path):
    """A run of a config file of its own, on a private copy of flowers.csv next to it."""
    data = tmp_path / "flowers.csv"
    shutil.copyfile(FLOWERS, data)
    config = tmp_path / "tinycsv.yaml"
    config.write_text((ROOT / "configs" / "flowers_csv.yaml").read_text())
    overrides = [
        "train.epochs=3",
        f"data.path={data}",
        "output.plots=false",
        f"output.dir={tmp_path / 'runs'}",
    ]
    return run_experiment(load_config(config, overrides)).run_dir, data, config


@pytest.mark.parametrize("victim", ["data", "config"])
def test_predict_refuses_to_write_over_the_runs_csv_or_its_config(tmp_path, csv_run_with_config, victim):
    run_dir, data, config = csv_run_with_config
    target = data if victim == "data" else config
    before = target.read_bytes()
    new_rows = tmp_path / "in.csv"
    new_rows.write_text("".join(FLOWERS.read_text().splitlines(keepends=True)[:6]))
    line = one_error_line(invoke("predict", run_dir, new_rows, "--out", target))
    assert f"--out {target}: is the input {target}" in line
    assert target.read_bytes() == before


@pytest.mark.parametrize("victim", ["data", "config"])
def test_plot_refuses_to_write_its_comparison_over_a_runs_csv_or_config(csv_run_with_config, victim):
    run_dir, data, config = csv_run_with_config
    target = data if victim == "data" else config
    before = target.read_bytes()
    line = one_error_line(invoke("plot", trained("iris"), run_dir, "--out", target))
    assert f"--out {target}: is the input" in line
    assert target.read_bytes() == before


# ------------------------------------------------------------------- config.yaml against model.npz


def edit_config(run_dir, old: str, new: str) -> None:
    text = (run_dir / "config.yaml").read_text()
    assert old in text
    (run_dir / "config.yaml").write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("command", ["evaluate", "plot", "saliency", "attack", "predict", "gradcheck"])
def test_every_reader_refuses_a_config_whose_hidden_units_disagree_with_the_model(tmp_path, command):
    run_dir = copy_of("iris", tmp_path)
    hidden = load_config(run_dir / "config.yaml").config.model.hidden
    edit_config(run_dir, f"hidden: {hidden}", f"hidden: {hidden * 2}")
    if command == "predict":
        args = ["predict", run_dir, tmp_path / "rows.csv"]
    elif command == "gradcheck":
        args = ["gradcheck", ROOT / "configs" / "iris.yaml", "--run", run_dir]
    else:
        args = [command, run_dir]
    line = one_error_line(invoke(*args))
    assert f"{run_dir / 'config.yaml'}: model.hidden is {hidden * 2}, but" in line
    assert f"has {hidden} hidden units" in line


def test_a_config_whose_dtype_disagrees_with_the_model_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    edit_config(run_dir, "dtype: float64", "dtype: float32")
    line = one_error_line(invoke("evaluate", run_dir))
    assert "model.dtype is float32, but" in line and "holds float64 weights" in line


def test_a_config_naming_another_dataset_than_the_summary_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    edit_config(run_dir, "dataset: iris", "dataset: wine")
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / 'config.yaml'}: data.dataset gives wine, but" in line and "trained on iris" in line


def test_an_empty_config_yaml_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / "config.yaml").write_text("# nnapp run file format 1\n")
    assert f"{run_dir / 'config.yaml'}: empty" in one_error_line(invoke("evaluate", run_dir))


# ------------------------------------------------------------- the data hash without summary.json


def edit_one_cell(path) -> None:
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[0] = str(float(cells[0]) + 0.1)
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("command", ["evaluate", "plot"])
def test_edited_data_is_refused_by_the_checkpoints_hash_when_summary_json_is_missing(
    csv_run_with_config, command
):
    run_dir, data, _ = csv_run_with_config
    (run_dir / "summary.json").unlink()
    edit_one_cell(data)
    line = one_error_line(invoke(command, run_dir))
    assert f"{data}: not the data {run_dir} was trained on" in line
    assert f"{run_dir / 'checkpoint.npz'} records" in line


def test_a_summary_hash_that_disagrees_with_the_checkpoints_is_damage(csv_run_with_config):
    import json

    run_dir, _, _ = csv_run_with_config
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["data_sha256"] = "0" * 64
    (run_dir / "summary.json").write_text(json.dumps(summary))
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / 'summary.json'}: data_sha256 000000000000... is not the" in line


# --------------------------------------------------------------- files of another run (run key)


@pytest.fixture
def other_iris_run(tmp_path):
    """An iris run with another learning rate: the same data and shapes as trained('iris'), other weights."""
    overrides = [
        "train.epochs=3",
        "optim.lr=0.0123",
        "output.plots=false",
        f"output.dir={tmp_path / 'other'}",
    ]
    return run_experiment(load_config(ROOT / "configs" / "iris.yaml", overrides)).run_dir


@pytest.mark.parametrize("name", ["model.npz", "summary.json"])
def test_a_model_or_summary_copied_from_another_run_is_refused(tmp_path, other_iris_run, name):
    run_dir = copy_of("iris", tmp_path)
    shutil.copyfile(other_iris_run / name, run_dir / name)
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / name}: run key " in line and "a file of another run?" in line


def test_resume_refuses_a_checkpoint_copied_from_another_run_and_changes_nothing(tmp_path, other_iris_run):
    run_dir = copy_of("iris", tmp_path)
    shutil.copyfile(other_iris_run / "checkpoint.npz", run_dir / "checkpoint.npz")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert f"{run_dir / 'checkpoint.npz'}: not written by the run of" in line
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_resume_refuses_a_config_yaml_edited_since_training(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    lr = load_config(run_dir / "config.yaml").config.optim.lr
    edit_config(run_dir, f"lr: {lr}", f"lr: {lr * 2}")
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert f"{run_dir / 'checkpoint.npz'}: not written by the run of {run_dir / 'config.yaml'}" in line


def test_a_resumed_run_keeps_its_run_key_everywhere(tmp_path):
    from nnapp.rundir.checkpoint import load_checkpoint
    from nnapp.rundir.runs import load_run

    run_dir = copy_of("iris", tmp_path, pictures=False)
    assert invoke("train", "--resume", run_dir, "--epochs", "5", "-q").exit_code == 0
    run = load_run(run_dir)
    keys = {run.model.run_key, run.summary.run_key, load_checkpoint(run_dir).info.run_key}
    assert len(keys) == 1 and None not in keys


# ------------------------------------------------------------------ a resume that cannot finish


@pytest.mark.parametrize("name", ["model.npz", "summary.json", "report.md"])
def test_a_resume_whose_output_is_a_directory_is_refused_before_anything_is_written(tmp_path, name):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / name).unlink()
    (run_dir / name).mkdir()
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert f"{run_dir / name}: is not a regular file" in line
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


# ---------------------------------------------------------------- writes into a run or a sweep


def test_train_refuses_an_output_dir_inside_a_run_directory(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    before = sorted(p.name for p in run_dir.iterdir())
    line = one_error_line(
        invoke("train", ROOT / "configs" / "iris.yaml", "train.epochs=1", f"output.dir={run_dir}")
    )
    assert f"output.dir {run_dir}: is inside the run directory {run_dir}" in line
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_the_output_folder_check_for_sweeps_refuses_a_folder_inside_a_run(tmp_path):
    from nnapp.errors import ArtifactError
    from nnapp.rundir.artifacts import check_not_in_run_dir

    run_dir = copy_of("iris", tmp_path)
    with pytest.raises(ArtifactError, match=r"--out .*: is inside the run directory"):
        check_not_in_run_dir("--out", run_dir / "sweep")
    check_not_in_run_dir("--out", tmp_path / "sweep")  # beside the run: fine


def test_predict_refuses_to_write_over_a_sweeps_table(tmp_path):
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    shutil.copytree(trained("flowers_csv"), sweep_dir / "point-1")
    (sweep_dir / "sweep.csv").write_text("keep me\n")
    line = one_error_line(
        invoke("predict", trained("flowers_csv"), FLOWERS, "--out", sweep_dir / "sweep.csv")
    )
    assert "is the table of the sweep in" in line
    assert (sweep_dir / "sweep.csv").read_text() == "keep me\n"


# ------------------------------------------------------------------------------- clearer messages


def test_resume_of_a_file_says_it_is_not_a_directory(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text("name: tiny\n")
    line = one_error_line(invoke("train", "--resume", config))
    assert f"{config}: not a directory" in line


def test_resume_with_too_many_epochs_names_the_option_not_an_override(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "99999999999"))
    assert "--epochs 99999999999: must be between 1 and 1,000,000" in line and "override" not in line


def test_a_name_of_only_dots_as_an_override_meets_the_name_rule(tmp_path):
    line = one_error_line(
        invoke("train", ROOT / "configs" / "iris.yaml", "name=...", f"output.dir={tmp_path}")
    )
    assert "name must not be only dots" in line


def test_a_nan_in_the_checkpoint_is_a_damaged_checkpoint_not_a_divergence(tmp_path):

    run_dir = copy_of("iris", tmp_path)
    with np.load(run_dir / "checkpoint.npz") as archive:
        flat = archive["flat"].copy()
    flat[0] = np.nan
    rewrite_npz(run_dir / "checkpoint.npz", flat=flat)
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert f"{run_dir / 'checkpoint.npz'}: damaged checkpoint" in line


def test_evaluate_refuses_a_split_with_another_csv():
    line = one_error_line(invoke("evaluate", trained("flowers_csv"), "--data", FLOWERS, "--split", "val"))
    assert "--split val: a split and another CSV" in line


# ---------------------------------------------------------- values nnapp cannot have written


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("classes", ["a", "b"], "classes ['a', 'b'] are not the 3 classes of its model.npz"),
        ("best_epoch", 99, "best_epoch 99 is not one of the 3 epochs trained"),
        ("stop_reason", "bogus", "stop_reason 'bogus' is not one of"),
        ("test_acc", float("nan"), "test_acc nan is not an accuracy between 0 and 1"),
        ("val_loss", float("nan"), "val_loss nan is not a loss"),
    ],
)
def test_a_summary_value_nnapp_cannot_have_written_is_refused(tmp_path, key, value, message):
    import json

    run_dir = copy_of("iris", tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary[key] = value
    (run_dir / "summary.json").write_text(json.dumps(summary))  # NaN is written as NaN, read back as nan
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / 'summary.json'}: {message}" in line


def test_a_gradcheck_row_with_a_nan_error_and_verdict_pass_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    with (run_dir / "gradcheck.csv").open("a") as handle:
        handle.write("0,epoch,W,5,0,nan,pass\n")
    line = one_error_line(invoke("plot", run_dir))
    assert f"{run_dir / 'gradcheck.csv'}: row " in line and "max_error nan with verdict pass" in line


def test_plot_refuses_an_out_file_that_is_not_png(tmp_path):
    line = one_error_line(invoke("plot", trained("iris"), trained("moons"), "--out", tmp_path / "x.pdf"))
    assert "ending in .png" in line and not (tmp_path / "x.pdf").exists()
