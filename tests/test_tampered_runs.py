"""Hostile run directories: tampered files, planted links, outputs that cannot be written.

Each case asserts the exit code (or exception type), a one-line message naming the file, and that
nothing changed: not the run directory (bytes and inodes: no file rewritten) and nothing outside it.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from _shared import copy_of, rewrite_npz, trained_full
from typer.testing import CliRunner

import nnapp
from nnapp.cli.app import app
from nnapp.errors import NnappError
from nnapp.rundir import runfiles

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def one_error_line(result, code: int = 2) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == code, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def tree(folder: Path) -> dict[str, object]:
    """Everything under `folder`: a file's inode and bytes (a rewrite changes the inode), a link's target."""
    state: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            state[key] = ("link", os.readlink(path))
        elif path.is_file():
            state[key] = (path.stat().st_ino, path.read_bytes())
        else:
            state[key] = "dir"
    return state


def edit_state(run_dir: Path, edit) -> None:
    """Change the checkpoint's JSON fields with `edit(dict)`, the arrays kept."""
    path = run_dir / runfiles.CHECKPOINT.name
    with np.load(path) as archive:
        state = json.loads(str(archive["state_json"]))
    edit(state)
    rewrite_npz(path, state_json=np.asarray(json.dumps(state)))


def resume_refused(tmp_path: Path, run_dir: Path, message: str) -> None:
    before = tree(tmp_path)
    line = one_error_line(invoke("train", "--resume", run_dir, "--epochs", "5"))
    assert message in line
    assert tree(tmp_path) == before


def put(key: str, value: object):
    def edit(state: dict) -> None:
        target = state
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value

    return edit


# ------------------------------------------------------------------ a tampered checkpoint.npz


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (put("best_score", float("nan")), "damaged checkpoint (state.best_score is NaN)"),
        (put("schedule.lr", "0.1"), "schedule.lr holds"),
        (put("schedule.lr", -0.1), "schedule.lr -0.1 is not a learning rate"),
        (put("schedule.best", True), "schedule.best holds true"),
        (put("schedule.bad_epochs", -1), "schedule.bad_epochs is negative"),
        (lambda s: s["schedule"].pop("best"), "schedule does not hold the fields nnapp writes"),
        (put("schedule", [0.1]), "state.schedule holds [0.1]"),
        (put("epoch", "3"), "state.epoch holds"),
        (put("sgd_steps", 1.5), "state.sgd_steps holds 1.5"),
        (put("bad_epochs", None), "state.bad_epochs holds null"),
        (put("best_epoch", 99), "best_epoch 99 is after epoch 3"),
        (put("checks", [{"epoch": 1}]), "checks[] does not hold the fields nnapp writes"),
        (put("checks", "none"), "state.checks holds"),
        (put("info.overrides", [1]), "info.overrides is not a list of strings"),
        (put("info.started_at", 0), "info.started_at holds 0"),
        (put("metric_columns", ["epoch"]), "metric_columns are not this nnapp's"),
        (put("shuffle_rng", {"bit_generator": "PCG64", "state": "x"}), "not a readable nnapp checkpoint"),
        (put("format", 1), "state does not hold the fields nnapp writes"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_tampered_checkpoint_field_is_refused_before_anything_is_written(tmp_path, edit, message):
    run_dir = copy_of("iris", tmp_path)
    edit_state(run_dir, edit)
    resume_refused(tmp_path, run_dir, message)


def test_a_gradient_check_record_of_the_wrong_type_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)

    def edit(state: dict) -> None:
        assert state["checks"], "the shared iris run has gradient checks"
        state["checks"][0]["report"]["tensors"][0]["max_error"] = "small"

    edit_state(run_dir, edit)
    resume_refused(tmp_path, run_dir, "checks[].report.tensors[].max_error holds")


def test_a_checkpoint_whose_velocity_is_text_is_refused(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    with np.load(run_dir / runfiles.CHECKPOINT.name) as archive:
        shape = archive["velocity"].shape
    rewrite_npz(run_dir / runfiles.CHECKPOINT.name, velocity=np.full(shape, "v"))
    resume_refused(tmp_path, run_dir, "damaged checkpoint (velocity holds <U1")


# -------------------------------------------------------------------- a tampered snapshots.npz


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e, f: {"epochs": e.astype(np.float64)}, "damaged snapshots file (epochs holds float64"),
        (lambda e, f: {"epochs": e.astype(str)}, "damaged snapshots file (epochs holds <U"),
        (lambda e, f: {"flat": f.ravel()}, "damaged snapshots file (flat has 1 dimensions"),
        (lambda e, f: {"flat": np.where(f == f, np.inf, f)}, "flat holds a non-finite value"),
        (lambda e, f: {"epochs": e[::-1].copy()}, "damaged (epochs and parameter frames do not match)"),
        (lambda e, f: {"flat": f[:1]}, "damaged (epochs and parameter frames do not match)"),
    ],
    ids=["float-epochs", "text-epochs", "flat-1d", "inf", "unordered", "short"],
)
def test_a_tampered_snapshots_file_is_refused_before_the_resume_writes_anything(tmp_path, change, message):
    run_dir = copy_of("iris", tmp_path)
    path = run_dir / runfiles.SNAPSHOTS.name
    with np.load(path) as archive:
        epochs, flat = archive["epochs"], archive["flat"]
    rewrite_npz(path, **change(epochs, flat))
    resume_refused(tmp_path, run_dir, message)


# ---------------------------------------------------------------------- a tampered metrics.csv


