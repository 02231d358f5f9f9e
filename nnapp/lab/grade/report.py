"""A grade as a value: per tensor a verdict, shapes, error and diagnosis; the findings said once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nnapp.lab.grade.conventions import TENSORS, Convention


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_PROVIDED = "not provided"


class Overall(StrEnum):
    PASS = "pass"  # every required tensor right (and the loss, when one was returned)
    FAIL = "fail"  # something returned is wrong
    INCOMPLETE = "incomplete"  # nothing wrong, but a required tensor is missing
    ERROR = "error"  # the code could not be graded (it raised, hung, did not import, ...)

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 4, "incomplete": 4, "error": 2}[self.value]


@dataclass(frozen=True)
class TensorGrade:
    name: str
    verdict: Verdict
    shape: tuple[int, ...] | None  # as returned on the first problem (None: not provided or not an array)
    expected_shape: tuple[int, ...]
    max_error: float | None  # over every problem and checked coordinate (None: nothing comparable)
    diagnosis: str = ""  # "" when right


@dataclass(frozen=True)
class LossGrade:
    right: bool
    max_error: float
    diagnosis: str = ""


@dataclass(frozen=True)
class GradeReport:
    verdict: Overall
    tensors: dict[str, TensorGrade] = field(default_factory=dict)
    findings: tuple[str, ...] = ()  # each diagnosis once, earliest derivation step first
    notes: tuple[str, ...] = ()  # things said that do not change the verdict
    convention: Convention | None = None
    loss: LossGrade | None = None
    problems: int = 0
    error: str = ""  # why it could not be graded (verdict error)
    details: tuple[str, ...] = ()  # the learner's own traceback lines, or the like
    first_sizes: str = ""  # the first problem's sizes, which the shapes shown are of

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def right(self) -> tuple[str, ...]:
        return tuple(n for n, t in self.tensors.items() if t.verdict is Verdict.PASS)

    def to_json(self) -> dict[str, Any]:
        """The `--json` object: the verdict, and per tensor its verdict, shapes, max_error, diagnosis."""
        data: dict[str, Any] = {
            "verdict": self.verdict.value,
            "tensors": {
                name: {
                    "verdict": t.verdict.value,
                    "shape": None if t.shape is None else list(t.shape),
                    "expected_shape": list(t.expected_shape),
                    "max_error": _finite_or_none(t.max_error),
                    "diagnosis": t.diagnosis,
                }
                for name, t in self.tensors.items()
            },
        }
        if self.loss is not None:
            data["loss"] = {
                "verdict": "pass" if self.loss.right else "fail",
                "max_error": _finite_or_none(self.loss.max_error),
                "diagnosis": self.loss.diagnosis,
            }
        if self.findings:
            data["findings"] = list(self.findings)
        if self.notes:
            data["notes"] = list(self.notes)
        if self.error:
            data["error"] = self.error
            data["details"] = list(self.details)
        return data

    def lines(self) -> list[str]:
        """The report as plain text lines (what the CLI prints and the notebook's repr shows)."""
        if self.verdict is Overall.ERROR:
            return [f"could not be graded: {self.error}", *self.details, *(f"note: {n}" for n in self.notes)]
        out = []
        if self.convention is not None:
            out.append(f"graded on {self.problems} random problems, {self.convention.describe()}")
            out.append(f"shapes of the first problem ({self.first_sizes}):")
        for name in TENSORS:
            t = self.tensors.get(name)
            if t is None:
                continue
            shape = "-" if t.shape is None else str(t.shape)
            err = "-" if t.max_error is None else f"{t.max_error:.1e}"
            out.append(
                f"  {name:<3} {t.verdict.value:<12} shape {shape:<9} "
                f"expected {t.expected_shape!s:<9} max error {err}"
            )
        if self.loss is not None:
            out.append(
                f"  loss {'pass' if self.loss.right else 'fail'} (max error {self.loss.max_error:.1e})"
            )
        out += [f"- {finding}" for finding in self.findings]
        out += [f"note: {note}" for note in self.notes]
        right = self.right
        if self.verdict is Overall.PASS:
            out.append(f"PASS: {', '.join(right)} match finite differences of J")
        else:
            wrong = [n for n, t in self.tensors.items() if t.verdict is not Verdict.PASS]
            out.append(
                f"{self.verdict.value.upper()}: right {', '.join(right) or 'none'}; "
                f"wrong or missing {', '.join(wrong)}"
            )
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def ungradable(message: str, details: tuple[str, ...] = ()) -> GradeReport:
    return GradeReport(Overall.ERROR, error=message, details=details)
