"""Real signals to a real `nnapp train` process: Ctrl-C/SIGTERM save everything; SIGKILL corrupts nothing."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnapp.config import load_config
from nnapp.orchestration.job import execute, prepare_resume
from nnapp.rundir.artifacts import read_csv_rows
from nnapp.rundir.checkpoint import load_checkpoint
from nnapp.rundir.model_file import load_model
from nnapp.rundir.snapshots import load_snapshots
from nnapp.training.records import METRIC_COLUMNS

# Far more epochs than a test waits for: the run is always stopped by a signal.
ENDLESS = """
name: endless
seed: 1
data:
  dataset: iris
model:
  hidden: 8
train:
  epochs: 1000000
  batch_size: 16
  early_stopping:
    patience: 0
gradcheck:
  every: 50
  coords: 2
output:
  dir: {runs}
"""
PNG_END = b"IEND\xaeB`\x82"


def start(
    write_config, tmp_path: Path, name: str = "config.yaml", epochs: int = 1_000_000
) -> tuple[subprocess.Popen, Path]:
    text = ENDLESS.format(runs=tmp_path / "runs").replace("epochs: 1000000", f"epochs: {epochs}")
    config = write_config(text, name)
    process = subprocess.Popen(
        [sys.executable, "-m", "nnapp", "train", str(config), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    return process, tmp_path / "runs" / "endless"


def default_signals() -> None:
    """What a terminal's process meets: a shell's background job (or nohup) would inherit these ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def wait_for_checkpoint(process: subprocess.Popen, runs: Path, timeout: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(runs.glob("*/checkpoint.npz"))
        if found:
            return found[0].parent
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    raise AssertionError("no checkpoint appeared")


def load_everything(run: Path) -> set[str]:
    """Open every file the run directory holds with the reader meant for it; return their names."""
    names = set()
    for path in run.iterdir():
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue  # a write cut short by SIGKILL: never renamed into place, so never read
        names.add(path.name)
        if path.name == "config.yaml":
            load_config(path)
        elif path.name == "checkpoint.npz":
            load_checkpoint(run)
        elif path.name == "model.npz":
            load_model(path)
        elif path.name == "snapshots.npz":
            load_snapshots(run)
        elif path.name == "metrics.csv":
            rows = read_csv_rows(path)
            assert rows and all(len(r) == len(METRIC_COLUMNS) and None not in r.values() for r in rows)
        elif path.name == "gradcheck.csv":
            assert read_csv_rows(path)
        elif path.name == "summary.json":
            json.loads(path.read_text())
        elif path.name == "report.md":
            assert path.read_text(encoding="utf-8").strip()
        elif path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG") and data.endswith(PNG_END), path.name
        else:
            raise AssertionError(f"unexpected file {path.name}")
    return names


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_saves_everything_prints_how_to_resume_and_exits_130(write_config, tmp_path, signum):
    process, runs = start(write_config, tmp_path)
    run = wait_for_checkpoint(process, runs)
    process.send_signal(signum)
    if signum == signal.SIGINT:  # keep pressing Ctrl-C while it saves: nothing may be cut short
        while process.poll() is None:
            time.sleep(0.01)
            process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"nnapp train --resume {run}" in stderr and "Traceback" not in stderr
    names = load_everything(run)
    assert {"model.npz", "metrics.csv", "summary.json", "checkpoint.npz", "curves.png"} <= names
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "interrupted"
    saved = load_checkpoint(run).state
    assert saved.epoch == summary["epochs_trained"]  # the last full epoch (0 if stopped in epoch 1)
    assert prepare_resume(run).checkpoint.state.epoch == saved.epoch


def test_sigkill_at_random_moments_leaves_only_complete_files(write_config, tmp_path):
    rng = random.Random(20261126)
    # two endless runs (killed while checkpoints are written, every 0.5 s) and two that end about a second
    # or two after starting (killed at any moment, while the model, plots and report are written included)
    epochs = [1_000_000, 1_000_000, 600, 600]
    started = [start(write_config, tmp_path / f"kill{i}", f"kill{i}.yaml", e) for i, e in enumerate(epochs)]
    kills = []
    for process, runs in started:
        run = wait_for_checkpoint(process, runs)
        kills.append((time.monotonic() + rng.uniform(0.0, 2.0), process, run))
    for when, process, _ in sorted(kills, key=lambda k: k[0]):
        time.sleep(max(0.0, when - time.monotonic()))
        os.kill(process.pid, signal.SIGKILL)
    for _, process, run in kills:
        process.communicate(timeout=30)
        assert {"config.yaml", "checkpoint.npz", "metrics.csv"} <= load_everything(run)
        epoch = load_checkpoint(run).state.epoch
        resumed = execute(prepare_resume(run, epochs=epoch + 2))  # and it goes on from there
        assert resumed.result.stop_reason == "completed" and resumed.result.state.epoch == epoch + 2
        assert not list(run.glob(".*.tmp"))  # the killed writes' leftovers are cleaned up
        assert "model.npz" in load_everything(run)


def test_a_reader_that_goes_away_does_not_stop_training_and_the_run_directory_is_complete(
    write_config, tmp_path
):
    """`nnapp train CONFIG | head -3`: training goes on, stops writing to the closed pipe, exits as usual."""
    # a line per epoch (~70 bytes), more than a pipe holds (64 KiB): it writes again after the pipe is closed
    text = ENDLESS.format(runs=tmp_path / "runs").replace("epochs: 1000000", "epochs: 1200")
    text = text.replace("batch_size: 16", "batch_size: 90").replace("every: 50", "every: 0")  # fast epochs
    config = write_config(text + "  log_every: 1\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "nnapp", "train", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    head = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=120)
    assert head[0].startswith("epoch 0: loss") and head[2].startswith("epoch    2/1200")
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    (run,) = (tmp_path / "runs" / "endless").iterdir()
    assert {"model.npz", "summary.json", "curves.png", "report.md"} <= load_everything(run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "completed" and summary["epochs_trained"] == 1200


def test_sigterm_while_loading_the_config_is_one_line_exit_130_and_writes_nothing(tmp_path):
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)  # reading it blocks until a writer comes: the process waits inside config loading
    process = subprocess.Popen(
        [sys.executable, "-m", "nnapp", "train", str(fifo), f"output.dir={tmp_path / 'runs'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # opening the writing end succeeds once nnapp has the file open for reading
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # nnapp is blocked reading the config: nothing is loaded yet
        stdout, stderr = process.communicate(timeout=60)
        os.close(writer)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert stderr == "error: interrupted by SIGTERM\n" and stdout == ""
    assert not (tmp_path / "runs").exists()
