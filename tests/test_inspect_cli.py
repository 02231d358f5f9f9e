"""The commands that use a trained run, through typer's CliRunner: exit codes and short substrings."""

import csv
import io

import numpy as np
import pytest
from _shared import FLOWERS, ROOT, copy_of, trained
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.rundir.artifacts import read_csv_rows

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
IRIS = str(ROOT / "configs" / "iris.yaml")


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], env=WIDE)


# ------------------------------------------------------------------------------------------ evaluate


def test_evaluate_prints_metrics_and_redraws_trainings_confusion_png_byte_for_byte(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    drawn_by_train = (run_dir / "confusion.png").read_bytes()
    (run_dir / "confusion.png").unlink()
    result = invoke("evaluate", run_dir)
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "virginica" in result.output and "accuracy" in result.output
    assert (run_dir / "confusion.png").read_bytes() == drawn_by_train


def test_evaluate_on_another_split_keeps_the_test_picture(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    before = (run_dir / "confusion.png").read_bytes()
    assert invoke("evaluate", run_dir, "--split", "val").exit_code == 0
    assert (run_dir / "confusion_val.png").exists()
    assert (run_dir / "confusion.png").read_bytes() == before


def test_evaluate_a_csv(tmp_path):
    run_dir = copy_of("flowers_csv", tmp_path)
    result = invoke("evaluate", run_dir, "--data", FLOWERS)
    assert result.exit_code == 0, result.output
    assert "150 rows" in result.output
    assert (run_dir / "confusion_flowers.png").exists()


def test_evaluate_a_bad_split_exits_2_and_writes_nothing(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    before = sorted(p.name for p in run_dir.iterdir())
    result = invoke("evaluate", run_dir, "--split", "holdout")
    assert result.exit_code == 2
    assert "error: --split must be one of" in result.output
    assert sorted(p.name for p in run_dir.iterdir()) == before


def _truncate(run_dir):
    data = (run_dir / "model.npz").read_bytes()
    (run_dir / "model.npz").write_bytes(data[: len(data) // 2])


def _foreign(run_dir):
    buffer = io.BytesIO()
    np.savez(buffer, format_version=np.asarray(1), weights=np.ones(3))
    (run_dir / "model.npz").write_bytes(buffer.getvalue())


def _inconsistent(run_dir):
    with np.load(run_dir / "model.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["U"] = arrays["U"][:, :-1]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (run_dir / "model.npz").write_bytes(buffer.getvalue())


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "model.npz").unlink(), "model.npz: no such model file"),
        (_truncate, "model.npz: not a readable nnapp model"),
        (_foreign, "model.npz: not a readable nnapp model (missing"),
        (_inconsistent, "model.npz: damaged model (its arrays have inconsistent shapes)"),
        (lambda d: (d / "config.yaml").unlink(), "config.yaml: missing"),
        (
            lambda d: (d / "config.yaml").write_text("# nnapp run file format 1\nmodel: [1, 2\n"),
            "config.yaml: YAML error",
        ),
    ],
)
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_damaged_run_directory_is_a_one_line_error(tmp_path, damage, message, command):
    run_dir = copy_of("flowers_csv", tmp_path)
    damage(run_dir)
    args = [command, run_dir] + ([FLOWERS, "--out", tmp_path / "p.csv"] if command == "predict" else [])
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


def test_a_missing_run_directory_is_named(tmp_path):
    result = invoke("evaluate", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "nowhere: no such run directory" in result.output


# ------------------------------------------------------------------------------------------- predict


def test_predict_writes_one_row_per_input_with_probabilities(tmp_path):
    out = tmp_path / "predictions.csv"
    result = invoke("predict", trained("flowers_csv"), FLOWERS, "--proba", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 150
    assert set(rows[0]) == {"predicted", "proba_setosa", "proba_versicolor", "proba_virginica"}
    assert {r["predicted"] for r in rows} <= {"setosa", "versicolor", "virginica"}


def test_predict_without_out_prints_the_csv():
    result = invoke("predict", trained("flowers_csv"), FLOWERS)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "predicted"
    assert len(result.stdout.splitlines()) == 151


def test_predict_on_bad_input_exits_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sepal_length,sepal_width,petal_length,petal_width,garden\n1,2,3,x,east\n")
    out = tmp_path / "predictions.csv"
    result = invoke("predict", trained("flowers_csv"), bad, "--out", out)
    assert result.exit_code == 2
    assert "bad.csv: line 2, column 'petal_width': 'x' is not a number" in result.output
    assert not out.exists()


def test_predict_into_a_missing_folder_is_an_error(tmp_path):
    result = invoke("predict", trained("flowers_csv"), FLOWERS, "--out", tmp_path / "no" / "p.csv")
    assert result.exit_code == 2
    assert "no such directory" in result.output


# ----------------------------------------------------------------------------------------- gradcheck


def _rows(path):
    return read_csv_rows(path)


def test_gradcheck_at_initial_parameters_repeats_the_training_runs_epoch_0_check():
    from nnapp.config import load_config
    from nnapp.tools.gradcheck_run import check_config

    report = check_config(load_config(IRIS, ["train.epochs=3"])).report
    recorded = [r for r in _rows(trained("iris") / "gradcheck.csv") if r["epoch"] == "0"]
    assert [t.name for t in report.tensors] == [r["tensor"] for r in recorded[:5]]
    assert [t.max_error for t in report.tensors] == [float(r["max_error"]) for r in recorded[:5]]


def test_gradcheck_command_prints_a_table_per_tensor_and_passes():
    result = invoke("gradcheck", IRIS)
    assert result.exit_code == 0, result.output
    for name in ("W", "b1", "U", "b2", "x", "direction", "kinks skipped", "verdict: pass"):
        assert name in result.output


def test_gradcheck_all_checks_every_coordinate():
    from nnapp.config import load_config
    from nnapp.tools.gradcheck_run import check_config

    report = check_config(load_config(IRIS, ["model.hidden=4"]), every_coordinate=True).report
    sizes = {"W": 4 * 4, "b1": 4, "U": 3 * 4, "b2": 3, "x": 8 * 4}
    assert {t.name: t.checked + t.kinks for t in report.tensors} == sizes


def test_gradcheck_at_a_runs_parameters():
    result = invoke("gradcheck", IRIS, "--run", trained("iris"))
    assert result.exit_code == 0, result.output
    assert "parameters of" in result.output


def test_gradcheck_exits_4_when_a_gradient_is_wrong():
    result = invoke("gradcheck", IRIS, "--mistake", "scaled_y")
    assert result.exit_code == 4
    assert "verdict: fail" in result.output


def test_gradcheck_with_a_run_of_other_shapes_is_an_error():
    result = invoke("gradcheck", IRIS, "--run", trained("moons"))
    assert result.exit_code == 2
    assert "W has shape (16, 2), but" in result.output


def test_gradcheck_with_a_bad_override_is_an_error():
    result = invoke("gradcheck", IRIS, "gradcheck.eps=-1")
    assert result.exit_code == 2
    assert "gradcheck.eps must be > 0" in result.output


# ------------------------------------------------------------------------------------ shapes, datasets


def test_shapes_prints_the_derivations_shape_check_and_the_named_sizes():
    result = invoke("shapes", IRIS)
    assert result.exit_code == 0, result.output
    assert "δ2 = ∂J/∂z = δ1 U ⊙ sgn(h)" in result.output
    assert "(1×D_h) = δ1 (1×N_c) · U (N_c×D_h) ⊙ sgn(h)ᵀ (1×D_h)" in result.output
    assert "(B×D_h: 16×16)" in result.output  # B = D_h = 16 in iris.yaml: the names tell them apart
    assert "Δ2 = (Δ1 U) ⊙ [Z > 0]" in result.output  # brackets survive rich markup


def test_shapes_counts_one_hot_columns_as_inputs():
    result = invoke("shapes", ROOT / "configs" / "flowers_csv.yaml", f"data.path={FLOWERS}")
    assert result.exit_code == 0, result.output
    assert "D_x = 7 inputs" in result.output  # 4 measurements + 3 gardens


def test_shapes_of_a_missing_config_is_an_error(tmp_path):
    result = invoke("shapes", tmp_path / "none.yaml")
    assert result.exit_code == 2
    assert "no such config file" in result.output


def test_datasets_lists_every_builtin_with_its_size():
    result = invoke("datasets")
    assert result.exit_code == 0
    for name in ("iris", "wine", "breast_cancer", "digits", "moons", "circles", "blobs"):
        assert name in result.output
    assert "1797" in result.output and "64" in result.output


# ---------------------------------------------------------------------------------------------- plot


def test_plot_redraws_a_runs_pictures_and_report(tmp_path):
    run_dir = copy_of("moons", tmp_path)
    names = ("curves.png", "gradcheck.png", "confusion.png", "decision_boundary.png", "report.md")
    for name in names:
        (run_dir / name).unlink()
    result = invoke("plot", run_dir)
    assert result.exit_code == 0, result.output
    assert all((run_dir / name).exists() for name in names)


def test_plot_of_several_runs_writes_one_comparison(tmp_path):
    out = tmp_path / "compare.png"
    result = invoke("plot", trained("iris"), trained("flowers_csv"), "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_plot_of_a_non_run_writes_nothing(tmp_path):
    out = tmp_path / "compare.png"
    result = invoke("plot", trained("iris"), tmp_path, "--out", out)
    assert result.exit_code == 2
    assert "config.yaml: missing" in result.output
    assert not out.exists()


def test_plot_with_a_damaged_metrics_file_is_an_error(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    (run_dir / "metrics.csv").write_text("# nnapp run file format 1\nepoch,train_loss\n1,0.5\n")
    result = invoke("plot", run_dir)
    assert result.exit_code == 2
    assert "metrics.csv: missing column(s)" in result.output


def test_gradcheck_at_a_runs_weights_holding_a_nan_never_passes(tmp_path):
    from nnapp.rundir import artifacts

    run_dir = copy_of("iris", tmp_path)
    with np.load(run_dir / "model.npz", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["U"] = arrays["U"].copy()
    arrays["U"][0, 0] = np.nan
    artifacts.save_npz(run_dir / "model.npz", arrays)
    result = invoke("gradcheck", IRIS, "--run", run_dir)
    # 4: the check fails on the NaN; 2: the run is refused as damaged when it is read. Never a pass.
    assert result.exit_code in (2, 4), result.output
    assert "pass" not in result.output.replace("pass ≤", "")
    if result.exit_code == 4:
        assert "verdict: fail" in result.output and "NaN/inf" in result.output
