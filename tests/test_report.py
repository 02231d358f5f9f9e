"""Every train run writes confusion.png, decision_boundary.png (2 features) and report.md."""

import json

import numpy as np
from _shared import copy_of, trained

from nnapp.core.network import predict
from nnapp.orchestration.report import ReportRecord, report_markdown
from nnapp.pictures.run import plane_grid
from nnapp.rundir.runs import load_run, read_checks, read_history
from nnapp.tools.overlay import differing_keys, run_labels

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_two_feature_run_draws_confusion_and_decision_regions():
    run_dir = trained("moons")
    assert (run_dir / "confusion.png").read_bytes()[:8] == PNG
    assert (run_dir / "decision_boundary.png").read_bytes()[:8] == PNG


def test_a_run_with_more_features_has_no_decision_regions():
    run_dir = trained("iris")
    assert (run_dir / "confusion.png").exists()
    assert not (run_dir / "decision_boundary.png").exists()


def test_report_shows_the_summary_the_verdicts_and_every_picture():
    run_dir = trained("moons")
    report = (run_dir / "report.md").read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"| test | {summary['test_acc']:.4f} | {summary['test_loss']:.4f} |" in report
    for tensor in ("W", "b1", "U", "b2", "x", "direction"):
        assert f"| {tensor} | " in report
    for picture in ("curves.png", "gradcheck.png", "confusion.png", "decision_boundary.png"):
        assert f"]({picture})" in report


def test_report_md_is_what_report_markdown_builds_from_the_files():
    run_dir = trained("iris")
    assert (run_dir / "report.md").read_text() == report_markdown(ReportRecord.read(run_dir))
    assert "decision_boundary.png" not in report_markdown(ReportRecord.read(run_dir))


def test_the_decision_plane_grid_covers_the_points_and_its_rows_are_the_grid_cells():
    run = load_run(trained("moons"))
    X_raw = np.random.default_rng(0).normal(size=(50, 2))
    mean, scale = run.model.scaler_mean, run.model.scaler_scale
    xx, yy, points = plane_grid(X_raw, resolution=20)
    assert xx.min() < X_raw[:, 0].min() and xx.max() > X_raw[:, 0].max()
    assert yy.min() < X_raw[:, 1].min() and yy.max() > X_raw[:, 1].max()
    labels = predict(run.params, (points - mean) / scale).reshape(xx.shape)
    point = (np.array([xx[3, 7], yy[3, 7]]) - mean) / scale
    assert labels[3, 7] == predict(run.params, point[None, :])[0]


def test_metrics_csv_reads_back_into_the_same_records():
    from nnapp.data.datasets import load_dataset
    from nnapp.training.trainer import train

    run = load_run(trained("iris"))
    history = read_history(run.path)
    cfg = run.config
    expected = train(cfg, load_dataset(cfg.data, cfg.seed)).history
    assert [r.epoch for r in history] == [0, 1, 2, 3]
    assert [r.val_loss for r in history] == [r.val_loss for r in expected]  # repr round-trips floats


def test_gradcheck_csv_reads_back_one_record_per_check():
    checks = read_checks(trained("iris"))
    assert [c.when for c in checks][-1] == "final"
    assert all(len(c.report.tensors) == 5 and c.report.directional is not None for c in checks)


def test_labels_name_each_run_and_the_settings_that_differ():
    configs = [
        {"name": "a", "optim": {"lr": 0.1, "momentum": 0.9}},
        {"name": "a", "optim": {"lr": 1, "momentum": 0.9}},
    ]
    assert differing_keys(configs) == ["optim.lr"]
    run = load_run(trained("iris"))
    other = load_run(trained("flowers_csv"))
    labels = run_labels([run, other])
    assert labels[0].startswith("iris ") and labels[1].startswith("flowers_csv ")
    assert "data.dataset=iris" in labels[0] and "data.dataset=csv" in labels[1]
    assert "output.dir" not in labels[0]


def test_runs_of_the_same_config_are_told_apart_by_their_directory(tmp_path):
    run = load_run(trained("iris"))
    twin = load_run(copy_of("iris", tmp_path))
    labels = run_labels([run, twin])
    assert labels == [f"iris [{run.path.name}]", "iris [iris]"]


def test_a_two_column_csv_gets_decision_regions_and_a_report_without_pictures_when_plots_are_off(tmp_path):
    from nnapp.config import load_config
    from nnapp.orchestration.experiment import run_experiment

    rng = np.random.default_rng(0)
    rows = [f"{x:.3f},{y:.3f},{'left' if x < 0 else 'right'}" for x, y in rng.normal(size=(60, 2))]
    (tmp_path / "two.csv").write_text("a,b,side\n" + "\n".join(rows) + "\n")
    text = (
        f"name: two\ndata:\n  dataset: csv\n  path: {tmp_path / 'two.csv'}\n  target: side\n"
        f"train:\n  epochs: 2\noutput:\n  dir: {tmp_path / 'runs'}\n"
    )
    (tmp_path / "two.yaml").write_text(text)
    with_plots = run_experiment(load_config(tmp_path / "two.yaml")).run_dir
    assert (with_plots / "decision_boundary.png").exists()
    assert "](decision_boundary.png)" in (with_plots / "report.md").read_text()
    without = run_experiment(load_config(tmp_path / "two.yaml", ["output.plots=false"])).run_dir
    assert not list(without.glob("*.png"))
    assert "![" not in (without / "report.md").read_text()


def test_nnapp_report_rewrites_report_md_with_the_lab_pictures_present(tmp_path):
    from typer.testing import CliRunner

    from nnapp.cli.app import app

    run_dir = copy_of("iris", tmp_path)
    (run_dir / "saliency.png").write_bytes(PNG)  # as `nnapp saliency` leaves it
    (run_dir / "report.md").unlink()
    result = CliRunner().invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "](saliency.png)" in (run_dir / "report.md").read_text()


def test_a_run_still_training_is_said_to_be_so_not_a_missing_model(tmp_path):
    from typer.testing import CliRunner

    from nnapp.cli.app import app
    from nnapp.rundir.runlock import lock_run_dir

    run_dir = copy_of("iris", tmp_path)
    (run_dir / "model.npz").unlink()  # written when the run ends
    lock = lock_run_dir(run_dir)  # what a training process holds
    try:
        for command in (["evaluate", str(run_dir)], ["report", str(run_dir)]):
            result = CliRunner().invoke(app, command)
            assert result.exit_code == 2, result.output
            assert "still training" in result.output and "no such model file" not in result.output
    finally:
        lock.release()
