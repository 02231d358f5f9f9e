"""Per-epoch diagnostics: every metrics.csv column against an independent recomputation, the warning
lines, diagnostics.png and the report's Diagnostics section."""

import csv
import io
import math

import numpy as np
import pytest
from _shared import copy_of, trained

from nnapp.config import config_from_mapping
from nnapp.core import network
from nnapp.data.datasets import load_dataset
from nnapp.errors import ArtifactError
from nnapp.orchestration.report import ReportRecord, report_markdown
from nnapp.rundir import files
from nnapp.rundir.artifacts import csv_text, read_csv_rows
from nnapp.rundir.runs import read_history
from nnapp.training.alarms import DEAD_ALARM, UPDATE_RATIO_HIGH, UPDATE_RATIO_LOW, record_alarms, run_alarms
from nnapp.training.records import DIAGNOSTIC_COLUMNS, METRIC_COLUMNS, EpochRecord
from nnapp.training.start import init_state
from nnapp.training.trainer import train

PNG = b"\x89PNG\r\n\x1a\n"


def _setup(epochs: int, lr: float = 2.0, hidden: int = 16, weight_decay: float = 0.0):
    """iris at a learning rate high enough to kill hidden units within three epochs (measured)."""
    raw = {
        "data": {"dataset": "iris"},
        "model": {"hidden": hidden},
        "optim": {"lr": lr, "momentum": 0.9, "weight_decay": weight_decay},
        "train": {"epochs": epochs, "batch_size": 30, "early_stopping": {"patience": 0}},
        "gradcheck": {"enabled": False},
    }
    cfg, _ = config_from_mapping(raw)
    return cfg, load_dataset(cfg.data, cfg.seed)


def _weights_after(epochs: int, **kw) -> tuple[dict[str, np.ndarray], object]:
    """A replay: the same config and seed trained for `epochs` epochs ends at the weights the longer
    run had at that epoch's end (training is deterministic); returns those weights and the state."""
    cfg, data = _setup(epochs, **kw)
    result = train(cfg, data)
    return network.views(result.state.flat.copy(), data.n_features, cfg.model.hidden, data.n_classes), result


def test_dead_and_active_fractions_match_the_pre_activations_recomputed_from_replayed_weights():
    cfg, data = _setup(3)
    history = train(cfg, data).history
    assert any(r.dead_frac > 0 for r in history)  # the test would not see a miscount of zero
    for epoch in (1, 2, 3):
        params, _ = _weights_after(epoch)
        z = data.X_train.astype(np.float64) @ params["W"].T.astype(np.float64) + params["b1"]
        assert history[epoch].dead_frac == np.mean(np.all(z <= 0, axis=0))
        assert history[epoch].active_frac == pytest.approx(np.mean(z > 0), abs=1e-12)


def test_per_tensor_gradient_norms_are_the_full_data_gradient_at_the_epoch_end_weights():
    cfg, data = _setup(2, lr=0.1, weight_decay=0.01)
    record = train(cfg, data).history[-1]
    params, _ = _weights_after(2, lr=0.1, weight_decay=0.01)
    _, grads = network.loss_and_grads(params, data.X_train, data.y_train, 0.01)  # class indices, new arrays
    for name in ("W", "b1", "U", "b2"):
        assert getattr(record, f"grad_norm_{name}") == pytest.approx(np.linalg.norm(grads[name]), rel=1e-10)
    total = math.sqrt(sum(np.linalg.norm(grads[n]) ** 2 for n in ("W", "b1", "U", "b2")))
    assert record.grad_norm == pytest.approx(total, rel=1e-10)


def test_the_update_ratio_is_that_of_the_epochs_last_step_replayed_by_hand():
    lr, momentum, epochs = 0.1, 0.9, 3
    cfg, data = _setup(epochs, lr=lr)
    record = train(cfg, data).history[epochs]
    _, before = _weights_after(epochs - 1, lr=lr)
    state = before.state
    p, v = state.flat.copy(), state.sgd.velocity.copy()
    dims = (data.n_features, cfg.model.hidden, data.n_classes)
    n, batch = len(data.y_train), cfg.train.batch_size
    order = state.shuffle_rng.permutation(n)  # the stream continues where the shorter run left it
    previous = p
    for start in range(0, n, batch):
        rows = order[start : start + batch]
        _, grads = network.loss_and_grads(network.views(p, *dims), data.X_train[rows], data.y_train[rows])
        g = np.concatenate([grads[name].ravel() for name in network.PARAM_NAMES])
        v = momentum * v - lr * g  # heavy-ball SGD, written out here
        previous, p = p, p + v
    before_last, after = network.views(previous, *dims), network.views(p, *dims)
    for name in ("W", "U"):
        expected = np.linalg.norm(after[name] - before_last[name]) / np.linalg.norm(after[name])
        assert getattr(record, f"update_ratio_{name}") == pytest.approx(expected, rel=1e-9)


def test_epoch_zero_has_taken_no_step_so_its_update_ratios_are_zero():
    cfg, data = _setup(1)
    initial = train(cfg, data).history[0]
    assert (initial.update_ratio_W, initial.update_ratio_U) == (0.0, 0.0)
    params = network.views(init_state(cfg, data).flat, data.n_features, cfg.model.hidden, data.n_classes)
    assert initial.dead_frac == np.mean(np.all(data.X_train @ params["W"].T + params["b1"] <= 0, axis=0))


