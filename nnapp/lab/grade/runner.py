"""Running a learner's file in a child process (child.py) with a time limit, and reading its answer.

The child gets the source text the parent read (so a file changed on disk meanwhile changes nothing),
a fresh working directory, a scrubbed environment (no variable of the caller's but a short allow-list)
and resource limits it sets on itself before the learner's code runs. Its answer is JSON (numbers and
shapes); nothing it prints is read, and nothing it sends is executed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnapp.lab.grade import answers
from nnapp.lab.grade.conventions import Convention
from nnapp.lab.grade.problems import Problem

KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "SYSTEMROOT")
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds for the whole child, start-up included
    memory_mb: int = 2048  # address space (numpy alone maps a few hundred MB)
    file_mb: int = 16  # largest file the child may write (its captured output included)


@dataclass(frozen=True)
class Target:
    """What to grade: a file and its function (or Class.method), in a convention."""

    path: Path
    function: str = "gradients"
    method: str = ""
    convention: Convention = field(default_factory=Convention)
    required: tuple[str, ...] = ("U", "b2", "W", "b1", "x")
    names: dict[str, str] = field(default_factory=dict)
    weight_decay: float = 0.0  # λ of nnapp's L2 term (λ/2)(‖W‖² + ‖U‖²), given to the function


@dataclass(frozen=True)
class ChildResult:
    calls: tuple[answers.Returned, ...] = ()
    repeat: answers.Returned | None = None
    error: str = ""  # why nothing could be graded ("" when calls came back)
    lines: tuple[str, ...] = ()  # the learner's own traceback lines
    refused: tuple[str, ...] = ()  # what the audit hook refused (signals, processes, writes elsewhere)
    reg_note: str = ""
    seconds: float = 0.0


def _environment(home: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEPT_ENVIRONMENT if k in os.environ}
    env.update(ONE_THREAD, HOME=str(home), TMPDIR=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


def _request(
    target: Target, source: str, problems: tuple[Problem, ...], limits: Limits, sandbox: bool
) -> bytes:
    return json.dumps(
        {
            "file": str(target.path.resolve()),
            "source": source,
            "function": target.function,
            "method": target.method,
            "names": target.names,
            "required": list(target.required),
            "weight_decay": target.weight_decay,
            "layout": target.convention.layout.value,
            "weights": target.convention.weights.value,
            "labels": target.convention.label_kind.value,
            "problems": [
                {name: getattr(p, name).tolist() for name in ("X", "y", "W", "b1", "U", "b2")}
                for p in problems
            ],
            "sandbox": sandbox,
            "limits": {
                "memory_mb": limits.memory_mb,
                "file_mb": limits.file_mb,
                "cpu_seconds": max(1, round(limits.timeout)),
            },
        }
    ).encode()


def _stopped(code: int, limits: Limits, seconds: float) -> str:
    if code >= 0:
        return f"the grading process ended with exit code {code} before answering (sys.exit in the file?)"
    name = signal.Signals(-code).name if -code in signal.Signals.__members__.values() else str(-code)
    if name == "SIGXCPU":
        return f"used more than {round(limits.timeout)} s of CPU time and was stopped"
    if name == "SIGKILL":
        return f"was killed (SIGKILL) after {seconds:.1f} s: out of memory, or a signal from outside"
    return f"was stopped by {name} after {seconds:.1f} s"


def run(
    target: Target, source: str, problems: tuple[Problem, ...], limits: Limits, sandbox: bool = True
) -> ChildResult:
    """Run the learner's `source` (read from target.path) on the problems in a child process."""
    home = Path(tempfile.mkdtemp(prefix="nnapp-grade-"))
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-m", "nnapp.lab.grade.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=home,
            env=_environment(home),
            start_new_session=True,  # its own process group: a timeout stops all of it
        )
        try:
            raw, _ = process.communicate(
                _request(target, source, problems, limits, sandbox), timeout=limits.timeout
            )
        except subprocess.TimeoutExpired:
            _kill(process)
            return ChildResult(
                error=f"did not finish within {limits.timeout:g} s (an endless loop?); stopped",
                seconds=time.monotonic() - started,
            )
        seconds = time.monotonic() - started
        flooded = _flooded(home / "output.txt", limits)
        return _read(raw, process.returncode, limits, seconds, flooded, len(problems))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _flooded(output: Path, limits: Limits) -> bool:
    try:
        return output.stat().st_size >= limits.file_mb << 20
    except OSError:
        return False


def _read(raw: bytes, code: int, limits: Limits, seconds: float, flooded: bool, expected: int) -> ChildResult:
    """The child's answer; one that is not the grader's (the learner's code can write to the channel
    too) reads as no answer at all."""
    try:
        data: dict[str, Any] = json.loads(raw.decode())
        refused = tuple(str(r) for r in data.get("refused", ()))
        if data["status"] != "ok":
            message = str(data["message"])
            if data.get("kind") == "memory":
                message = f"ran out of memory (limit {limits.memory_mb} MB): {message}"
            elif flooded:
                message = f"printed more than {limits.file_mb} MB and was cut off: {message}"
            return ChildResult(
                error=message,
                lines=tuple(str(x) for x in data.get("lines", ())),
                refused=refused,
                seconds=seconds,
            )
        calls = tuple(answers.decode(c) for c in data["calls"])
        if len(calls) != expected:
            return ChildResult(
                error=f"answered {len(calls)} results for {expected} problems: that answer is not the "
                "grader's (did the file write to the grader's channel?)",
                seconds=seconds,
            )
        return ChildResult(
            calls,
            answers.decode(data["repeat"]),
            refused=refused,
            reg_note=str(data.get("reg_note", "")),
            seconds=seconds,
        )
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, RecursionError):
        return ChildResult(error=_stopped(code, limits, seconds), seconds=seconds)