def cut_row(run_dir: Path, extra: bool = False) -> None:
    path = run_dir / runfiles.METRICS.name
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + ",1.0" if extra else ",".join(lines[2].split(",")[:3])
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("extra", [False, True], ids=["cut-short", "one-cell-too-many"])
def test_plot_of_a_metrics_row_of_the_wrong_width_is_one_line_and_draws_nothing(tmp_path, extra):
    run_dir = copy_of("iris", tmp_path)
    cut_row(run_dir, extra)
    before = tree(tmp_path)
    line = one_error_line(invoke("plot", run_dir))
    assert f"{run_dir / 'metrics.csv'}: row 3 does not have the header's" in line
    assert tree(tmp_path) == before


def test_the_history_of_a_metrics_row_cut_short_is_an_nnapp_error(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    cut_row(run_dir)
    with pytest.raises(NnappError, match="row 3 does not have the header's") as caught:
        nnapp.load_run(run_dir).history  # noqa: B018 (the property reads metrics.csv)
    assert "\n" not in str(caught.value)


# --------------------------------------------------- outputs in the way: nothing half-written


@pytest.mark.parametrize("output", [f.name for f in runfiles.TRAINING_OUTPUTS])
def test_a_resume_with_any_output_a_directory_changes_nothing(tmp_path, output):
    run_dir = copy_of("iris", tmp_path)
    target = run_dir / output
    if target.exists():
        target.unlink()
    target.mkdir()
    resume_refused(tmp_path, run_dir, f"{target}: is ")  # "is a directory" or "is not a regular file"


def test_a_resume_whose_diagnostics_png_is_a_directory_leaves_no_mixed_run(tmp_path):
    """The bug: the check missed diagnostics.png; the resume rewrote the checkpoint, model, metrics and
    summary.json at epoch 5, then failed, leaving report.md at epoch 3."""
    run_dir = copy_of("iris", tmp_path)
    (run_dir / "diagnostics.png").unlink()
    (run_dir / "diagnostics.png").mkdir()
    resume_refused(tmp_path, run_dir, "diagnostics.png: is not a regular file")
    assert json.loads((run_dir / "summary.json").read_text())["epochs_trained"] == 3


def test_plot_with_one_picture_a_directory_redraws_none(tmp_path):
    run_dir = copy_of("iris", tmp_path)  # four pictures to draw, not a plane's six
    (run_dir / "confusion.png").unlink()  # the last one drawn
    (run_dir / "confusion.png").mkdir()
    before = tree(tmp_path)
    assert "confusion.png: is a directory" in one_error_line(invoke("plot", run_dir))
    assert tree(tmp_path) == before


def test_saliency_whose_picture_cannot_be_written_writes_no_table(tmp_path):
    run_dir = copy_of("moons", tmp_path)
    (run_dir / "saliency.png").mkdir()
    before = tree(tmp_path)
    assert "saliency.png: is a directory" in one_error_line(invoke("saliency", run_dir))
    assert tree(tmp_path) == before


def test_attack_whose_examples_cannot_be_written_writes_no_table(tmp_path):
    run_dir = tmp_path / "digits"
    shutil.copytree(trained_full("digits"), run_dir)
    (run_dir / "attack_examples.png").mkdir()
    before = tree(tmp_path)
    line = one_error_line(invoke("attack", run_dir, "--eps", "0.1"))
    assert "attack_examples.png: is a directory" in line
    assert tree(tmp_path) == before


# ------------------------------------------------------------------------------ planted links


@pytest.fixture(scope="module")
def resumed_through_links(tmp_path_factory):
    """A run whose every output is a link to a copy outside it, resumed: (run_dir, outside, before)."""
    base = tmp_path_factory.mktemp("links")
    run_dir = copy_of("iris", base)
    outside = base / "outside"
    outside.mkdir()
    for output in runfiles.TRAINING_OUTPUTS:
        path = run_dir / output.name
        if path.is_file():
            shutil.copy(path, outside / output.name)
            path.unlink()
            path.symlink_to(outside / output.name)
    before = tree(outside)
    result = invoke("train", "--resume", run_dir, "--epochs", "5", "--quiet")
    assert result.exit_code == 0, result.output
    return run_dir, outside, before


@pytest.mark.parametrize("output", [f.name for f in runfiles.TRAINING_OUTPUTS])
def test_a_resume_replaces_a_link_planted_at_each_output_never_writes_through_it(
    resumed_through_links, output
):
    run_dir, outside, before = resumed_through_links
    assert tree(outside) == before
    path = run_dir / output
    assert not path.is_symlink()


def test_animate_replaces_a_link_at_training_gif_and_ignores_one_at_the_old_temporary_name(tmp_path):
    run_dir = copy_of("moons", tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    (run_dir / "training.gif").symlink_to(outside)
    for pid in range(os.getpid() - 5, os.getpid() + 5):  # where nnapp used to write its frames
        (run_dir / f".training.{pid}.gif").symlink_to(outside)
    result = invoke("animate", run_dir)
    assert result.exit_code == 0, result.output
    assert outside.read_bytes() == b"precious"
    gif = run_dir / "training.gif"
    assert not gif.is_symlink() and gif.read_bytes().startswith(b"GIF89a")


def test_saliency_replaces_planted_links_at_its_outputs(tmp_path):
    run_dir = copy_of("moons", tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    for name in (runfiles.SALIENCY.name, runfiles.SALIENCY_PICTURE.name):
        (run_dir / name).symlink_to(outside)
    assert invoke("saliency", run_dir).exit_code == 0
    assert outside.read_bytes() == b"precious"
    assert not (run_dir / runfiles.SALIENCY.name).is_symlink()
