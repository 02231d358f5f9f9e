"""`nnapp grade`: the grader's own table of right and wrong learner files (tests/learners/).

The table runs in this process against the comparison and diagnosis layer (nnapp.lab.grade.grade on the
file's function); a handful of files go through the command line and its child process.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnapp
from nnapp.cli.app import app
from nnapp.core import mistakes
from nnapp.lab.grade import answers, child, grade
from nnapp.lab.grade.problems import expected, kink_mask, make_problems

LEARNERS = Path(__file__).parent / "learners"
runner = CliRunner()


def learner(name: str):
    spec = importlib.util.spec_from_file_location(name, LEARNERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.gradients


# file, layout, overall verdict, words the report must hold (a diagnosis, finding or note)
TABLE = [
    ("right_column", "column", "pass", ""),
    ("right_loops", "column", "pass", ""),
    ("right_rows", "rows", "pass", ""),
    ("wrong_transposed_dW", "column", "fail", "transposed"),
    ("wrong_row_delta", "column", "fail", "transposed"),
    ("wrong_factor_two", "column", "fail", "constant factor 2"),
    ("wrong_loops_sign", "column", "fail", "catalogue: y_minus_y_hat"),
    ("wrong_none_x", "column", "fail", "came back as a NoneType"),
    ("wrong_missing_x", "column", "incomplete", "not provided"),
    ("wrong_keepdims", "rows", "fail", "`keepdims=True` left a row"),
    ("wrong_unsummed_b1", "rows", "fail", "not summed over the batch"),
    ("wrong_softmax_axis", "rows", "fail", "softmax ran over the wrong axis"),
    ("wrong_mask_times_h", "rows", "fail", "mask is applied as h itself"),
    ("wrong_relu_of_gradient", "rows", "fail", "ReLU is applied to the gradient"),
    ("wrong_linear", "rows", "fail", "z is used where h = ReLU(z) belongs"),
    ("wrong_z_for_h", "rows", "fail", "z is used where h belongs"),
    ("wrong_nan", "rows", "fail", "contains NaN"),
    ("wrong_unknown_x", "rows", "fail", "the mistake is at or after δ2"),
    ("wrong_mutates", "rows", "pass", "changed its input U in place"),
    ("right_loops_rows", "rows", "pass", ""),
    ("right_einsum", "rows", "pass", ""),
    ("right_softmax_no_max", "rows", "pass", ""),  # exp(θ) without the max: fine at these sizes
    ("right_returns_list", "rows", "pass", ""),
    ("right_float32", "rows", "pass", "came back as float32: graded to 0.0001"),
    ("wrong_float16", "rows", "fail", "float16, about 3 significant digits"),
    ("wrong_bias_no_1_over_B", "rows", "fail", "∂J/∂b1 is B times too large"),
    ("wrong_b1_column_rows", "rows", "fail", "a column vector came back: b1 is (3,)"),
    ("wrong_dx_stops_at_delta2", "rows", "fail", "that of δ2 = ∂J/∂z (or δ1 U): ∂J/∂x goes one step more"),
    ("wrong_mask_h_ge_0", "rows", "fail", "a mask h >= 0 is no mask"),
    ("wrong_huge_array", "column", "fail", "shape (3000, 3000), 9,000,000 numbers"),
    ("wrong_tuple_forward_order", "rows", "fail", "fit the contract in the order W, b1, U, b2, x"),
]
# every catalogue mistake a gradient function can make, as a learner file, diagnosed by its name
CATALOGUE = [
    ("cat_no_1_over_B", "fail", "no_1_over_B"),
    ("cat_forgot_minus_y", "fail", "forgot_minus_y"),
    ("cat_y_minus_y_hat", "fail", "y_minus_y_hat"),
    ("cat_scaled_y", "fail", "scaled_y"),
    ("cat_forgot_y_last_class", "fail", "forgot_y_last_class"),
    ("cat_no_relu_mask", "fail", "no_relu_mask"),
    ("cat_relu_mask_ge", "pass", "relu_mask_ge"),  # a subgradient at the kink: a note, never a failure
    ("cat_b1_mean", "fail", "b1_mean"),
    ("cat_x_grad_through_U", "fail", "x_grad_through_U"),
    ("cat_accumulate_into_out", "fail", "accumulate_into_out"),
    ("cat_sum_not_mean", "fail", "sum_not_mean"),
]
# the L2 term's mistakes, graded with --weight-decay (the function takes weight_decay=)
WEIGHT_DECAY = [
    ("right_rows_decay", "pass", ""),
    ("cat_double_weight_decay", "fail", "double_weight_decay"),
    ("cat_decayed_biases", "fail", "decayed_biases"),
]


def said(report) -> str:
    return "\n".join([*report.findings, *report.notes, *(t.diagnosis for t in report.tensors.values())])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong_nan takes a log of 0 on purpose
@pytest.mark.parametrize(("name", "layout", "verdict", "words"), TABLE)
def test_the_learner_table_is_graded_and_diagnosed(name, layout, verdict, words):
    report = grade(learner(name), layout=layout)
    assert report.verdict.value == verdict, report
    assert words in said(report), report


@pytest.mark.parametrize(("name", "verdict", "mistake"), CATALOGUE)
def test_every_catalogue_mistake_is_named(name, verdict, mistake):
    report = grade(learner(name), layout="rows")
    assert report.verdict.value == verdict, report
    assert mistake in said(report), report


@pytest.mark.parametrize(("name", "verdict", "mistake"), WEIGHT_DECAY)
def test_the_l2_terms_mistakes_are_named(name, verdict, mistake):
    report = grade(learner(name), layout="rows", weight_decay=0.3)
    assert report.verdict.value == verdict, report
    assert mistake in said(report), report


def test_a_loss_with_l2_and_no_half_is_named_l2_no_half():
    module = importlib.util.module_from_spec(
        spec := importlib.util.spec_from_file_location("nohalf", LEARNERS / "cat_l2_no_half.py")
    )
    spec.loader.exec_module(module)
    report = grade(module.TwoLayerNet, "rows", "in-out", "U,b2,W,b1", "loss", weight_decay=0.3)
    assert "catalogue: l2_no_half" in report.loss.diagnosis


def test_every_catalogue_mistake_is_in_the_tables():
    named = {m for _, _, m in CATALOGUE} | {m for _, _, m in WEIGHT_DECAY} | {"l2_no_half"}
    assert {m.name for m in mistakes.MISTAKES} <= named


def test_a_wrong_delta1_is_said_once_for_every_tensor_it_spoils():
    report = grade(learner("cat_forgot_minus_y"), layout="rows")
    assert len(report.findings) == 1
    assert report.findings[0].endswith("it makes U, b2, W, b1, x wrong")


def test_right_tensors_are_named_beside_wrong_ones():
    report = grade(learner("cat_no_relu_mask"), layout="rows")
    assert report.right == ("U", "b2")
    assert "right U, b2" in repr(report)


def test_problems_have_distinct_sizes_with_one_hidden_unit_and_two_classes_among_them():
    for batched in (True, False):
        problems = make_problems(batched)
        sizes = [p.dims for p in problems]
        assert any(s["D_h"] == 1 for s in sizes) and any(s["N_c"] == 2 for s in sizes)
        for s in sizes:
            named = [v for v in s.values() if v != 1]
            assert len(named) == len(set(named)), s


def test_kink_coordinates_are_those_whose_move_flips_a_relu():
    problem = make_problems(True)[-1]  # the one with an exact z = 0
    eps = 1e-5
    for name in ("W", "b1", "x"):
        array, mask = problem.array(name), kink_mask(problem, name, eps)
        flips = np.zeros(array.shape, dtype=bool)
        for index in np.ndindex(array.shape):
            signs = []
            for step in (eps, -eps):
                array[index] += step
                signs.append(problem.X @ problem.W.T + problem.b1 > 0)
                array[index] -= step
            flips[index] = not np.array_equal(signs[0], signs[1])
        assert np.array_equal(mask, flips | mask) and flips.any()  # every flip is skipped
    assert not kink_mask(problem, "U").any()


def test_expected_values_are_finite_differences_of_the_loss():
    problem = make_problems(True)[0]
    grads = expected(problem).grads
    B = problem.dims["B"]
    z = problem.X @ problem.W.T + problem.b1
    theta = np.maximum(z, 0) @ problem.U.T + problem.b2
    p = np.exp(theta - theta.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(B), problem.y] -= 1
    np.testing.assert_allclose(grads["b2"], p.sum(0) / B, atol=1e-9)


def test_the_notebook_api_returns_a_readable_report():
    report = nnapp.grade(learner("right_column"))
    assert report.verdict.value == "pass" and report.exit_code == 0
    assert "PASS" in repr(report) and set(report.tensors) == {"U", "b2", "W", "b1", "x"}


# --- through the command line (child processes: a handful only) ---


def test_a_right_file_passes_with_exit_0():
    result = runner.invoke(app, ["grade", str(LEARNERS / "right_column.py")])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


def test_json_prints_only_the_documented_object(tmp_path):
    result = runner.invoke(app, ["grade", str(LEARNERS / "wrong_keepdims.py"), "--layout", "rows", "--json"])
    assert result.exit_code == 4
    data = json.loads(result.stdout)
    assert data["verdict"] == "fail" and list(data["tensors"]) == ["U", "b2", "W", "b1", "x"]
    b1 = data["tensors"]["b1"]
    assert set(b1) == {"verdict", "shape", "expected_shape", "max_error", "diagnosis"}
    assert b1["shape"] == [1, 3] and b1["expected_shape"] == [3] and "keepdims" in b1["diagnosis"]


def test_a_raising_file_shows_the_learners_own_lines_and_exits_2():
    result = runner.invoke(app, ["grade", str(LEARNERS / "broken_raises.py")])
    assert result.exit_code == 2
    assert 'File "broken_raises.py", line 8, in softmax' in result.output
    assert "return e / e.sum(axis=2)" in result.output
    assert "site-packages" not in result.output and "nnapp/lab" not in result.output


def test_a_hanging_file_is_stopped_with_a_message():
    result = runner.invoke(app, ["grade", str(LEARNERS / "broken_hangs.py"), "--timeout", "1.5"])
    assert result.exit_code == 2
    assert "did not finish within 1.5 s" in result.output


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken_python2", 'line 7: `print "z has shape", z.shape` is a Python 2 print statement'),
        ("broken_numpy2", "line 7: np.product was removed in NumPy 2; use np.prod"),
        ("broken_no_import", "line 6: uses `np`: add `import numpy as np`"),
        ("broken_sys_exit", "the file called sys.exit(0) while it was imported"),
    ],
)
def test_code_that_cannot_run_is_named_before_it_runs(name, words):
    result = runner.invoke(app, ["grade", str(LEARNERS / f"{name}.py")])
    assert result.exit_code == 2 and words in result.output


def test_two_keys_for_one_gradient_are_refused_not_one_silently_kept():
    report = grade(learner("wrong_two_keys_for_W"))
    assert report.exit_code == 2 and "two keys for ∂J/∂W: 'W' and 'W1'" in report.error


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("wrong_bias_no_1_over_B", {"b2", "b1"}),
        ("wrong_dx_stops_at_delta2", {"x"}),
        ("wrong_b1_column_rows", {"b1"}),
        ("wrong_mask_h_ge_0", {"W", "b1", "x"}),
    ],
)
def test_only_the_wrong_tensors_are_blamed(name, wrong):
    report = grade(learner(name), layout="rows")
    assert {n for n, t in report.tensors.items() if t.verdict.value != "pass"} == wrong, report


def test_a_shape_error_is_told_the_sizes_it_was_handed():
    def crashes(X, y, W, b1, U, b2):
        return {"x": (X @ W.T) @ U}  # (B, D_h) @ (N_c, D_h): a matmul mismatch

    report = grade(crashes, layout="rows")
    assert report.exit_code == 2
    assert "x (5, 4), y (5,), W (3, 4), b1 (3,), U (2, 3), b2 (2,)" in report.notes[0]
    assert "D_x=4, D_h=3, N_c=2, B=5" in report.notes[0]


def test_four_values_without_dx_are_told_the_tensors_flag():
    report = grade(learner("wrong_four_values"), layout="rows")
    assert report.exit_code == 2 and "--tensors U,b2,W,b1" in report.error
    assert grade(learner("wrong_four_values"), layout="rows", tensors="U,b2,W,b1").exit_code == 0


def test_a_generator_is_told_to_be_a_tuple():
    report = grade(lambda x, y, W, b1, U, b2: (g for g in (U, b2, W, b1, x)))
    assert report.exit_code == 2 and "return tuple(...)" in report.error


def test_a_wrong_count_is_named():
    report = grade(learner("wrong_count"))
    assert report.exit_code == 2 and "returned 3 values" in report.error


def test_the_template_states_the_contract_and_grades_as_wrong_not_broken(tmp_path):
    result = runner.invoke(app, ["grade", "--template", "--layout", "rows"])
    assert result.exit_code == 0 and "J = the MEAN over the batch" in result.stdout
    (tmp_path / "mine.py").write_text(result.stdout)
    spec = importlib.util.spec_from_file_location("mine", tmp_path / "mine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert grade(module.gradients, layout="rows").verdict.value == "fail"


def test_the_childs_answer_keeps_float_types_and_sends_only_the_shape_of_a_huge_array():
    value = {"U": np.ones((2, 3), dtype=np.float32), "W": np.zeros((400, 400)), "b2": [1.0, 2.0]}
    returned = answers.decode(json.loads(json.dumps(answers.encode(answers.read_return(value, (), {})))))
    assert returned.precision == {"U": "float32"}
    assert returned.oversized == {"W": (400, 400)} and "W" not in returned.arrays
    assert set(returned.arrays) == {"U", "b2"}


def test_an_endless_recursion_shows_its_frame_once_with_the_repeats_counted():
    path = LEARNERS / "broken_recursion.py"
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    with pytest.raises(RecursionError) as caught:
        namespace["gradients"](*([0] * 6))
    lines = child._learner_lines(caught.value, str(path))
    assert len(lines) == 4, lines
    assert lines[2].startswith("  [the line above repeated") and lines[3].startswith("RecursionError")


def test_a_function_taking_other_arguments_is_told_how_it_is_called():
    report = grade(learner("broken_three_arguments"))
    assert report.exit_code == 2 and "takes 3 positional arguments" in report.error
    assert "gradients(x, y, W, b1, U, b2)" in report.notes[0]


def test_an_answer_forged_on_the_graders_channel_is_no_grade_and_no_traceback():
    result = runner.invoke(app, ["grade", str(LEARNERS / "x_forges_the_answer.py")])
    assert result.exit_code == 2, result.output
    assert "answered 0 results for 5 problems: that answer is not the grader's" in result.output


def test_a_forged_float_type_is_dropped_when_the_answer_is_read():
    forged = {"arrays": {}, "precision": {"U": "float8", "W": "float32"}}
    assert answers.decode(forged).precision == {"W": "float32"}
