"""`nnapp explain` and `nnapp.explain`: one example's forward and backward pass, every number in the
derivation's shapes, agreeing with an independent autograd recomputation from its own printed inputs."""

import json
import math

import numpy as np
import pytest
from _autograd import Value, total
from _shared import ROOT, trained
from typer.testing import CliRunner

import nnapp
from nnapp.cli.app import app
from nnapp.config import load_config
from nnapp.orchestration.job import load_data
from nnapp.rundir.runs import load_run

runner = CliRunner()
IRIS = str(ROOT / "configs" / "iris.yaml")
KEYS = [
    "x",
    "y",
    "W",
    "b1",
    "U",
    "b2",
    "z",
    "h",
    "theta",
    "y_hat",
    "J",
    "delta1",
    "dU",
    "db2",
    "delta2",
    "dW",
    "db1",
    "dx",
]


def invoke(*args):
    return runner.invoke(app, ["explain", *(str(a) for a in args)], env={"COLUMNS": "200"})


def explained_json(*args) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def autograd(printed: dict) -> dict:
    """z, h, theta, y_hat, J and every gradient recomputed on scalar Values from the printed x, y, W, b1,
    U, b2 alone (column shapes); delta1 = dJ/dtheta and delta2 = dJ/dz are the gradients of those nodes."""
    x = [Value(row[0]) for row in printed["x"]]
    y = [row[0] for row in printed["y"]]
    W = [[Value(v) for v in row] for row in printed["W"]]
    b1 = [Value(row[0]) for row in printed["b1"]]
    U = [[Value(v) for v in row] for row in printed["U"]]
    b2 = [Value(row[0]) for row in printed["b2"]]
    z = [total([w * xj for w, xj in zip(W_i, x, strict=True)]) + b for W_i, b in zip(W, b1, strict=True)]
    h = [zi.relu() for zi in z]
    theta = [total([u * hj for u, hj in zip(U_k, h, strict=True)]) + b for U_k, b in zip(U, b2, strict=True)]
    shift = max(t.data for t in theta)  # a constant: softmax and its gradient do not depend on it
    exps = [(t - shift).exp() for t in theta]
    norm = total(exps)
    J = -total([(e.log() - norm.log()) * yk for e, yk in zip(exps, y, strict=True)])
    J.backward()

    def column(values):
        return [[v] for v in values]

    return {
        "z": column([v.data for v in z]),
        "h": column([v.data for v in h]),
        "theta": column([v.data for v in theta]),
        "y_hat": column([e.data / norm.data for e in exps]),
        "J": J.data,
        "delta1": [[t.grad for t in theta]],
        "dU": [[u.grad for u in row] for row in U],
        "db2": column([b.grad for b in b2]),
        "delta2": [[v.grad for v in z]],
        "dW": [[w.grad for w in row] for row in W],
        "db1": column([b.grad for b in b1]),
        "dx": column([v.grad for v in x]),
    }


@pytest.mark.parametrize(
    "args",
    [("--tiny",), (IRIS, "--row", "7"), (IRIS, "model.hidden=1", "--row", "30"), ("--run", "iris")],
    ids=["tiny", "iris-row-7", "iris-one-hidden-unit", "trained-iris"],
)
def test_explain_json_agrees_with_an_independent_autograd_from_its_own_inputs(args):
    args = tuple(trained("iris") if a == "iris" else a for a in args)
    printed = explained_json(*args)
    assert list(printed) == KEYS
    expected = autograd(printed)
    for key, value in expected.items():
        np.testing.assert_allclose(printed[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_every_array_has_the_derivations_column_shape_and_each_gradient_its_parameters_shape():
    printed = explained_json("configs/digits.yaml", "--row", "2")
    d_x, d_h, n_c = 64, 64, 10
    shapes = {key: np.shape(value) for key, value in printed.items()}
    assert shapes == {
        "x": (d_x, 1), "y": (n_c, 1), "W": (d_h, d_x), "b1": (d_h, 1), "U": (n_c, d_h), "b2": (n_c, 1),
        "z": (d_h, 1), "h": (d_h, 1), "theta": (n_c, 1), "y_hat": (n_c, 1), "J": (),
        "delta1": (1, n_c), "dU": (n_c, d_h), "db2": (n_c, 1), "delta2": (1, d_h),
        "dW": (d_h, d_x), "db1": (d_h, 1), "dx": (d_x, 1),
    }  # fmt: skip


def test_the_row_is_training_row_n_standardized_and_labelled_one_hot():
    data = load_data(load_config(IRIS))
    printed = explained_json(IRIS, "--row", "11")
    np.testing.assert_array_equal(np.ravel(printed["x"]), data.X_train[11])
    assert np.ravel(printed["y"]).tolist() == np.eye(3)[data.y_train[11]].tolist()


def test_with_a_run_the_parameters_are_the_runs_trained_ones_with_or_without_its_config():
    run_dir = trained("iris")
    saved = load_run(run_dir).params
    alone = explained_json("--run", run_dir)
    with_config = explained_json(IRIS, "--run", run_dir, "train.epochs=3")
    for name in ("W", "U"):
        np.testing.assert_array_equal(alone[name], saved[name])
    assert alone == with_config


def test_the_tiny_example_is_the_one_worked_by_hand():
    """z = W x + b1 = (0.5 - 0.4 + 0.1, -1 + 0.6 + 0.2, 0.2 + 0.8 - 0.3): the middle unit is off."""
    explanation = nnapp.explain(tiny=True)
    np.testing.assert_allclose(explanation["z"].ravel(), [0.2, -0.2, 0.7], atol=1e-15)
    np.testing.assert_array_equal(explanation["dW"][1], [0.0, 0.0])  # no gradient through the off unit
    assert explanation["J"] == pytest.approx(math.log(math.exp(0.55) + math.exp(0.6)) - 0.55)
    assert "δ2 = ∂J/∂z = δ1 U ⊙ sgn(h)ᵀ   (1×3)" in explanation.text()


def test_large_matrices_are_elided_in_the_middle_so_the_text_stays_readable():
    result = invoke("configs/digits.yaml", "model.hidden=256")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "W   (256×64)" in lines
    assert any("⋱" in line for line in lines) and any("…" in line for line in lines)
    assert len(lines) < 150 and max(map(len, lines)) < 140


def test_markdown_writes_each_step_as_a_latex_bmatrix_block():
    result = invoke("--tiny", "--format", "markdown")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.count("$$") == 2 * len(KEYS)
    assert text.count(r"\begin{bmatrix}") == text.count(r"\end{bmatrix}") == len(KEYS) - 1  # J is a number
    assert r"\delta_2 = \begin{bmatrix} -1.025 & 0 & 0.2562 \end{bmatrix}" in text
    assert nnapp.explain(tiny=True)._repr_markdown_() == text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((IRIS, "--row", "90"), "--row 90: out of range: the training split has rows 0 to 89"),
        ((IRIS, "--row", "-1"), "--row -1: out of range"),
        (("configs/moons.yaml", "--run", "iris"), "pass the run's own config"),
        (("no/such.yaml",), "no/such.yaml"),
        (("--tiny", IRIS), "--tiny is its own example"),
        ((), "give a CONFIG, a run (--run RUN), or --tiny"),
        (("--tiny", "--format", "html"), "--format must be one of text, markdown"),
    ],
    ids=[
        "row-past-the-end",
        "negative-row",
        "run-of-another-dataset",
        "no-config",
        "tiny-and-config",
        "nothing",
        "format",
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = invoke(*(trained("iris") if a == "iris" else a for a in args))
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