def test_metrics_csv_holds_every_diagnostics_column_and_reads_back_the_same_values():
    run_dir = trained("iris")
    header = next(csv.reader(io.StringIO(files.read_run_text(run_dir / "metrics.csv"))))
    assert tuple(header) == METRIC_COLUMNS and set(DIAGNOSTIC_COLUMNS) <= set(header)
    history = read_history(run_dir)
    assert all(math.isfinite(getattr(r, c)) for r in history for c in DIAGNOSTIC_COLUMNS)


def test_a_metrics_csv_without_the_diagnostics_columns_is_refused_naming_them(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    path = run_dir / "metrics.csv"
    rows = read_csv_rows(path)
    old = [c for c in METRIC_COLUMNS if c not in DIAGNOSTIC_COLUMNS]
    files.write_run_text(path, csv_text(old, ({c: row[c] for c in old} for row in rows)))
    with pytest.raises(ArtifactError, match="missing column") as caught:
        read_history(run_dir)
    assert DIAGNOSTIC_COLUMNS[0] in str(caught.value) and "\n" not in str(caught.value)


def _record(epoch: int, **diagnostics: float) -> EpochRecord:
    values = {"dead_frac": 0.0, "active_frac": 0.5, "update_ratio_W": 1e-3, "update_ratio_U": 1e-3}
    values |= {name: 0.1 for name in ("grad_norm_W", "grad_norm_b1", "grad_norm_U", "grad_norm_b2")}
    return EpochRecord(epoch, 1.0, 0.5, 1.0, 0.5, 1.0, 0.0, 0.1, 1.0, 0.0, **{**values, **diagnostics})


def test_dead_units_past_the_line_are_said_in_one_line_with_the_remedy():
    (alarm,) = record_alarms(_record(3, dead_frac=0.41))
    assert alarm.message.startswith("41% of hidden units are dead at epoch 3")
    assert "lower optim.lr" in alarm.message and "\n" not in alarm.message
    assert record_alarms(_record(3, dead_frac=DEAD_ALARM - 0.01)) == []


def test_update_ratios_far_from_1e_3_are_said_with_the_tensor_and_the_remedy():
    (high,) = record_alarms(_record(5, update_ratio_U=3 * UPDATE_RATIO_HIGH))
    assert "update ratio of U is 3.0e-01 at epoch 5" in high.message and "lower optim.lr" in high.message
    (low,) = record_alarms(_record(1, update_ratio_W=UPDATE_RATIO_LOW / 10))
    assert "update ratio of W is 1.0e-06 at epoch 1" in low.message and "raise optim.lr" in low.message
    assert record_alarms(_record(40, update_ratio_W=UPDATE_RATIO_LOW / 10)) == []  # late: may be converged
    assert record_alarms(_record(1, update_ratio_U=3 * UPDATE_RATIO_HIGH)) == []  # from random weights


def test_epoch_zero_never_warns_and_each_kind_is_said_once_from_its_first_epoch():
    history = [_record(0, dead_frac=0.9), _record(1, dead_frac=0.5), _record(2, dead_frac=0.6)]
    (alarm,) = run_alarms(history)
    assert alarm.epoch == 1


def test_a_run_that_crosses_a_line_says_so_in_report_md_and_draws_diagnostics_png(tmp_path):
    from nnapp.config import load_config
    from nnapp.orchestration.experiment import run_experiment

    loaded = load_config(
        "configs/iris.yaml",
        [f"output.dir={tmp_path}", "optim.lr=2", "train.epochs=2", "gradcheck.enabled=false"],
    )
    outcome = run_experiment(loaded, [])
    report = (outcome.run_dir / "report.md").read_text()
    assert "- warning: update ratio of W is" in report and "lower optim.lr" in report
    assert (outcome.run_dir / "diagnostics.png").read_bytes()[:8] == PNG
    assert report == report_markdown(ReportRecord.read(outcome.run_dir))


def test_a_healthy_shipped_config_crosses_no_line():
    report = (trained("moons") / "report.md").read_text()
    assert "No warning line was crossed" in report
    assert "](diagnostics.png)" in report


def test_the_console_says_a_crossed_line_once_in_one_line(write_config):
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    args = ["optim.lr=2", "train.epochs=3", "gradcheck.enabled=false", "output.plots=false"]
    result = CliRunner().invoke(app, ["train", str(write_config("data:\n  dataset: iris\n")), *args])
    lines = [line for line in result.output.splitlines() if line.startswith("warning: update ratio")]
    assert len(lines) == 1, result.output
    assert lines[0].endswith("lower optim.lr")


def test_the_progress_reporter_says_each_kind_of_warning_at_its_first_epoch_only(capsys):
    from nnapp.cli.progress import Reporter

    reporter = Reporter(epochs=5, quiet=False, log_every=100)
    for epoch in (2, 3, 4):
        reporter.on_epoch_end(_record(epoch, dead_frac=0.5, update_ratio_W=0.5), None)
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(said) == 2
    assert "dead at epoch 2" in said[0] and "update ratio of W is 5.0e-01 at epoch 2" in said[1]
