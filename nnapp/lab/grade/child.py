"""The child process that runs a learner's code: `python -I -m nnapp.lab.grade.child` (runner.py starts it).

It reads one request (JSON) on stdin, limits itself (memory, CPU, file size, processes), moves its own
stdout and stderr into a capped file so that nothing the learner's code prints can reach the parent,
installs an audit hook that refuses signals, new processes and writes outside its working directory,
then compiles the learner's source (as the parent read it) and calls it on every problem. It answers with
one JSON object on the original stdout: numbers and shapes, or what went wrong.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import traceback
import types
from pathlib import Path
from typing import Any

REFUSED = {
    "os.kill": "send a signal",
    "os.killpg": "send a signal",
    "signal.pthread_kill": "send a signal",
    "os.fork": "start a process",
    "os.forkpty": "start a process",
    "os.system": "run a command",
    "os.exec": "run a program",
    "os.posix_spawn": "start a process",
    "os.spawn": "start a process",
    "subprocess.Popen": "start a process",
}

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _limit(limits: dict[str, Any]) -> None:
    mb = 1 << 20
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb, limits["memory_mb"] * mb))
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_mb"] * mb, limits["file_mb"] * mb))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no new process (nor thread) from here on
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then raises OSError instead


def _guard(home: Path, refused: list[str]) -> None:
    """Refuse (and record) signals, new processes and writes outside `home`, from here on, for good."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        what = REFUSED.get(event)
        if what is None and event == "open" and len(args) > 2:
            target, mode, flags = args[0], args[1], args[2]
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & WRITE_FLAGS)
            if writes and isinstance(target, str | bytes | os.PathLike):
                path = Path(os.fsdecode(target)).resolve()
                if home != path and home not in path.parents:
                    what = f"write outside its working directory ({path.name})"
        if what is not None:
            refused.append(f"tried to {what} ({event})")
            raise PermissionError(f"nnapp grade: a submission may not {what}")

    sys.addaudithook(hook)


def _learner_lines(exc: BaseException, filename: str) -> list[str]:
    """The traceback's lines that are in the learner's own file, then the exception itself."""
    lines: list[str] = []
    repeated = 0  # an endless recursion repeats one frame a thousand times: said once, then counted
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            shown = [f'  File "{Path(filename).name}", line {frame.lineno}, in {frame.name}']
            shown += [f"    {frame.line.strip()}"] if frame.line else []
            if lines[-len(shown) :] == shown:
                repeated += 1
                continue
            if repeated:
                lines.append(f"  [the line above repeated {repeated} more times]")
                repeated = 0
            lines += shown
    if repeated:
        lines.append(f"  [the line above repeated {repeated} more times]")
    lines.append(f"{type(exc).__name__}: {exc}")
    return lines


def _run(request: dict[str, Any], refused: list[str]) -> dict[str, Any]:
    import numpy as np

    from nnapp.lab.grade import answers
    from nnapp.lab.grade.conventions import Convention, Labels, Layout, Weights
    from nnapp.lab.grade.problems import Problem

    filename = request["file"]
    module = types.ModuleType(Path(filename).stem)
    module.__file__ = filename
    sys.modules[module.__name__] = module
    sys.path.insert(0, str(Path(filename).parent))
    convention = Convention(Layout(request["layout"]), Weights(request["weights"]), Labels(request["labels"]))
    problems = [Problem(**{k: np.asarray(v) for k, v in p.items()}) for p in request["problems"]]
    stage = "import"
    try:
        exec(compile(request["source"], filename, "exec"), module.__dict__)
        stage = "call"
        target = _target(module, request["function"], request["method"])
        entry = answers.Entry(target, request["method"], request["names"])
        required = tuple(request["required"])
        lam = float(request["weight_decay"])
        calls = [answers.call(entry, p, convention, required, lam) for p in problems]
        repeat = answers.call(entry, problems[0], convention, required, lam)
    except answers.GradeFailure as exc:
        return {"status": "error", "kind": "contract", "message": str(exc), "lines": [], "refused": refused}
    except BaseException as exc:  # the learner's code: anything at all, reported in their own lines
        kind = "memory" if isinstance(exc, MemoryError) else stage
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SystemExit):
            when = "while it was imported" if stage == "import" else "inside the graded code"
            message = (
                f"the file called sys.exit({exc.code!r}) {when}: a graded file defines its function "
                'and does not exit (put script code under `if __name__ == "__main__":`)'
            )
        return {
            "status": "error",
            "kind": kind,
            "message": message,
            "lines": _learner_lines(exc, filename),
            "refused": refused,
        }
    return {
        "status": "ok",
        "calls": [answers.encode(c) for c in calls],
        "repeat": answers.encode(repeat),
        "reg_note": answers.reg_note(entry, lam),
        "refused": refused,
    }


def _target(module: types.ModuleType, function: str, method: str) -> Any:
    from nnapp.lab.grade.answers import GradeFailure

    target = getattr(module, function, None)
    if target is None:
        defined = sorted(
            n
            for n, v in vars(module).items()
            if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        )
        raise GradeFailure(
            f"defines no {function!r} (it defines: {', '.join(defined) or 'nothing callable'})"
        )
    if method and not callable(getattr(target, method, None)):
        kind = "class" if isinstance(target, type) else type(target).__name__
        raise GradeFailure(f"{kind} {function} has no method {method!r}")
    if not callable(target):
        raise GradeFailure(f"{function} is a {type(target).__name__}, not a function")
    return target


def main() -> None:
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE; no .pyc next to the learner's files
    request = json.loads(sys.stdin.read())
    channel = os.fdopen(os.dup(1), "w")
    output = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    import numpy  # noqa: F401  (before the limits: its import maps more than a learner's arrays need)

    import nnapp.lab.grade.answers  # noqa: F401

    refused: list[str] = []
    if request["sandbox"]:
        _limit(request["limits"])
        _guard(Path.cwd().resolve(), refused)
    try:
        result = _run(request, refused)
    except BaseException as exc:  # a failure outside the learner's code (a malformed request)
        result = {"status": "error", "kind": "grader", "message": repr(exc), "lines": [], "refused": refused}
    channel.write(json.dumps(result))
    channel.flush()
    os._exit(0)  # no interpreter shutdown: the learner's atexit handlers and finalizers do not run


if __name__ == "__main__":
    main()
