"""A run directory is never silently wrong and never destroyed: its data is hashed, what is read back
is checked before anything is written, outputs never land on inputs or inside runs, one writer at a time."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from _shared import FLOWERS, ROOT, copy_of, rewrite_npz, trained
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.errors import ArtifactError
from nnapp.orchestration.experiment import run_experiment
from nnapp.orchestration.job import execute, prepare_resume
from nnapp.rundir.checkpoint import load_checkpoint, save_checkpoint
from nnapp.rundir.runlock import lock_run_dir
from nnapp.training.records import Callback

runner = CliRunner()
FLOWERS_CONFIG = ROOT / "configs" / "flowers_csv.yaml"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def csv_run(tmp_path):
    """A tiny run trained on a private copy of flowers.csv (the test may edit the copy)."""
    data = tmp_path / "flowers.csv"
    data.write_bytes(FLOWERS.read_bytes())
    overrides = [
        "train.epochs=3",
        f"data.path={data}",
        "output.plots=false",
        f"output.dir={tmp_path / 'runs'}",
    ]
    return run_experiment(load_config(FLOWERS_CONFIG, overrides)).run_dir, data


def edit_one_cell(path: Path) -> None:
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[0] = str(float(cells[0]) + 0.1)
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def shift_first_column(path: Path) -> None:
    """Every row's first value +1: the training rows' mean (the saved scaler) changes too."""
    lines = path.read_text().splitlines()
    for k in range(1, len(lines)):
        cells = lines[k].split(",")
        cells[0] = str(float(cells[0]) + 1)
        lines[k] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------------------- data hash


def test_summary_records_the_sha256_of_the_csv_bytes(csv_run):
    run_dir, data = csv_run
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert summary["data_source"] == str(data)


def test_summary_lists_the_models_feature_names():
    run_dir = trained("flowers_csv")
    summary = json.loads((run_dir / "summary.json").read_text())
    with np.load(run_dir / "model.npz") as model:
        assert summary["feature_names"] == model["feature_names"].tolist()
    assert "garden=" in " ".join(summary["feature_names"])  # one-hot columns are named


def test_evaluate_refuses_a_csv_edited_since_training(csv_run):
    run_dir, data = csv_run
    edit_one_cell(data)
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{data}: not the data {run_dir} was trained on" in line


def test_evaluate_refuses_even_an_edit_that_keeps_every_value(csv_run):
    run_dir, data = csv_run
    data.write_bytes(data.read_bytes() + b"\n")  # a blank line: the same rows, but not the same file
    assert str(data) in one_error_line(invoke("evaluate", run_dir))


def test_resume_refuses_a_csv_edited_since_training_and_writes_nothing(csv_run):
    run_dir, data = csv_run
    edit_one_cell(data)
    before = files(run_dir)
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert f"{data}: not the data" in line and "checkpoint.npz records" in line
    assert files(run_dir) == before


def test_gradcheck_at_a_runs_weights_refuses_a_csv_edited_since_training(csv_run):
    run_dir, data = csv_run
    edit_one_cell(data)
    line = one_error_line(invoke("gradcheck", FLOWERS_CONFIG, f"data.path={data}", "--run", run_dir))
    assert f"{data}: not the data" in line


def test_resume_of_a_checkpoint_without_a_data_hash_is_refused_in_one_line(csv_run):
    run_dir, _ = csv_run
    old = load_checkpoint(run_dir)
    save_checkpoint(run_dir, old.state, replace(old.info, data_sha256=None, data_source=None))
    before = (run_dir / "config.yaml").read_bytes()
    assert "damaged checkpoint (info.data_sha256 holds null" in one_error_line(
        invoke("train", "--resume", run_dir, "--epochs", "5")
    )
    assert (run_dir / "config.yaml").read_bytes() == before


# ------------------------------------------------------------------------------ what is read back


@pytest.mark.parametrize(
    ("entry", "value", "message"),
    [
        ("W", lambda w: np.full(w.shape, "x"), "W holds <U1, expected float32 or float64 weights"),
        ("b2", lambda b: b.astype(np.int64), "b2 holds int64"),
        ("categories", lambda c: np.asarray("{not json"), "categories is not JSON"),
        ("categories", lambda c: np.asarray('{"garden": "a"}'), "categories is not a JSON object of column"),
        ("classes", lambda c: np.asarray([1, 2, 3]), "classes holds int64, expected a list of strings"),
        ("scaler_scale", lambda s: np.zeros_like(s), "scaler_scale holds a value that is not positive"),
    ],
)
def test_a_crafted_model_npz_is_one_line_naming_it(tmp_path, entry, value, message):
    run_dir = copy_of("flowers_csv", tmp_path)
    with np.load(run_dir / "model.npz") as archive:
        original = archive[entry]
    rewrite_npz(run_dir / "model.npz", **{entry: value(original)})
    line = one_error_line(invoke("evaluate", run_dir))
    assert f"{run_dir / 'model.npz'}: damaged model ({message}" in line


@pytest.mark.parametrize("text", ["[1, 2]", '{"best_epoch": "3"}', '{"classes": [1]}', "{"])
def test_a_summary_json_of_the_wrong_shape_is_one_line_naming_it(tmp_path, text):
    run_dir = copy_of("flowers_csv", tmp_path)
    (run_dir / "summary.json").write_text(text)
    assert f"{run_dir / 'summary.json'}: " in one_error_line(invoke("evaluate", run_dir))


def test_nan_in_the_epoch_column_of_metrics_csv_is_one_line_naming_it(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    lines[2] = "nan" + lines[2][lines[2].index(",") :]
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    line = one_error_line(invoke("plot", run_dir))
    assert f"{run_dir / 'metrics.csv'}: row 3: epoch 'nan' is not a whole number" in line


def test_plot_that_fails_on_the_summary_leaves_every_picture_as_it_was(tmp_path):
    run_dir = copy_of("moons", tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["overrides"] = [1, 2]  # read by the report, after the pictures
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "curves.png").write_bytes(b"old picture")
    before = files(run_dir)
    assert "summary.json: overrides is not a list of strings" in one_error_line(invoke("plot", run_dir))
    assert files(run_dir) == before


# ------------------------------------------------------------------------------------- --out targets


def test_predict_refuses_to_write_over_its_own_input(tmp_path):
    data = tmp_path / "in.csv"
    data.write_bytes(FLOWERS.read_bytes())
    line = one_error_line(invoke("predict", trained("flowers_csv"), data, "--out", data))
    assert f"--out {data}: is the input {data}" in line
    assert data.read_bytes() == FLOWERS.read_bytes()


def test_predict_refuses_a_hard_link_to_its_input(tmp_path):
    data = tmp_path / "in.csv"
    data.write_bytes(FLOWERS.read_bytes())
    os.link(data, tmp_path / "alias.csv")
    assert "is the input" in one_error_line(
        invoke("predict", trained("flowers_csv"), data, "--out", tmp_path / "alias.csv")
    )


def test_predict_with_a_missing_input_names_it_and_leaves_an_existing_out_alone(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    line = one_error_line(invoke("predict", trained("flowers_csv"), tmp_path / "nope.csv", "--out", out))
    assert "nope.csv" in line
    assert out.read_text() == "keep me\n"


@pytest.mark.parametrize("name", ["model.npz", "predictions.csv"])
def test_predict_refuses_to_write_inside_a_run_directory(tmp_path, name):
    run_dir = copy_of("flowers_csv", tmp_path)
    before = files(run_dir)
    line = one_error_line(invoke("predict", run_dir, FLOWERS, "--out", run_dir / name))
    assert f"is inside the run directory {run_dir}" in line
    assert files(run_dir) == before


def test_predict_refuses_a_symbolic_link_and_keeps_it(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("keep me\n")
    (tmp_path / "link.csv").symlink_to(target)
    line = one_error_line(invoke("predict", trained("flowers_csv"), FLOWERS, "--out", tmp_path / "link.csv"))
    assert "is a symbolic link" in line
    assert (tmp_path / "link.csv").is_symlink() and target.read_text() == "keep me\n"


@pytest.mark.parametrize("command", ["predict", "plot"])
def test_an_output_that_is_a_device_is_refused(command):
    args = [trained("flowers_csv"), FLOWERS] if command == "predict" else [trained("iris"), trained("moons")]
    line = one_error_line(invoke(command, *args, "--out", "/dev/null"))
    assert "--out /dev/null: exists and is not a regular file" in line


def test_plot_refuses_to_write_its_comparison_inside_a_run_directory(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    before = files(run_dir)
    line = one_error_line(invoke("plot", run_dir, trained("moons"), "--out", run_dir / "curves.png"))
    assert "is inside the run directory" in line
    assert files(run_dir) == before


# -------------------------------------------------------------------------------------- one writer


def test_a_second_resume_of_a_run_being_written_is_refused_naming_the_holder(tmp_path):
    run_dir = copy_of("iris", tmp_path, pictures=False)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from nnapp.rundir.runlock import lock_run_dir; import sys; "
            "lock = lock_run_dir(sys.argv[1]); print('locked', flush=True); sys.stdin.read()",
            str(run_dir),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        before = files(run_dir)
        line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
        assert f"{run_dir}: in use by another nnapp process (pid {holder.pid})" in line
        assert files(run_dir) == before
    finally:
        holder.communicate("")  # closing its stdin ends it
    result = invoke("train", "--resume", run_dir, "--epochs", "4", "--quiet")  # the lock went with it
    assert result.exit_code == 0, result.output


def test_the_lock_adds_no_file_to_the_run_directory(tmp_path):
    run_dir = copy_of("iris", tmp_path, pictures=False)
    before = set(files(run_dir))
    assert invoke("train", "--resume", run_dir, "--epochs", "4", "--quiet").exit_code == 0
    assert set(files(run_dir)) == before


class TryToLock(Callback):
    """During training, try to take the run directory's lock as a second writer would."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir, self.refusals = run_dir, []

    def on_epoch_end(self, record, state) -> None:
        try:
            lock_run_dir(self.run_dir).release()
            self.refusals.append(None)
        except ArtifactError as exc:
            self.refusals.append(str(exc))


