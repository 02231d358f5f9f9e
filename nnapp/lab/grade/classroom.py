"""Grading a whole class: every submission in its own child process, in parallel; a gradebook at the end.

A class folder holds each learner's `.py` file, or one sub-folder per learner with the file `--file`
names. Every submission runs in a child of its own (runner.py: a fresh working directory, a scrubbed
environment, resource limits, an audit hook against signals, processes and writes elsewhere). Its
source is read before any child starts, so a submission that rewrites another's file on disk changes
nothing graded; the class folder's files are fingerprinted before and after, and a change is reported.
The verdicts come from the arrays each child returned; the gradebook is written after every child ended.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nnapp.errors import NnappError
from nnapp.lab.grade.conventions import TENSORS
from nnapp.lab.grade.grading import grade_file
from nnapp.lab.grade.report import GradeReport, Overall, Verdict
from nnapp.lab.grade.runner import Limits, Target


@dataclass(frozen=True)
class Submission:
    name: str
    report: GradeReport


@dataclass(frozen=True)
class ClassGrades:
    submissions: tuple[Submission, ...]
    changed: tuple[str, ...]  # class-folder files that changed while grading (by a submission?)

    def common_mistakes(self) -> list[tuple[str, int]]:
        """Each mistake with the number of submissions that make it (once per submission, whichever
        tensors it shows in: the same catalogue mistake on b1 and b2 is one learner's one mistake)."""
        counts: Counter[str] = Counter()
        shown: dict[str, str] = {}
        for s in self.submissions:
            seen = [s.report.error] if s.report.verdict is Overall.ERROR else s.report.findings
            keys = set()
            for text in filter(None, seen):
                short = TENSOR_PREFIX.sub("", headline(text))
                name = re.search(r"\[catalogue: (\w+)", text)
                key = name.group(1) if name else re.sub(r"∂J/∂(?:U|b2|W|b1|x)\b", "∂J/∂·", short)
                shown.setdefault(key, short)
                keys.add(key)
            counts.update(keys)
        return [(shown[key], count) for key, count in counts.most_common()]


TENSOR_PREFIX = re.compile(r"^(?:(?:U|b2|W|b1|x)(?:, )?)+: ")  # "b1: ..." or "U, W: ..."


def headline(text: str, width: int = 90) -> str:
    """A diagnosis cut to its first clause (and its catalogue name), for a table row or a count."""
    name = re.search(r"\[catalogue: (\w+)", text)
    text = re.sub(r"^[\w.-]+\.py(: |, )", "", text)  # the file, named by the row already
    text = text.replace("PermissionError: nnapp grade: ", "")
    short = re.split(r" \[catalogue|: δ| \(step|, where |: check ", text)[0]
    short = short if len(short) <= width else short[: width - 1] + "…"
    return short + (f" [{name.group(1)}]" if name else "")


def first_diagnosis(report: GradeReport) -> str:
    if report.verdict is Overall.ERROR:
        return report.error
    return (report.findings or report.notes or ("",))[0]


def discover(folder: Path, file: str = "") -> list[tuple[str, Path]]:
    """(submission name, file) for each `.py` in `folder`, or each sub-folder's `file`."""
    if file:
        found = [(d.name, d / file) for d in sorted(folder.iterdir()) if d.is_dir()]
    else:
        found = [(p.stem, p) for p in sorted(folder.glob("*.py"))]
    if not found:
        what = f"no sub-folder with {file}" if file else "no .py file"
        raise NnappError(f"{folder}: {what} to grade")
    return found


def _fingerprints(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def grade_class(folder: Path, template: Target, limits: Limits, jobs: int = 2, file: str = "") -> ClassGrades:
    """Grade every submission of `folder` as `template` says (its path is replaced by each file's)."""
    found = discover(folder, file)
    before = _fingerprints(folder)

    def one(item: tuple[str, Path]) -> Submission:
        name, path = item
        if not path.is_file():
            return Submission(name, GradeReport(Overall.ERROR, error=f"{name}: no {path.name}"))
        try:
            return Submission(name, grade_file(replace(template, path=path), limits))
        except Exception as exc:  # a grader failure on one submission must not lose the others' grades
            failure = f"{name}: the grader failed on this submission ({type(exc).__name__}: {exc})"
            return Submission(name, GradeReport(Overall.ERROR, error=failure))

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        submissions = tuple(pool.map(one, found))
    after = _fingerprints(folder)
    changed = tuple(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)))
    return ClassGrades(submissions, changed)


GRADEBOOK_COLUMNS = ("submission", "verdict", "score", "max_score", *TENSORS, "diagnosis")


def _score(report: GradeReport, name: str) -> int:
    tensor = report.tensors.get(name)
    return int(tensor is not None and tensor.verdict is Verdict.PASS)


def gradebook_csv(grades: ClassGrades, required: tuple[str, ...]) -> str:
    """One row per submission: verdict, 1/0 per tensor, the score and the first diagnosis."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GRADEBOOK_COLUMNS)
    for s in grades.submissions:
        r = s.report
        scores = [_score(r, n) for n in TENSORS]
        total = sum(_score(r, n) for n in required)
        said = r.error if r.verdict is Overall.ERROR else " | ".join(r.findings) or " | ".join(r.notes)
        writer.writerow([s.name, r.verdict.value, total, len(required), *scores, said])
    return buffer.getvalue()


def gradescope_results(
    report: GradeReport, required: tuple[str, ...] = TENSORS, seconds: float = 0.0
) -> dict[str, Any]:
    """Gradescope's autograder results.json: one test per required tensor (1 point each), the total."""
    tests = []
    for number, name in enumerate(required, start=1):
        tensor = report.tensors.get(name)
        passed = tensor is not None and tensor.verdict is Verdict.PASS
        if report.verdict is Overall.ERROR:
            output = f"could not be graded: {report.error}"
        elif tensor is None:
            output = "not provided"
        else:
            output = "right" if passed else tensor.diagnosis
        tests.append(
            {
                "name": f"dJ/d{name}",
                "number": str(number),
                "score": 1.0 if passed else 0.0,
                "max_score": 1.0,
                "status": "passed" if passed else "failed",
                "output": output,
            }
        )
    return {
        "score": sum(t["score"] for t in tests),
        "execution_time": round(seconds),
        "output": "\n".join(report.lines()),
        "tests": tests,
    }
