"""`nnapp grade` on code as courses write it: CS231n (input-major weights, TwoLayerNet.loss, layer
functions) and the Deep Learning Specialization (examples as columns), and the shape slips seen there."""

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.lab.grade import grade
from nnapp.lab.grade.classroom import gradescope_results
from nnapp.lab.grade.problems import make_problems
from nnapp.lab.grade.variants import backward, forward, right

LEARNERS = Path(__file__).parent / "learners"
runner = CliRunner()
TWO_LAYER = ("--layout", "rows", "--weights", "in-out", "--tensors", "U,b2,W,b1")


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, LEARNERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def said(report) -> str:
    return "\n".join([*report.findings, *report.notes, *(t.diagnosis for t in report.tensors.values())])


# file, entry (function or Class.method), layout, weights, required, verdict, words
TABLE = [
    ("cs231n_twolayer_right", "TwoLayerNet.loss", "rows", "in-out", "U,b2,W,b1", "pass", "loss(reg=0)"),
    ("cs231n_twolayer_keepdims", "TwoLayerNet.loss", "rows", "in-out", "U,b2,W,b1", "fail", "keepdims=True"),
    ("cs231n_twolayer_sum", "TwoLayerNet.loss", "rows", "in-out", "U,b2,W,b1", "fail", "sum_not_mean"),
    ("inout_rows_right", "gradients", "rows", "in-out", "U,b2,W,b1,x", "pass", ""),
    ("dls_columns_right", "gradients", "columns", "out-in", "U,b2,W,b1,x", "pass", ""),
    (
        "dls_columns_unscaled_dx",
        "gradients",
        "columns",
        "out-in",
        "U,b2,W,b1,x",
        "fail",
        "Deep Learning Specialization",
    ),
    ("cs231n_fcnet_twolayer", "TwoLayerNet.loss", "rows", "in-out", "U,b2,W,b1", "pass", "self.reg = 0"),
    ("inout_dW_not_transposed", "gradients", "rows", "in-out", "U,b2,W,b1,x", "fail", "W is stored D_x×D_h"),
    ("dls_columns_cache", "gradients", "columns", "out-in", "U,b2,W,b1,x", "fail", "propagated unscaled"),
    ("dls_columns_dA0", "gradients", "columns", "out-in", "U,b2,W,b1,x", "pass", ""),
    ("cs231n_twolayer_reg", "TwoLayerNet.loss", "rows", "in-out", "U,b2,W,b1", "pass", "loss(reg=0)"),
    (
        "dls_columns_scalar_db",
        "gradients",
        "columns",
        "out-in",
        "U,b2,W,b1,x",
        "fail",
        "a scalar where the vector b1",
    ),
]


@pytest.mark.parametrize(("name", "entry", "layout", "weights", "required", "verdict", "words"), TABLE)
def test_course_code_is_graded_with_flags_only(name, entry, layout, weights, required, verdict, words):
    cls_or_function, _, method = entry.partition(".")
    target = getattr(load(name), cls_or_function)
    report = grade(target, layout=layout, weights=weights, tensors=required, method=method)
    assert report.verdict.value == verdict, report
    assert words in said(report), report


def test_a_class_keeping_reg_in_its_constructor_gets_the_weight_decay_there():
    """CS231n's fc_net TwoLayerNet(input_dim, hidden_dim, num_classes, weight_scale, reg) and
    loss(X, y): its 0.5·reg·Σ W² is nnapp's L2 term, so it passes with the term on."""
    net = load("cs231n_fcnet_twolayer").TwoLayerNet
    report = grade(net, "rows", "in-out", "U,b2,W,b1", "loss", weight_decay=0.3)
    assert report.verdict.value == "pass", report
    assert "self.reg = 0.3: graded against J + (reg/2)" in said(report)


def test_column_batches_may_take_integer_labels():
    gradients = load("columns_index_right").gradients
    assert grade(gradients, layout="columns", labels="index").verdict.value == "pass"
    assert grade(gradients, layout="columns").exit_code == 2  # one-hot columns used as indices


def test_a_returned_loss_is_graded_against_J():
    right_net = grade(load("cs231n_twolayer_right").TwoLayerNet, "rows", "in-out", "U,b2,W,b1", "loss")
    summed = grade(load("cs231n_twolayer_sum").TwoLayerNet, "rows", "in-out", "U,b2,W,b1", "loss")
    assert right_net.loss.right and not summed.loss.right
    assert "sum over the batch" in summed.loss.diagnosis


