"""`nnapp animate RUN`: training.gif for two-feature data and for 8x8 images, one frame per snapshot;
any other data, or a run without snapshots, refused in one line with exit code 2."""

import itertools

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.orchestration.experiment import run_experiment
from nnapp.pictures import animation
from nnapp.rundir.snapshots import SNAPSHOTS_NAME, load_snapshots

runner = CliRunner()
QUIET = ["gradcheck.enabled=false", "output.plots=false"]


def _run(write_config, text: str, *overrides: str):
    return run_experiment(load_config(write_config(text), [*QUIET, *overrides])).run_dir


def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
        return frames


def _durations(path) -> list[int]:
    with Image.open(path) as gif:
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
        return durations


def test_training_keeps_snapshots_but_draws_no_animation(write_config):
    run = _run(write_config, "name: m\ndata: {dataset: moons, n_samples: 120}\ntrain: {epochs: 4}\n")
    assert (run / SNAPSHOTS_NAME).exists()
    assert not (run / "training.gif").exists()


def test_animate_draws_a_distinct_frame_for_every_snapshot_of_two_feature_data(write_config):
    run = _run(write_config, "name: s\ndata: {dataset: spiral, n_samples: 150}\ntrain: {epochs: 6}\n")
    result = runner.invoke(app, ["animate", str(run)])
    assert result.exit_code == 0, result.output
    assert "training.gif" in result.output
    frames = _frames(run / "training.gif")
    snapshots = len(load_snapshots(run).epochs)
    assert snapshots == 7  # epochs 0..6
    # Pillow merges identical frames: the held last frame is one; every epoch's frame is its own
    assert len(frames) == snapshots
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    frame_ms = int(1000 / animation.FPS)  # each epoch's frame in turn, the trained model held before the loop
    hold_ms = frame_ms * round(animation.HOLD_LAST_SECONDS * animation.FPS)
    in_gif = [ms // 10 * 10 for ms in [frame_ms] * (snapshots - 1) + [hold_ms]]  # a GIF keeps 1/100 s
    assert _durations(run / "training.gif") == in_gif


def test_animate_draws_the_weights_of_8x8_image_data(write_config):
    run = _run(write_config, "name: d\ndata: {dataset: digits}\nmodel: {hidden: 8}\ntrain: {epochs: 3}\n")
    result = runner.invoke(app, ["animate", str(run)])
    assert result.exit_code == 0, result.output
    frames = _frames(run / "training.gif")
    assert len(frames) == 4
    assert not np.array_equal(frames[0], frames[-1])


def test_animate_refuses_data_it_cannot_draw_in_one_line(write_config):
    run = _run(write_config, "name: i\ndata: {dataset: iris}\ntrain: {epochs: 2}\n")
    result = runner.invoke(app, ["animate", str(run)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot animate 'iris'" in lines[0] and "4 features" in lines[0]
    assert not (run / "training.gif").exists()


def test_animate_refuses_a_run_without_snapshots_in_one_line(write_config):
    run = _run(write_config, "name: m\ndata: {dataset: moons, n_samples: 120}\ntrain: {epochs: 2}\n")
    (run / SNAPSHOTS_NAME).unlink()
    result = runner.invoke(app, ["animate", str(run)])
    assert result.exit_code == 2
    assert "no parameter snapshots" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(run.glob("*.gif"))
