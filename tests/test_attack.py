"""attack: FGSM along sign(dJ/dx) beats a random-sign control of the same size; bad eps is exit 2."""

import csv
import io

import numpy as np
import pytest
from _lab_runs import copy_of_full, trained_full
from _runs import copy_of, trained
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.errors import NnappError
from nnapp.lab.attack import attack, fgsm_directions, parse_eps, random_directions
from nnapp.rundir.runs import load_run, rebuild_dataset
from nnapp.tools.evaluation import evaluate_run

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env=WIDE)


@pytest.mark.parametrize(("name", "split"), [("iris", "test"), ("iris", "val"), ("digits", "test")])
def test_eps_zero_is_exactly_the_splits_accuracy(name, split):
    run = load_run(trained(name) if name == "iris" else trained_full(name))
    zero = attack(run, (0.0, 0.1), split).points[0]
    expected = evaluate_run(run, split).accuracy
    assert zero.accuracy_fgsm == expected and zero.accuracy_random == expected


@pytest.mark.parametrize("name", ["digits", "breast_cancer"])
def test_fgsm_accuracy_falls_far_below_the_random_control_at_the_larger_eps(name):
    points = attack(load_run(trained_full(name))).points
    largest = points[-1]
    assert largest.eps == 0.3
    assert largest.accuracy_fgsm < largest.accuracy_random - 0.25
    assert largest.accuracy_random > 0.9  # the same step size at random barely matters


def test_fgsm_raises_each_examples_loss_more_than_its_random_control():
    from nnapp.core.network import forward

    run = load_run(trained_full("digits"))
    X, y = rebuild_dataset(run).split("test")
    fgsm = fgsm_directions(run.params, X, y)
    control = random_directions(fgsm, np.random.default_rng(0))

    def losses(X_):
        fwd = forward(run.params, X_)
        return fwd.log_norm - fwd.theta[np.arange(len(y)), y]

    base = losses(X)
    assert np.mean(losses(X + 0.1 * fgsm) - base) > 10 * abs(np.mean(losses(X + 0.1 * control) - base))


def test_the_control_moves_the_same_coordinates_by_the_same_amount():
    run = load_run(trained("iris"))
    X, y = rebuild_dataset(run).split("test")
    fgsm = fgsm_directions(run.params, X, y)
    control = random_directions(fgsm, np.random.default_rng(1))
    np.testing.assert_array_equal(np.abs(control), np.abs(fgsm))
    assert (control != fgsm).any()


def test_eps_in_original_units_is_eps_times_the_scalers_scale():
    run = load_run(trained("iris"))
    result = attack(run, (0.0, 0.2))
    np.testing.assert_array_equal(result.eps_original(0.2), 0.2 * run.model.scaler_scale)


@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=6, unique=True))
def test_parse_eps_reads_back_any_list_of_non_negative_numbers_sorted(values):
    assert parse_eps(",".join(repr(v) for v in values)) == tuple(sorted(values))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0,abc", "'abc' is not a number"),
        ("0.1,-0.2", "-0.2 is negative"),
        ("nan", "not a finite number"),
        ("inf", "not a finite number"),
        ("", "'' is not a number"),
        ("0.1,0.1", "given twice"),
        ("0,1e308", "1e308 is larger than 1000"),
    ],
)
def test_bad_eps_is_an_error_naming_the_value(text, fragment):
    with pytest.raises(NnappError, match=r"^eps: ") as raised:  # the CLI writes it --eps
        parse_eps(text)
    assert fragment in str(raised.value)


@pytest.mark.parametrize("value", ["0,0.1,x", "-0.1", "0.2,-1", "1e308", "0,1001"])
def test_cli_bad_eps_is_exit_2_in_one_line_and_writes_nothing(tmp_path, value):
    run_dir = copy_of("iris", tmp_path)
    result = invoke("attack", run_dir, f"--eps={value}")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not list(run_dir.glob("attack*"))


def test_cli_unknown_split_is_exit_2(tmp_path):
    result = invoke("attack", copy_of("iris", tmp_path), "--split", "holdout")
    assert result.exit_code == 2 and "--split must be one of" in result.output


def test_cli_writes_the_three_columns_and_both_pictures_for_image_data(tmp_path):
    run_dir = copy_of_full("digits", tmp_path)
    result = invoke("attack", run_dir, "--eps", "0.3,0,0.1")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((run_dir / "attack.csv").read_text())))
    assert list(rows[0]) == ["eps", "accuracy_fgsm", "accuracy_random"]
    assert [float(r["eps"]) for r in rows] == [0.0, 0.1, 0.3]
    for name in ("attack.png", "attack_examples.png"):
        assert (run_dir / name).read_bytes()[:4] == b"\x89PNG"
    assert "standardized" in result.output


def test_cli_writes_eps_in_each_features_original_units(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    assert invoke("attack", run_dir, "--eps", "0,0.2").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((run_dir / "attack_eps.csv").read_text())))
    assert list(rows[0]) == ["feature", "scale", "eps_0", "eps_0.2"]
    scale = load_run(run_dir).model.scaler_scale
    assert [float(r["eps_0.2"]) for r in rows] == (0.2 * scale).tolist()


def test_cli_draws_no_examples_for_tabular_data_and_reports_eps_per_feature(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    result = invoke("attack", run_dir)
    assert result.exit_code == 0, result.output
    assert (run_dir / "attack.png").exists() and not (run_dir / "attack_examples.png").exists()
    assert "ε = 0.3 in original units: sepal length (cm)" in result.output


def test_the_same_run_gives_the_same_csv_twice(tmp_path):
    run_dir = copy_of("iris", tmp_path)
    invoke("attack", run_dir)
    first = (run_dir / "attack.csv").read_bytes()
    invoke("attack", run_dir)
    assert (run_dir / "attack.csv").read_bytes() == first
