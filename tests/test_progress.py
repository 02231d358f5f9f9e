"""`nnapp train` on a console that is not a terminal: plain lines, every output.log_every epochs."""

import math

from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.rundir.artifacts import read_csv_rows

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


def train(tmp_path, epochs: int, log_every: int, *options: str, env: dict[str, str] | None = None):
    path = tmp_path / "progress.yaml"
    path.write_text(CONFIG.format(epochs=epochs, log_every=log_every, runs=tmp_path / "runs"))
    result = runner.invoke(app, ["train", str(path), *options], env=env)
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
    rows = {int(row["epoch"]): row for row in read_csv_rows(run_dir / "metrics.csv")}
    for line in epoch_lines(result.output):
        epoch = int(line.split()[1].split("/")[0])
        r = {k: float(v) for k, v in rows[epoch].items()}
        assert line == (
            f"epoch {epoch:>4}/4  loss {r['train_loss']:.4f} val {r['val_loss']:.4f} "
            f"acc {r['train_acc']:.3f} val {r['val_acc']:.3f}  lr {r['lr']:.3g}"
        )


def test_the_first_line_is_the_initial_loss_next_to_chance_level(tmp_path):
    result, run_dir = train(tmp_path, epochs=2, log_every=1)
    epoch0 = read_csv_rows(run_dir / "metrics.csv")[0]
    chance = math.log(3)  # iris: three classes
    assert result.output.splitlines()[0] == (
        f"epoch 0: loss {float(epoch0['train_ce']):.4f} (chance level ln N_c = {chance:.4f})"
    )


def test_quiet_prints_no_progress_lines_and_no_table_only_the_summary(tmp_path):
    result, _ = train(tmp_path, 4, 1, "--quiet")
    assert epoch_lines(result.output) == [] and "epoch 0:" not in result.output
    assert result.output.startswith("completed: test accuracy ")
    assert "┃" not in result.output and len(result.output.splitlines()) == 4


def test_the_stop_reason_prints_before_the_run_directory_which_comes_last(tmp_path):
    result, _ = train(tmp_path, 40, 1, "train.early_stopping.patience=1")
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("run directory: ")
    assert any(line.startswith("early stopping: ") for line in lines[:-1])


def test_at_80_columns_the_summary_lines_do_not_wrap(tmp_path):
    result, _ = train(tmp_path, 4, 1, env={"COLUMNS": "80"})
    tail = result.output.strip().splitlines()[-3:]
    assert tail[0].startswith("best epoch 4 of 4 · ") and tail[1].startswith("gradcheck ")


def _check(epoch: int, verdict: str, when: str = "epoch"):
    from nnapp.core.gradcheck import GradcheckReport, TensorCheck
    from nnapp.training.records import GradcheckRecord

    tensor = TensorCheck("W", 1, 0, 1e-8, (0, 0), verdict)
    return GradcheckRecord(epoch, when, GradcheckReport([tensor]))


def test_a_repeated_unreliable_or_warning_check_is_printed_once_but_every_failure_and_the_final_check(capsys):
    from nnapp.cli.progress import Reporter

    reporter = Reporter(epochs=100, quiet=True, log_every=0)
    for epoch, verdict in ((10, "unreliable"), (20, "unreliable"), (30, "warn"), (40, "warn")):
        reporter.on_gradcheck(_check(epoch, verdict))
    for epoch in (50, 60):
        reporter.on_gradcheck(_check(epoch, "fail"))
    reporter.on_gradcheck(_check(60, "unreliable", when="final"))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("gradcheck")]
    assert [line.split(":")[0] for line in lines] == [
        "gradcheck at epoch 10",
        "gradcheck at epoch 30",
        "gradcheck at epoch 50",
        "gradcheck at epoch 60",
        "gradcheck of the saved model (epoch 60)",
    ]
    assert "later unreliable checks: in gradcheck.csv" in lines[0]


def test_the_summary_line_counts_the_checks_that_did_not_pass():
    from types import SimpleNamespace

    from nnapp.cli.render import summary_lines

    def line(verdicts):
        checks = [_check(10 * i, v) for i, v in enumerate(verdicts)]
        result = SimpleNamespace(checks=checks, best_epoch=3, state=SimpleNamespace(epoch=9), seconds=1.0)
        return summary_lines(SimpleNamespace(result=result, run_dir="runs/x"))[1]

    assert "gradcheck pass (3 checks, max error 1.0e-08)" in line(["pass", "pass", "pass"])
    mixed = line(["pass", "unreliable", "warn", "unreliable", "pass"])
    assert "gradcheck pass at the end (5 checks, 2 unreliable, 1 warn, max error 1.0e-08)" in mixed