def test_a_partial_answer_is_incomplete_never_a_pass():
    report = grade(load("cs231n_twolayer_right").TwoLayerNet, "rows", "in-out", "U,b2,W,b1,x", "loss")
    assert report.verdict.value == "incomplete" and report.exit_code == 4
    assert report.tensors["x"].diagnosis == "not provided"


def test_input_major_weights_graded_out_in_say_which_flag_to_use():
    report = grade(load("inout_rows_right").gradients, layout="rows")
    assert report.exit_code == 2  # X @ W with W (D_h, D_x) cannot run
    transposed = grade(lambda *a: {k: v.T for k, v in _right_rows(*a).items()}, layout="rows", tensors="U,W")
    assert "--weights in-out" in said(transposed)


def _right_rows(X, y, W, b1, U, b2):
    return {"U": U * 0 + 1, "W": W * 0 + 1}  # right shapes, then transposed by the caller


def test_an_unnamed_key_beside_a_missing_gradient_suggests_names():
    def dls(X, Y, W, b1, U, b2):
        grads = load("dls_columns_dA0").gradients(X, Y, W, b1, U, b2)
        grads["dA_input"] = grads.pop("dA0")
        return grads

    report = grade(dls, layout="columns")
    assert report.verdict.value == "incomplete"
    assert "--names dA_input=x" in said(report)


def test_other_key_names_are_read_through_names():
    module = load("right_rows")

    def renamed(*args):
        dU, db2, dW, db1, dx = module.gradients(*args)
        return {"dWo": dU, "dbo": db2, "dWh": dW, "dbh": db1, "dX": dx}

    names = {"dWo": "U", "dbo": "b2", "dWh": "W", "dbh": "b1"}
    assert grade(renamed, layout="rows", names=names).verdict.value == "pass"


def test_the_variants_unchanged_are_the_reference_gradients():
    for problem in make_problems(True):
        mine, reference = backward(problem, forward(problem)), right(problem)
        for name, array in reference.items():
            assert abs(mine[name] - array).max() < 1e-12


def test_the_cs231n_layers_template_wires_a_learners_layer_file():
    result = runner.invoke(
        app, ["grade", str(LEARNERS / "cs231n_wired.py"), "--layout", "rows", "--weights", "in-out"]
    )
    assert result.exit_code == 0, result.output
    assert "refused" not in result.output  # importing layers.py next to it writes no .pyc


def test_templates_state_their_contract():
    for name, words in [
        ("cs231n-layers", "--weights in-out"),
        ("cs231n-twolayer", "reg=0.0"),
        ("columns", "n_x, m"),
    ]:
        result = runner.invoke(app, ["grade", "--template", name])
        assert result.exit_code == 0 and words in result.stdout


def test_a_class_method_through_the_child_process_with_gradescope_results(tmp_path):
    results = tmp_path / "results.json"
    target = f"{LEARNERS / 'cs231n_twolayer_keepdims.py'}:TwoLayerNet.loss"
    result = runner.invoke(
        app, ["grade", target, *TWO_LAYER, "--format", "gradescope", "--results", str(results)]
    )
    assert result.exit_code == 4, result.output
    data = json.loads(results.read_text())
    assert_gradescope_format(data)
    assert [t["score"] for t in data["tests"]] == [1.0, 1.0, 1.0, 0.0] and data["score"] == 3.0
    assert "keepdims" in data["tests"][3]["output"]


def assert_gradescope_format(data: dict) -> None:
    """Gradescope's published results.json (gradescope-autograders.readthedocs.io/en/latest/specs/):
    optional top-level score, execution_time (s), output; tests with score, max_score, name, output."""
    assert set(data) <= {
        "score",
        "execution_time",
        "output",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    }
    assert isinstance(data["score"], float) and isinstance(data["execution_time"], int)
    for test in data["tests"]:
        assert set(test) <= {
            "score",
            "max_score",
            "status",
            "name",
            "number",
            "output",
            "tags",
            "visibility",
            "extra_data",
        }
        assert 0 <= test["score"] <= test["max_score"] and test["status"] in ("passed", "failed")
        assert isinstance(test["name"], str) and isinstance(test["output"], str)


def test_gradescope_results_of_ungradable_code_score_zero():
    report = grade(load("wrong_count").gradients)
    data = gradescope_results(report)
    assert_gradescope_format(data)
    assert data["score"] == 0.0 and "returned 3 values" in data["tests"][0]["output"]
