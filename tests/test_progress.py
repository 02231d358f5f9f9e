"""`nnapp train` on a console that is not a terminal: plain lines, every output.log_every epochs."""

import csv
import math

from typer.testing import CliRunner

from nnapp.cli.app import app

runner = CliRunner()

CONFIG = """
name: progress
seed: 1
data:
  dataset: iris
model:
  hidden: 8
train:
  epochs: {epochs}
  batch_size: 32
gradcheck:
  enabled: false
output:
  plots: false
  log_every: {log_every}
  dir: {runs}
"""


def train(tmp_path, epochs: int, log_every: int, *options: str):
    path = tmp_path / "progress.yaml"
    path.write_text(CONFIG.format(epochs=epochs, log_every=log_every, runs=tmp_path / "runs"))
    result = runner.invoke(app, ["train", str(path), *options])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs" / "progress").iterdir()
    return result, run_dir


def epoch_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("epoch ") and "/" in line]


def test_plain_lines_come_after_epoch_1_and_every_log_every_epochs(tmp_path):
    result, _ = train(tmp_path, epochs=7, log_every=3)
    assert [line.split()[1] for line in epoch_lines(result.output)] == ["1/7", "3/7", "6/7"]


def test_without_log_every_about_twenty_lines_are_printed(tmp_path):
    result, _ = train(tmp_path, epochs=40, log_every=0)  # every max(1, 40 // 20) = 2 epochs
    epochs = [int(line.split()[1].split("/")[0]) for line in epoch_lines(result.output)]
    assert epochs == [1, *range(2, 41, 2)]


def test_each_line_shows_the_epochs_row_of_metrics_csv(tmp_path):
    result, run_dir = train(tmp_path, epochs=4, log_every=2)
    with (run_dir / "metrics.csv").open() as handle:
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle)}
    for line in epoch_lines(result.output):
        epoch = int(line.split()[1].split("/")[0])
        r = {k: float(v) for k, v in rows[epoch].items()}
        assert line == (
            f"epoch {epoch:>4}/4  loss {r['train_loss']:.4f} val {r['val_loss']:.4f} "
            f"acc {r['train_acc']:.3f} val {r['val_acc']:.3f}  lr {r['lr']:.3g}"
        )


def test_the_first_line_is_the_initial_loss_next_to_chance_level(tmp_path):
    result, run_dir = train(tmp_path, epochs=2, log_every=1)
    with (run_dir / "metrics.csv").open() as handle:
        epoch0 = next(csv.DictReader(handle))
    chance = math.log(3)  # iris: three classes
    assert result.output.splitlines()[0] == (
        f"epoch 0: loss {float(epoch0['train_ce']):.4f} (chance level ln N_c = {chance:.4f})"
    )


def test_quiet_prints_no_progress_lines_only_the_summary(tmp_path):
    result, _ = train(tmp_path, 4, 1, "--quiet")
    assert epoch_lines(result.output) == [] and "epoch 0:" not in result.output
    assert "nnapp run: completed" in result.output
