"""Grading one learner's code: a file in a child process, or a function in this process (the notebook)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnapp.errors import NnappError
from nnapp.lab.grade import answers, cases, compare, runner, source
from nnapp.lab.grade.conventions import TENSORS, Convention, parse_labels, parse_layout, parse_weights
from nnapp.lab.grade.problems import Problem, expected, make_problems
from nnapp.lab.grade.report import GradeReport, ungradable

ALL = TENSORS


@functools.cache
def _cases(
    convention: Convention, weight_decay: float = 0.0
) -> tuple[tuple[Problem, ...], tuple[cases.Case, ...]]:
    problems = make_problems(convention.batched)
    return problems, tuple(
        cases.make_case(p, expected(p, weight_decay=weight_decay), convention, weight_decay) for p in problems
    )


def parse_target(spec: str) -> tuple[Path, str, str]:
    """`FILE.py`, `FILE.py:function` or `FILE.py:Class.method` -> (path, function or class, method)."""
    head, _, tail = spec.rpartition(":")
    path_text, entry = (head, tail) if head.endswith(".py") else (spec, "")
    function, _, method = (entry or "gradients").partition(".")
    if not function.isidentifier() or (method and not method.isidentifier()):
        raise NnappError(f"{spec}: after the colon comes a function name or Class.method (got {entry!r})")
    return Path(path_text), function, method


def parse_tensors(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in TENSORS]
    if unknown or not names:
        raise NnappError(f"--tensors: choose among {','.join(TENSORS)} (got {text!r})")
    return names


def parse_names(text: str) -> dict[str, str]:
    """`dW1=W,dW2=U` (their key = ours) -> {their key: ours}."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        theirs, _, ours = pair.partition("=")
        if ours.strip() not in TENSORS or not theirs.strip():
            raise NnappError(f"--names: write THEIRS=OURS with OURS among {','.join(TENSORS)} (got {pair!r})")
        mapping[theirs.strip()] = ours.strip()
    return mapping


def convention_of(layout: str, weights: str, labels: str = "") -> Convention:
    where = parse_layout(layout)
    return Convention(where, parse_weights(weights), parse_labels(labels, where))


def _with_notes(report: GradeReport, *notes: str) -> GradeReport:
    extra = tuple(n for n in notes if n)
    if not extra:
        return report
    from dataclasses import replace

    return replace(report, notes=(*report.notes, *extra))


def grade_file(
    target: runner.Target, limits: runner.Limits | None = None, sandbox: bool = True
) -> GradeReport:
    """Grade `target` in a child process; a file that cannot run gives a report with verdict error."""
    try:
        text = target.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ungradable(f"{target.path}: cannot read it ({getattr(exc, 'strerror', None) or exc})")
    found = source.problem(text, str(target.path))
    if found:
        return ungradable(f"{target.path.name}, {found}")
    problems, cases = _cases(target.convention, target.weight_decay)
    result = runner.run(target, text, problems, limits or runner.Limits(), sandbox)
    refused = tuple(f"refused: {r}" for r in dict.fromkeys(result.refused))
    if result.error:
        hint = _hint(result.error, target.convention, problems[0])
        return _with_notes(ungradable(f"{target.path.name}: {result.error}", (*result.lines, *refused)), hint)
    report = compare.judge(
        cases, result.calls, target.required, result.repeat, graded_loss=bool(target.method)
    )
    return _with_notes(report, result.reg_note, *refused)


def _hint(error: str, convention: Convention, problem: Problem) -> str:
    if "used as indices must be of integer" in error and convention.label_kind.value == "onehot":
        return "labels as indices: if your code takes integer labels, grade it with --labels index"
    if "positional argument" in error and ("given" in error or "missing" in error):
        return (
            "the grader calls the function with six arguments in this order: "
            "gradients(x, y, W, b1, U, b2) (any names); a class method is called as method(X, y)"
        )
    if not ("matmul" in error or "shapes" in error or "broadcast" in error):
        return ""
    given = answers.learner_inputs(problem, convention)
    arrays = ", ".join(f"{n} {given[n].shape}" for n in given)
    sizes = ", ".join(f"{k}={v}" for k, v in problem.dims.items())
    hint = f"a shape error: the first problem hands over {arrays} ({sizes})"
    if convention.weights.value == "out-in":
        hint += "; if your code stores the weights input-major (X @ W1), grade it with --weights in-out"
    return hint


def grade(
    function: Callable[..., Any],
    layout: str = "column",
    weights: str = "out-in",
    tensors: str | tuple[str, ...] = ALL,
    method: str = "",
    names: dict[str, str] | None = None,
    weight_decay: float = 0.0,
    labels: str = "",
) -> GradeReport:
    """Grade a gradient function (or a class and its method's name) in this process, on copies of the inputs.

    No time limit here (it runs in the notebook's own process); `nnapp grade FILE` runs a file in a child.
    """
    convention = convention_of(layout, weights, labels)
    required = parse_tensors(tensors) if isinstance(tensors, str) else tuple(tensors)
    problems, cases = _cases(convention, weight_decay)
    entry = answers.Entry(function, method, names or {})
    try:
        calls = [answers.call(entry, p, convention, required, weight_decay) for p in problems]
        repeat = answers.call(entry, problems[0], convention, required, weight_decay)
    except answers.GradeFailure as exc:
        return ungradable(str(exc))
    except Exception as exc:  # the learner's function raised: said, not raised again
        error = f"{type(exc).__name__}: {exc}"
        return _with_notes(ungradable(error), _hint(error, convention, problems[0]))
    report = compare.judge(cases, calls, required, repeat, graded_loss=bool(method))
    return _with_notes(report, answers.reg_note(entry, weight_decay))
