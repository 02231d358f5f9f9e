"""Commands that read a run or a config: evaluate, predict, gradcheck, plot, datasets, shapes, compare."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nnapp.cli.shell import (
    VERDICT_COLOURS,
    ConfigArg,
    OverridesArg,
    command,
    err,
    fail,
    out,
    read_run,
)
from nnapp.errors import NnappError


def _evaluation_tables(evaluation: Any) -> tuple[Table, Table]:

    metrics = Table(title=f"{evaluation.source}: {evaluation.n_rows} rows", show_header=True)
    metrics.add_column("class")
    for column in ("precision", "recall", "F1", "support"):
        metrics.add_column(column, justify="right")
    for k, label in enumerate(evaluation.classes):
        metrics.add_row(
            escape(label),
            f"{evaluation.precision[k]:.4f}",
            f"{evaluation.recall[k]:.4f}",
            f"{evaluation.f1[k]:.4f}",
            str(int(evaluation.support[k])),
        )
    metrics.caption = f"accuracy {evaluation.accuracy:.4f} · log loss {evaluation.log_loss:.4f}"
    confusion = Table(title="confusion matrix (rows: true class, columns: predicted)", show_header=True)
    confusion.add_column("true \\ predicted")
    for label in evaluation.classes:
        confusion.add_column(escape(label), justify="right")
    for label, row in zip(evaluation.classes, evaluation.confusion, strict=True):
        confusion.add_row(escape(label), *(str(int(v)) for v in row))
    return metrics, confusion


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp evaluate runs/iris/20250101-120000\n\n"
        "  nnapp evaluate runs/iris/20250101-120000 --split val\n\n"
        "  nnapp evaluate runs/flowers_csv/20250101-120000 --data data/flowers.csv"
    )
)
def evaluate(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    split: Annotated[
        str | None,
        typer.Option("--split", help="Which split to score: train, val or test.", show_default="test"),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Score this CSV instead: the model's input columns plus the label column (data.target, "
            "or 'target' for built-in datasets).",
        ),
    ] = None,
) -> None:
    """Accuracy, log loss, per-class precision/recall/F1 and the confusion matrix; writes confusion.png.

    The split is rebuilt from the run's saved config and seed. The picture goes to the run directory:
    confusion.png for the test split, confusion_<split>.png or confusion_<csv name>.png otherwise.
    """
    from nnapp.rundir.report import write_confusion
    from nnapp.tools.evaluation import evaluate_run

    run = read_run(run_dir)
    evaluation = evaluate_run(run, split, data)
    for table in _evaluation_tables(evaluation):
        out.print(table)
    name = write_confusion(run, evaluation, data)
    out.print(f"wrote {run.path / name}")


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp predict runs/iris/20250101-120000 new_flowers.csv\n\n"
        "  nnapp predict runs/iris/20250101-120000 new_flowers.csv --proba --out predictions.csv"
    )
)
def predict(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    input_csv: Annotated[
        Path,
        typer.Argument(
            help="CSV with the model's input columns (a label column is ignored).", show_default=False
        ),
    ],
    proba: Annotated[bool, typer.Option("--proba", help="Add a probability column per class.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here instead of to standard output.")
    ] = None,
) -> None:
    """Label each row of a CSV with the trained model (original label values), in the input's order.

    The saved one-hot categories and scaler are applied; missing or extra columns, non-numeric or empty
    cells and unknown categories are errors naming the column and the row.
    """
    from nnapp.rundir import artifacts
    from nnapp.rundir.runs import check_output
    from nnapp.tools.evaluation import predict_csv

    run = read_run(run_dir)
    if out_file is not None:  # before scoring: never the input, nor the run's own CSV or config
        check_output("--out", out_file, [run], [input_csv])
    text = predict_csv(run, input_csv).csv(with_proba=proba)
    if out_file is None:
        sys.stdout.write(text)
        return
    artifacts.atomic_write_text(out_file, text)
    err.print(f"wrote {text.count(chr(10)) - 1} predictions to {out_file}")


@command(
    name="gradcheck",
    epilog=(
        "Examples:\n\n"
        "  nnapp gradcheck configs/iris.yaml\n\n"
        "  nnapp gradcheck configs/iris.yaml model.hidden=8 --all\n\n"
        "  nnapp gradcheck configs/iris.yaml --run runs/iris/20250101-120000\n\n"
        "  nnapp gradcheck configs/digits.yaml --mistake forgot_y_last_class\n\n"
        "  nnapp gradcheck configs/iris.yaml --mistake list"
    ),
)
def gradcheck_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    every: Annotated[bool, typer.Option("--all", help="Check every coordinate of every tensor.")] = False,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run", help="Check at this run's trained parameters, not the initial ones."),
    ] = None,
    mistake: Annotated[
        str | None,
        typer.Option(
            "--mistake",
            help="Plant a classic derivation mistake in training's backward and check that ('list': all).",
        ),
    ] = None,
) -> None:
    """Compare the hand-derived gradients with centred finite differences (float64); exit 4 on a failure.

    Uses the config's gradcheck.* settings (rows, coordinates, eps, tol, fail) and training's rows,
    and checks the very function training steps call (one-hot labels, Workspace, a short batch).
    """
    from nnapp.config import load_config
    from nnapp.core import mistakes
    from nnapp.tools.gradcheck_run import check_config, unreliable_reason

    if mistake == "list":
        _print_mistakes()
        return
    if mistake is not None and mistake not in mistakes.BY_NAME:
        raise NnappError(f"--mistake {mistake}: unknown (choose from {', '.join(mistakes.BY_NAME)}, or list)")
    loaded = load_config(config, overrides or [])
    run = read_run(run_dir, usable=False) if run_dir is not None else None  # NaN weights: a failed check
    result = check_config(loaded, every, run, mistake)
    report = result.report
    d_x, d_h, n_c = result.dims
    if mistake is not None:
        _print_mistake(mistakes.get(mistake), loaded.config.optim.weight_decay)
    title = f"gradient check at the {result.where}"
    table = Table(title=title + (f", mistake {mistake} planted" if mistake else ""), show_header=True)
    columns = ("tensor", "checked", "kinks skipped", "unresolved", "max error", "verdict")
    for column in columns:
        table.add_column(column, justify="left" if column in ("tensor", "verdict") else "right")
    for t in report.tensors:
        table.add_row(
            t.name,
            str(t.checked),
            str(t.kinks),
            str(t.unresolved),
            f"{t.max_error:.2e}" + (" (NaN/inf)" if t.nonfinite else ""),
            f"[{VERDICT_COLOURS[t.verdict]}]{t.verdict}[/]",
        )
    d = report.directional
    if d is not None:
        error = "kink" if d.kink else f"{d.error:.2e}"
        unresolved = d.verdict == "unreliable"
        table.add_row(
            "direction",
            "0" if d.kink or unresolved else "1",
            "1" if d.kink else "0",
            "1" if unresolved else "0",
            error,
            f"[{VERDICT_COLOURS[d.verdict]}]{d.verdict}[/]",
        )
    table.caption = (
        f"{report.rows} training rows (every class) · D_x={d_x} D_h={d_h} N_c={n_c} · eps {report.eps:g} · "
        f"pass ≤ {report.tol:g} < warn ≤ {report.fail:g} < fail · unresolved: round-off could exceed tol"
    )
    out.print(table)
    line = (
        f"verdict: [{VERDICT_COLOURS[report.verdict]}]{report.verdict}[/] (max error {report.max_error:.2e})"
    )
    line += unreliable_reason(report)
    out.print(line)
    if mistake is not None:
        caught = report.verdict == "fail"
        out.print(
            f"mistake {mistake}: "
            + ("[red]caught[/]: the check fails, as it should" if caught else "[yellow]not caught[/]")
        )
    raise typer.Exit(4 if report.verdict == "fail" else 0)


def _print_mistakes() -> None:
    from nnapp.core import mistakes

    table = Table(title="classic gradient mistakes (nnapp gradcheck CONFIG --mistake NAME)", show_lines=True)
    table.add_column("name")
    table.add_column("what is wrong in the math")
    table.add_column("visible to the check?")
    for m in mistakes.MISTAKES:
        visible = f"no: {m.invisible}" if m.invisible else "yes"
        if m.weight_decay and not m.invisible:
            visible += " (with optim.weight_decay > 0)"
        if m.note:
            visible += f"; {m.note}"
        table.add_row(m.name, m.what, visible)
    out.print(table)


def _print_mistake(m: Any, weight_decay: float) -> None:
    out.print(f"[bold]mistake {m.name}[/]: {m.what}")
    out.print(f"  wrong: {m.wrong}")
    out.print(f"  right: {m.right}")
    if m.invisible:
        out.print(f"  [yellow]invisible to finite differences[/]: {m.invisible}")
    if m.weight_decay and weight_decay == 0.0:
        out.print(
            "  [yellow]this config has optim.weight_decay=0: the mistake changes nothing here[/] "
            "(try optim.weight_decay=0.01)"
        )
    if m.note:
        out.print(f"  note: {m.note}")


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp plot runs/moons/20250101-120000\n\n"
        "  nnapp plot runs/iris/20250101-120000 runs/iris/20250101-130000 --out compare.png"
    )
)
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="One or more run directories.", show_default=False)],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the overlay figure here (default with several runs: comparison.png)."
        ),
    ] = None,
) -> None:
    """Redraw a run's pictures and report.md; with several runs, overlay their curves in one figure.

    The legend names each run and the config keys whose values differ between the runs.
    """
    from nnapp.rundir import artifacts
    from nnapp.rundir.report import redraw_run
    from nnapp.rundir.runs import check_output
    from nnapp.tools.overlay import comparison_png

    if len(run_dirs) == 1 and out_file is None:
        written = redraw_run(run_dirs[0])
        out.print(f"wrote {', '.join(written)} in {run_dirs[0]}")
        return
    target = out_file if out_file is not None else Path("comparison.png")
    artifacts.check_output_file("--out", target, run_dirs)
    runs = [read_run(path) for path in run_dirs]
    check_output("--out", target, runs, run_dirs)  # nor a run's own CSV or source config
    if target.suffix.lower() != ".png":  # the figure is PNG bytes: x.pdf would hold a PNG
        raise NnappError(f"--out {target}: the comparison is a PNG picture; give a file name ending in .png")
    png = comparison_png(runs)
    artifacts.atomic_write_bytes(target, png)
    out.print(f"wrote {target}")


@command()
def datasets() -> None:
    """The built-in datasets with their samples, features and classes (generated ones at their defaults)."""
    from nnapp.data.datasets import BUILTIN, describe_builtin

    table = Table(title="built-in datasets (data.dataset)", show_header=True)
    for column in ("dataset", "samples", "features", "classes", "source"):
        table.add_column(column, justify="right" if column in ("samples", "features", "classes") else "left")
    for name in BUILTIN:
        samples, features, classes = describe_builtin(name)
        kind = (
            "generated: data.n_samples, data.noise"
            + (", data.n_features, data.centers" if name == "blobs" else "")
            + (", data.centers (arms)" if name == "spiral" else "")
            if name in ("moons", "circles", "blobs", "spiral", "xor", "gauss")
            else "bundled with scikit-learn"
        )
        table.add_row(name, str(samples), str(features), str(classes), kind)
    table.caption = "and your own: data.dataset: csv with data.path and data.target"
    out.print(table)


@command(
    epilog=(
        "Examples:\n\n  nnapp shapes configs/iris.yaml\n\n  nnapp shapes configs/digits.yaml model.hidden=128"
    )
)
def shapes(
    config: ConfigArg,
    overrides: OverridesArg = None,
) -> None:
    """Each equation of the forward and backward pass with this config's shapes: one example, then a batch."""

    from nnapp.config import load_config
    from nnapp.tools.shapes import batch_lines, config_dimensions, example_lines, fmt, shape_check

    dims = config_dimensions(load_config(config, overrides or []))
    out.print(
        f"D_x = {dims.d_x} inputs, D_h = {dims.d_h} hidden units (model.hidden), N_c = {dims.n_c} classes, "
        f"B = {dims.batch} rows per batch (train.batch_size)"
    )
    for title, lines in (
        ("one example (the seed's column vectors; gradients as row vectors)", example_lines(dims)),
        ("a batch (rows are examples; what nnapp.core.network computes)", batch_lines(dims)),
    ):
        grid = Table(title=title, show_header=True)
        for column in ("stage", "equation", "shape", "shape check"):
            grid.add_column(column)
        for line in lines:
            grid.add_row(line.stage, escape(line.equation), fmt(line.result), escape(shape_check(line)))
        out.print(grid)


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp compare configs/digits.yaml\n\n"
        "  nnapp compare configs/iris.yaml train.epochs=50 model.dtype=float32"
    )
)
def compare(
    config: ConfigArg,
    overrides: OverridesArg = None,
) -> None:
    """Train nnapp and scikit-learn's MLPClassifier on the same split with equivalent settings, side by side.

    Both run exactly train.epochs epochs on one BLAS thread (nnapp without early stopping or gradient
    checks); weight decay maps to scikit-learn's alpha = weight_decay * batch_size. Writes nothing.
    Exit code 3 if either diverged (its column says so).
    """
    from nnapp.config import load_config
    from nnapp.rundir.experiment import prepare
    from nnapp.tools.compare import compare as run_compare

    loaded = load_config(config, overrides or [])
    data = prepare(loaded)
    result = run_compare(loaded.config, data, str(config), loaded.overrides)
    table = Table(title=f"nnapp vs scikit-learn: {loaded.config.name} ({data.name})")
    table.add_column("")
    sides = (result.nnapp, result.sklearn)
    for side in sides:
        table.add_column(side.name, justify="right")

    def cell(side: Any, value: float | None, suffix: str = "") -> str:
        if value is None:  # a diverged side has no usable weights; scikit-learn no best-validation epoch
            return "diverged" if side.diverged else "-"
        return f"{value:.4f}{suffix}"

    table.add_row("outcome", *("diverged" if s.diverged else "completed" for s in sides))
    table.add_row("test accuracy (returned model)", *(cell(s, s.test_acc) for s in sides))
    table.add_row(
        "train loss (CE), best-val epoch",
        *(cell(s, s.best_train_loss, f" (epoch {s.best_epoch})") for s in sides),
    )
    table.add_row("train loss (CE), last epoch", *(cell(s, s.last_train_loss) for s in sides))
    table.add_row("training seconds", *(f"{s.seconds:.3f}" for s in sides))
    table.add_row("ms per epoch", *(f"{s.ms_per_epoch:.2f}" for s in sides))
    table.add_row("epochs", *(str(s.epochs) for s in sides))
    table.caption = f"nnapp trained {result.speedup:.1f}× as fast\n" + "\n".join(result.notes)
    out.print(table)
    if result.nnapp.diverged or result.sklearn.diverged:
        names = " and ".join(s.name for s in sides if s.diverged)
        raise fail(f"{names} diverged (see the table); try a smaller optim.lr", 3)