def test_a_new_run_is_locked_while_it_trains_and_free_after(tmp_path):
    run_dir = tmp_path / "run"
    probe = TryToLock(run_dir)
    overrides = ["train.epochs=2", "output.plots=false", f"output.dir={tmp_path}"]
    loaded = load_config(ROOT / "configs" / "iris.yaml", overrides)
    run_experiment(loaded, [probe], run_dir=run_dir)
    assert len(probe.refusals) == 2
    assert all(r is not None and f"(pid {os.getpid()})" in r for r in probe.refusals)
    lock_run_dir(run_dir).release()  # free once the run is written


def test_resume_refuses_a_checkpoint_rewritten_after_it_was_read(tmp_path):
    run_dir = copy_of("iris", tmp_path, pictures=False)
    job = prepare_resume(run_dir, epochs=5)
    checkpoint = load_checkpoint(run_dir)  # another process saves the same run meanwhile
    save_checkpoint(run_dir, checkpoint.state, checkpoint.info)
    with pytest.raises(ArtifactError, match="written by another process since it was read"):
        execute(job)


def test_every_summary_field_has_its_json_type_checked():
    from dataclasses import fields

    from nnapp.rundir.runs import SUMMARY_TYPES, RunSummary

    assert [f.name for f in fields(RunSummary)] == list(SUMMARY_TYPES)
