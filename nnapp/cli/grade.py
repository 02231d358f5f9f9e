"""`nnapp grade`: a learner's own gradients against finite differences of J, diagnosed in words."""

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nnapp.cli.shell import command, err, fail, out

if TYPE_CHECKING:
    from nnapp.lab.grade.runner import Limits, Target

LayoutOption = Annotated[
    str,
    typer.Option(
        "--layout",
        help="column: one example as column vectors (the derivation's); rows: X (B, D_x), integer labels, "
        "J the batch mean; columns: X (D_x, B), one-hot Y (N_c, B), J the batch mean.",
    ),
]
LabelsOption = Annotated[
    str,
    typer.Option(
        "--labels",
        help="y as onehot or index (integer labels); default: index for rows, onehot for the column layouts.",
    ),
]
WeightsOption = Annotated[
    str,
    typer.Option("--weights", help="out-in: W is D_h×D_x (the derivation's); in-out: W is D_x×D_h (X @ W)."),
]


@command(
    name="grade",
    epilog=(
        "Examples:\n\n"
        "  nnapp grade --template > my_grad.py\n\n"
        "  nnapp grade my_grad.py\n\n"
        "  nnapp grade my_grad.py --layout rows --json\n\n"
        "  nnapp grade net.py:TwoLayerNet.loss --layout rows --weights in-out --tensors U,b2,W,b1\n\n"
        "  nnapp grade submissions/ --csv gradebook.csv"
    ),
)
def grade_command(
    target: Annotated[
        str | None,
        typer.Argument(
            help="FILE.py[:FUNCTION or Class.method] (default function: gradients), or a folder of "
            "submissions; with --template, the template's name.",
            show_default=False,
        ),
    ] = None,
    layout: LayoutOption = "column",
    weights: WeightsOption = "out-in",
    labels: LabelsOption = "",
    tensors: Annotated[
        str, typer.Option("--tensors", help="The gradients required, comma-separated.")
    ] = "U,b2,W,b1,x",
    names: Annotated[
        str, typer.Option("--names", help="Other gradient key names, THEIRS=OURS, e.g. dWh=W,dWo=U.")
    ] = "",
    weight_decay: Annotated[
        float,
        typer.Option(
            "--weight-decay",
            help="λ of an L2 term (λ/2)(‖W‖² + ‖U‖²) added to J, handed to the function's weight_decay "
            "(or reg) argument; 0: no penalty.",
            min=0.0,
        ),
    ] = 0.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the code may run.", min=0.1)] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON object on stdout.")] = False,
    template: Annotated[
        bool,
        typer.Option(
            "--template",
            help="Print a starting file with the contract in its docstring (for --layout; or name one: "
            "column, rows, columns, cs231n-layers, cs231n-twolayer).",
        ),
    ] = False,
    file: Annotated[str, typer.Option("--file", help="In a class folder: each sub-folder's file.")] = "",
    jobs: Annotated[int, typer.Option("--jobs", help="Submissions graded at once.", min=1)] = 2,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the class's gradebook CSV here.")] = None,
    format_: Annotated[
        str, typer.Option("--format", help="text, or gradescope (writes results.json, see --results).")
    ] = "text",
    results: Annotated[
        Path, typer.Option("--results", help="Where --format gradescope writes its results.json.")
    ] = Path("results.json"),
) -> None:
    """Grade a learner's gradients(x, y, W, b1, U, b2) on random problems against finite differences of J.

    Each tensor gets a verdict, its shape, its largest error and, when wrong, what is wrong in the
    derivation's words. The file runs in a child process with a time limit. Exit codes: 0 every
    gradient right, 4 a gradient wrong or missing, 2 the file could not be graded.
    """
    from nnapp.lab.grade import grading, templates
    from nnapp.lab.grade.runner import Limits, Target

    if template:
        out.print(templates.template(target or layout), markup=False, end="", soft_wrap=True)
        return
    if target is None:
        raise fail("nnapp grade: give FILE.py (or a folder), or --template")
    if format_ not in ("text", "gradescope"):
        raise fail(f"--format must be one of text, gradescope (got {format_!r})")
    convention = grading.convention_of(layout, weights, labels)
    required, their_names = grading.parse_tensors(tensors), grading.parse_names(names)
    _check_outputs(target, csv, results if format_ == "gradescope" else None)
    if Path(target).is_dir():
        from nnapp.cli.grade_class import grade_class

        each = Target(Path(target), "gradients", "", convention, required, their_names, weight_decay)
        grade_class(Path(target), each, Limits(timeout=timeout), jobs, file, csv, as_json)
        return
    path, function, method = grading.parse_target(target)
    if not path.is_file():
        raise fail(f"{path}: no such file")
    graded = Target(path, function, method, convention, required, their_names, weight_decay)
    raise typer.Exit(
        _grade_one(graded, Limits(timeout=timeout), results if format_ == "gradescope" else None, as_json)
    )


def _check_outputs(target: str, csv: Path | None, results: Path | None) -> None:
    """Refuse, before anything runs, what could only fail once everything was graded."""
    for option, written in (("--csv", csv), ("--results", results)):
        if written is not None and not written.parent.is_dir():
            raise fail(f"{option} {written}: the folder {written.parent} does not exist")
    if Path(target).is_dir() and results is not None:
        raise fail(
            f"{target}: --format gradescope grades one submission's file (Gradescope runs one at a time)"
        )


def _grade_one(graded: "Target", limits: "Limits", results: Path | None, as_json: bool) -> int:
    """Grade one file, print its report (a file that could not be graded: `error:` lines on stderr)."""
    from nnapp.lab.grade import grading
    from nnapp.lab.grade.report import Overall

    started = time.monotonic()
    report = grading.grade_file(graded, limits)
    if results is not None:
        from nnapp.lab.grade.classroom import gradescope_results

        data = gradescope_results(report, graded.required, time.monotonic() - started)
        results.write_text(json.dumps(data, indent=2) + "\n")
    if as_json:
        out.print(json.dumps(report.to_json(), indent=2), markup=False, soft_wrap=True)
    elif report.verdict is Overall.ERROR:
        err.print(_one_line(f"error: could not be graded: {report.error}"), markup=False, soft_wrap=True)
        for line in report.lines()[1:]:
            err.print(_one_line(line), markup=False, soft_wrap=True)
    else:
        for line in report.lines():
            out.print(_one_line(line), markup=False, soft_wrap=True)
    return report.exit_code


def _one_line(text: str) -> str:
    """A line that stays one line: the learner's own text (an exception's message) may hold newlines."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
