"""Commands that read a run or a config: evaluate, predict, gradcheck, plot, datasets, shapes, compare."""

from pathlib import Path
from typing import Annotated

import typer

from nnapp.cli import render
from nnapp.cli.shell import ConfigArg, OverridesArg, command, err, fail, out, read_run, stdout
from nnapp.errors import NnappError


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
            "or 'target' for built-in datasets); other columns are ignored.",
        ),
    ] = None,
) -> None:
    """Accuracy, log loss, per-class precision/recall/F1 and the confusion matrix; writes confusion.png.

    The split is rebuilt from the run's saved config and seed. The picture goes to the run directory:
    confusion.png for the test split, confusion_<split>.png or confusion_<csv name>.png otherwise.
    """
    from nnapp.orchestration.report import write_confusion
    from nnapp.tools.evaluation import evaluate_run

    run = read_run(run_dir)
    evaluation = evaluate_run(run, split, data)
    for note in evaluation.notes:
        err.print(f"note: {note}", markup=False)
    for table in render.evaluation_tables(evaluation):
        out.print(table)
    what = evaluation.source
    for line in render.baseline_lines(
        evaluation.accuracy, evaluation.majority_rate, evaluation.majority_class, what
    ):
        err.print(line, markup=False)
    name = write_confusion(run, evaluation, data)
    out.print(f"wrote {run.path / name}")


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp predict runs/iris/20250101-120000 new_flowers.csv\n\n"
        "  nnapp predict runs/iris/20250101-120000 new_flowers.csv --proba --out predictions.csv\n\n"
        "  nnapp predict runs/flowers_csv/20250101-120000 new.csv --keep id --keep name"
    )
)
def predict(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    input_csv: Annotated[
        Path,
        typer.Argument(
            help="CSV with the model's input columns (other columns are ignored).", show_default=False
        ),
    ],
    proba: Annotated[bool, typer.Option("--proba", help="Add a probability column per class.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here instead of to standard output.")
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            help="Copy this input column into the output, before the prediction (repeat for more), so "
            "results join back by key.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Label each row of a CSV with the trained model (original label values), in the input's order.

    The saved one-hot categories and scaler are applied; a missing column, a non-numeric or empty cell and
    an unknown category are errors naming the column and the row (with data.missing: drop, a row with an
    empty cell gets an empty prediction, counted on stderr).
    """
    from nnapp.rundir import files
    from nnapp.rundir.runs import check_output
    from nnapp.tools.evaluation import predict_csv

    run = read_run(run_dir)
    if out_file is not None:  # before scoring: never the input, nor the run's own CSV or config
        check_output("--out", out_file, [run], [input_csv])
    predictions = predict_csv(run, input_csv, keep or [])
    for note in predictions.notes:
        err.print(f"note: {note}", markup=False)
    text = predictions.csv(with_proba=proba)
    if out_file is None:
        stdout.write(text)
        return
    files.write_text(out_file, text)
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
    from nnapp.tools.gradcheck_run import check_config

    if mistake == "list":
        out.print(render.mistakes_table(mistakes.MISTAKES))
        return
    if mistake is not None and mistake not in mistakes.BY_NAME:
        raise NnappError(f"--mistake {mistake}: unknown (choose from {', '.join(mistakes.BY_NAME)}, or list)")
    loaded = load_config(config, overrides or [])
    run = read_run(run_dir, usable=False) if run_dir is not None else None  # NaN weights: a failed check
    result = check_config(loaded, every, run, mistake)
    if mistake is not None:
        for line in render.mistake_lines(mistakes.get(mistake), loaded.config.optim.weight_decay):
            out.print(line)
    out.print(render.gradcheck_table(result, mistake))
    for line in render.gradcheck_verdict_lines(result.report, mistake):
        out.print(line)
    raise typer.Exit(4 if result.report.verdict == "fail" else 0)


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
    from nnapp.orchestration.report import redraw_run
    from nnapp.rundir import artifacts, files
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
    files.write(target, png)
    out.print(f"wrote {target}")


@command(epilog="Example:\n\n  nnapp report runs/iris/20250101-120000")
def report(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
) -> None:
    """Rewrite RUN_DIR/report.md from the run's files, listing every picture now in it (saliency, attack,
    training.gif included); draws nothing (`nnapp plot` redraws the pictures too)."""
    from nnapp.orchestration.report import refresh_report

    run = read_run(run_dir)  # a missing or damaged run is one line, as for every command
    if not refresh_report(run.path):
        raise NnappError(
            f"{run.path}: no summary.json yet: is the run still training? report.md is written when it ends"
        )
    out.print(f"wrote {run.path / 'report.md'}", markup=False, soft_wrap=True)


@command()
def datasets() -> None:
    """The built-in datasets with their samples, features and classes (generated ones at their defaults)."""
    from nnapp.data.datasets import BUILTIN, describe_builtin

    rows = [(name, *describe_builtin(name)) for name in BUILTIN]
    out.print(render.datasets_table(rows))


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
    from nnapp.lab.shapes import batch_lines, config_dimensions, example_lines

    dims = config_dimensions(load_config(config, overrides or []))
    out.print(
        f"D_x = {dims.d_x} inputs, D_h = {dims.d_h} hidden units (model.hidden), N_c = {dims.n_c} classes, "
        f"B = {dims.batch} rows per batch (train.batch_size)"
    )
    for title, lines in (
        ("one example (column vectors as derived; gradients as row vectors)", example_lines(dims)),
        ("a batch (rows are examples; what nnapp.core.network computes)", batch_lines(dims)),
    ):
        out.print(render.shapes_table(title, lines))


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
    from nnapp.orchestration.job import load_data
    from nnapp.tools.compare import compare as run_compare

    loaded = load_config(config, overrides or [])
    data = load_data(loaded)
    result = run_compare(loaded.config, data, str(config), loaded.overrides)
    title = f"nnapp vs scikit-learn: {loaded.config.name} ({data.name})"
    out.print(render.comparison_table(result, title))
    if result.nnapp.diverged or result.sklearn.diverged:
        names = " and ".join(s.name for s in (result.nnapp, result.sklearn) if s.diverged)
        raise fail(f"{names} diverged (see the table); try a smaller optim.lr", 3)


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp export runs/iris/20250101-120000 --tensorboard\n\n"
        "  nnapp export runs/iris/20250101-120000 --tensorboard board/iris-lr0.1\n\n"
        "Then: tensorboard --logdir runs (or the folder given)."
    )
)
def export(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    folder: Annotated[
        Path | None,
        typer.Argument(help="Where to write (default: RUN/tensorboard).", show_default=False),
    ] = None,
    tensorboard: Annotated[
        bool, typer.Option("--tensorboard", help="TensorBoard event files (needs the .[tensorboard] extra).")
    ] = False,
) -> None:
    """Write a finished run in another tool's format: TensorBoard's event files (--tensorboard)."""
    if not tensorboard:
        raise fail("say which format: --tensorboard")
    from nnapp.tools.tensorboard_export import export_tensorboard

    written = export_tensorboard(run_dir, folder)
    out.print(f"wrote {written}", markup=False)
