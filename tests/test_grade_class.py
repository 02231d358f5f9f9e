"""`nnapp grade DIR`: a class folder of 22 mixed submissions (tests/classroom/), hostile ones included,
graded once for the whole module (each submission is a child process)."""

import csv
import fcntl
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.lab.grade import grade
from nnapp.lab.grade.classroom import ClassGrades, Submission

CLASS = Path(__file__).parent / "classroom"
LEARNERS = Path(__file__).parent / "learners"
runner = CliRunner()


def fingerprint() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(CLASS.glob("*.py"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once per test session, also when several xdist workers run these tests: the
    first to take the lock grades, the others read what it wrote (the class takes about ten seconds)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    gradebook, output, before_file = (shared / n for n in ("gradebook.csv", "class.json", "before.json"))
    with (shared / "class.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not output.exists():
            before_file.write_text(json.dumps(fingerprint()))
            args = [
                "grade",
                str(CLASS),
                "--layout",
                "rows",
                "--timeout",
                "4",
                "--jobs",
                "2",
                "--csv",
                str(gradebook),
            ]
            result = runner.invoke(app, [*args, "--json"])
            output.write_text(json.dumps({"exit_code": result.exit_code, "stdout": result.stdout}))
    done = json.loads(output.read_text())
    return done["exit_code"], json.loads(done["stdout"]), gradebook, json.loads(before_file.read_text())


def verdicts(data) -> dict[str, str]:
    return {name: report["verdict"] for name, report in data["submissions"].items()}


def test_every_submission_is_graded_and_one_broken_one_stops_nothing(graded):
    exit_code, data, _, _ = graded
    assert exit_code == 0
    assert len(data["submissions"]) == 22
    v = verdicts(data)
    assert v["ada_right"] == v["ben_right"] == v["ivy_mutates"] == "pass"
    assert {
        v[n] for n in ("cora_no_mean", "dan_no_mask", "fay_keepdims", "gus_softmax_axis", "hal_b1_mean")
    } == {"fail"}
    assert {v[n] for n in ("jon_python2", "kim_numpy2", "lea_no_import", "max_crash", "ned_hangs")} == {
        "error"
    }


def test_a_printed_passing_report_is_not_a_grade(graded):
    _, data, _, _ = graded
    fake = data["submissions"]["x_fake_report"]
    assert fake["verdict"] == "fail" and "all zeros" in fake["tensors"]["U"]["diagnosis"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("x_writes_other", "may not write outside its working directory (ada_right.py)"),
        ("x_memory", "ran out of memory"),
        ("x_fork", "may not start a process"),
        ("x_subprocess", "may not start a process"),
        ("x_flood", "printed more than"),
        ("x_signal", "may not send a signal"),
        ("x_exit", "ended with exit code 0 before answering"),
        ("ned_hangs", "did not finish within 4 s"),
    ],
)
def test_hostile_submissions_are_reported_as_such(graded, name, words):
    _, data, _, _ = graded
    report = data["submissions"][name]
    assert report["verdict"] == "error" and words in report["error"]


def test_no_submission_changed_another(graded):
    _, data, _, before = graded
    assert fingerprint() == before and data["changed"] == []


def test_the_gradebook_has_a_row_and_per_tensor_scores_for_everyone(graded):
    _, data, gradebook, _ = graded
    rows = list(csv.DictReader(gradebook.open()))
    assert [r["submission"] for r in rows] == sorted(data["submissions"])
    by_name = {r["submission"]: r for r in rows}
    assert by_name["ada_right"]["score"] == "5" and by_name["dan_no_mask"]["score"] == "2"
    assert (by_name["dan_no_mask"]["W"], by_name["dan_no_mask"]["U"]) == ("0", "1")
    assert "no_relu_mask" in by_name["dan_no_mask"]["diagnosis"]


def test_the_text_table_counts_the_common_mistakes(tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    for name in ("dan_no_mask", "eve_no_mask", "ada_right"):
        (folder / f"{name}.py").write_text((CLASS / f"{name}.py").read_text())
    result = runner.invoke(app, ["grade", str(folder), "--layout", "rows"])
    assert result.exit_code == 0
    assert "1 of 3 pass" in result.output
    assert "  2  the ReLU mask is missing" in result.output


def test_sub_folders_are_graded_by_their_file_and_a_missing_one_is_named(tmp_path):
    for name, source in (("ada", "ada_right.py"), ("dan", "dan_no_mask.py")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "solution.py").write_text((CLASS / source).read_text())
    (tmp_path / "zoe").mkdir()  # handed in nothing
    result = runner.invoke(
        app, ["grade", str(tmp_path), "--file", "solution.py", "--layout", "rows", "--json"]
    )
    data = json.loads(result.stdout)["submissions"]
    assert {n: r["verdict"] for n, r in data.items()} == {"ada": "pass", "dan": "fail", "zoe": "error"}
    assert data["zoe"]["error"] == "zoe: no solution.py"


def test_a_mistake_counts_once_per_submission_whatever_tensors_it_shows_in():
    def graded(name: str) -> Submission:
        spec = importlib.util.spec_from_file_location(name, LEARNERS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return Submission(name, grade(module.gradients, layout="rows"))

    # one forgets 1/B on b1 and b2 only, the other in δ1 itself: the same catalogue mistake, twice
    grades = ClassGrades((graded("wrong_bias_no_1_over_B"), graded("cat_no_1_over_B")), ())
    counts = grades.common_mistakes()
    assert [count for text, count in counts if text.endswith("[no_1_over_B]")] == [2], counts
    assert len(counts) == 1


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--csv", "no/such/folder/gradebook.csv"], "--csv no/such/folder/gradebook.csv: the folder"),
        (["--format", "gradescope"], "--format gradescope grades one submission's file"),
    ],
)
def test_a_class_with_an_impossible_output_is_refused_before_any_grading(options, words):
    result = runner.invoke(app, ["grade", str(CLASS), *options])
    assert result.exit_code == 2 and words in result.output
    assert "verdict" not in result.output  # no table: nothing was graded
