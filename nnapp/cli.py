"""The command line: a thin shell over the library. Only this module prints or exits."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .config import NnappError

app = typer.Typer(
    help="Train a one-hidden-layer ReLU + softmax classifier with hand-derived, checked gradients.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


ConfigArg = Annotated[Path, typer.Argument(help="YAML experiment config.", show_default=False)]
OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(help="KEY=VALUE overrides, e.g. optim.lr=0.05 model.hidden=32.", show_default=False),
]


def command(**settings: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`app.command` whose function turns the library's NnappError into `error: ...` and its exit code."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)  # typer reads the parameters through __wrapped__
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except NnappError as exc:
                raise fail(str(exc), exc.exit_code) from None

        return app.command(**settings)(run)

    return register


def fail(message: str, code: int = 2) -> typer.Exit:
    # the message may quote the user's text: escape control characters so that it stays one line
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"nnapp {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """nnapp: x -> z = Wx + b1 -> h = ReLU(z) -> theta = Uh + b2 -> y_hat = softmax(theta) -> J = CE.

    Gradients come from the derived formulas (delta1 = y_hat - y, ...), never autograd, and are
    checked against finite differences while training.
    """


class _Reporter:
    """Training callbacks that draw progress: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, epochs: int, quiet: bool, log_every: int) -> None:
        self.epochs, self.quiet, self.log_every = epochs, quiet, log_every
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> _Reporter:
        if not self.quiet and out.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("epoch"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TextColumn("[green]{task.fields[check]}"),
                TimeElapsedColumn(),
                console=out,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.epochs, info="", check="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_start(self, initial: Any, chance: float, far_off: bool) -> None:
        if self.quiet:
            return
        flag = "  [yellow](far from chance: check the data scaling and init)[/]" if far_off else ""
        out.print(f"epoch 0: loss {initial.train_ce:.4f} (chance level ln N_c = {chance:.4f}){flag}")

    def on_epoch_end(self, record: Any, state: Any) -> None:
        if self.quiet:
            return
        info = (
            f"loss {record.train_loss:.4f} val {record.val_loss:.4f} "
            f"acc {record.train_acc:.3f} val {record.val_acc:.3f}"
        )
        if self.progress is not None:
            self.progress.update(self.task, completed=record.epoch, info=info)
        elif record.epoch % self.log_every == 0 or record.epoch == 1:
            out.print(f"epoch {record.epoch:>4}/{self.epochs}  {info}  lr {record.lr:.3g}")

    def on_gradcheck(self, record: Any) -> None:
        report = record.report
        routine = report.verdict == "pass" and record.when != "final"
        if routine:
            # a passing periodic check is routine: it is in gradcheck.csv, and on a terminal the bar says it
            if self.progress is not None:
                self.progress.update(self.task, check=f"gradcheck pass {report.max_error:.0e}")
            return
        colour = {"pass": "green", "warn": "yellow", "fail": "red"}[report.verdict]
        line = (
            f"gradcheck ({record.when}, epoch {record.epoch}): [{colour}]{report.verdict}[/] "
            f"max error {report.max_error:.1e}"
        )
        if self.progress is not None:
            self.progress.console.print(line)
        else:
            out.print(line)


def _summary_table(outcome: Any) -> Table:
    m, result = outcome.metrics, outcome.result
    table = Table(title=f"nnapp run: {result.stop_reason}", show_header=True)
    table.add_column("split")
    table.add_column("accuracy", justify="right")
    table.add_column("loss (CE)", justify="right")
    for split in ("train", "val", "test"):
        table.add_row(split, f"{m[f'{split}_acc']:.4f}", f"{m[f'{split}_loss']:.4f}")
    return table


def _summary_lines(outcome: Any) -> list[str]:
    result = outcome.result
    checks = result.checks
    if checks:
        worst = max(c.report.max_error for c in checks)
        final = checks[-1].report.verdict
        gradcheck = f"gradcheck {final} ({len(checks)} checks, max error {worst:.1e})"
    else:
        gradcheck = "gradcheck off"
    return [
        f"best epoch {result.best_epoch} of {result.state.epoch} · {gradcheck} · {result.seconds:.2f} s",
        f"run directory: {outcome.run_dir}",
    ]


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp train configs/iris.yaml\n\n"
        "  nnapp train configs/iris.yaml optim.lr=0.05 model.hidden=32\n\n"
        "  nnapp train configs/digits.yaml --print-config\n\n"
        "  nnapp train --resume runs/iris/20260101-120000 --epochs 300"
    )
)
def train(
    config: Annotated[
        Path | None, typer.Argument(help="YAML experiment config (not with --resume).", show_default=False)
    ] = None,
    overrides: OverridesArg = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final summary.")] = False,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume", help="Continue this run directory from its last checkpoint.", show_default=False
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs", min=1, help="With --resume: train up to this many epochs in all.", show_default=False
        ),
    ] = None,
) -> None:
    """Train a model from a config; write metrics, gradient checks, the model and plots to a run directory."""
    from .config import dump_config, load_config
    from .experiment import prepare, run_experiment

    if resume is not None or epochs is not None:
        _train_resume(resume, epochs, config, overrides, quiet)
    if config is None:
        raise fail("missing CONFIG: give a YAML config, or --resume RUN_DIR")
    loaded = load_config(config, overrides or [])
    if print_config:
        out.print(dump_config(loaded.config, loaded.overrides), markup=False, end="")
        raise typer.Exit(0)
    data = prepare(loaded)
    from .preflight import notes

    for note in notes(loaded.config, data):  # what the run adjusts in the config, e.g. the batch size
        err.print(f"note: {note}", markup=False)

    with _stop_on_signals() as stop:
        epochs = loaded.config.train.epochs
        log_every = loaded.config.output.log_every or max(1, epochs // 20)
        with _Reporter(epochs, quiet, log_every) as reporter:
            outcome = run_experiment(loaded, [reporter], stop_event=stop, data=data)  # type: ignore[list-item]
        _finish(outcome)  # still under our handlers: more Ctrl-C cannot cut the resume hint short


def _finish(outcome: Any) -> None:
    """Print the summary of a finished (or stopped) run and exit with its code."""
    out.print(_summary_table(outcome))
    for line in _summary_lines(outcome):
        out.print(line, markup=False)
    if outcome.result.message and outcome.exit_code != 0:
        hint = ""
        if outcome.result.stop_reason == "interrupted":
            hint = (
                "; the run directory holds everything up to the last full epoch. "
                f"Resume with: nnapp train --resume {outcome.run_dir}"
            )
        err.print(f"[bold red]error:[/] {escape(outcome.result.message + hint)}", markup=True)
    elif outcome.result.message:
        out.print(outcome.result.message)
    raise typer.Exit(outcome.exit_code)


def _train_resume(
    run_dir: Path | None, epochs: int | None, config: Path | None, overrides: list[str] | None, quiet: bool
) -> None:
    """`nnapp train --resume RUN_DIR [--epochs N]`: continue a run in place from its checkpoint."""
    from .resume import prepare_resume, resume_experiment

    if run_dir is None:
        raise fail("--epochs goes with --resume RUN_DIR (for a new run, use the override train.epochs=N)")
    if config is not None or overrides:
        raise fail("--resume continues a run with its own config.yaml: give no CONFIG or KEY=VALUE")
    job = prepare_resume(run_dir, epochs)
    with _stop_on_signals() as stop:
        cfg = job.loaded.config
        log_every = cfg.output.log_every or max(1, cfg.train.epochs // 20)
        if not quiet:
            out.print(f"resuming {run_dir} after epoch {job.checkpoint.state.epoch} of {cfg.train.epochs}")
        with _Reporter(cfg.train.epochs, quiet, log_every) as reporter:
            outcome = resume_experiment(job, [reporter], stop_event=stop)  # type: ignore[list-item]
        _finish(outcome)


_console_script = False  # set by main(): the process ends when the command does


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set the event: training finishes its step, then everything is saved.

    On the way out, the console script keeps ignoring both signals (everything is saved; a late Ctrl-C
    must not turn exit code 130 into a traceback), while in-process callers such as tests get their
    own handlers back.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_IGN if _console_script else handler)


def main() -> None:
    global _console_script
    _console_script = True
    try:
        app()
    except KeyboardInterrupt:  # before training installs its handlers (e.g. while importing)
        err.print("interrupted")
        sys.exit(130)


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp sweep configs/iris.yaml optim.lr=0.01,0.1,1 model.hidden=16,64\n\n"
        "  nnapp sweep configs/moons.yaml optim.lr=0.03,0.3 --seeds 0,1,2 --jobs 2\n\n"
        "Run the same command again to skip finished points and resume interrupted ones."
    )
)
def sweep(
    config: ConfigArg,
    grid: Annotated[
        list[str] | None,
        typer.Argument(help="KEY=V1,V2,... to sweep (KEY=V: fixed for all points).", show_default=False),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Seeds per point, e.g. 0,1,2 (default: the config's).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel processes.")] = 1,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Sweep directory (default: <output.dir>/<name>-sweep).", show_default=False
        ),
    ] = None,
) -> None:
    """Train each combination of the values x seeds; print a leaderboard; write sweep.csv, sweep.png."""
    from .sweep import finished_on_disk, parse_seeds, plan_sweep, run_sweep, write_outputs

    plan = plan_sweep(config, grid or [], parse_seeds(seeds), out_dir)
    out.print(
        f"sweep: {plan.total} runs ({len(plan.finished)} finished earlier, {len(plan.tasks)} to run) "
        f"in {plan.sweep_dir}",
        markup=False,
    )
    results: list[Any] = []
    try:
        for result in run_sweep(plan, jobs):
            results.append(result)
            if result.status == "skipped":
                continue
            point = f"{result.point.label} seed={result.point.seed}".strip()
            if result.status == "error":
                err.print(
                    f"[{len(results)}/{plan.total}] {point}: error: {result.error}",
                    markup=False,
                    soft_wrap=True,
                )
            else:
                s = result.summary
                out.print(
                    f"[{len(results)}/{plan.total}] {point}: val acc {s['val_acc']:.4f} "
                    f"test acc {s['test_acc']:.4f} ({s['stop_reason']}, {result.seconds:.1f} s)",
                    markup=False,
                    soft_wrap=True,
                )
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # exiting: a second Ctrl-C must not cut this short
        done = finished_on_disk(plan)  # a worker may have finished a run not yet reported here
        err.print(
            f"interrupted: {done} of {plan.total} runs are finished and kept in {plan.sweep_dir}; "
            "run the same command again to continue",
            markup=False,
        )
        raise typer.Exit(130) from None
    rows = write_outputs(plan, results)
    out.print(_leaderboard_table(rows, plan))
    errors = [r for r in results if r.status == "error"]
    if errors:
        raise fail(f"{len(errors)} of {plan.total} runs failed (see the lines above)")


def _leaderboard_table(rows: list[Any], plan: Any) -> Table:
    table = Table(title=f"sweep leaderboard ({len(plan.seeds)} seed(s) per point, mean ± std)")
    table.add_column("rank", justify="right")
    for axis in plan.axes:
        table.add_column(axis.key)
    table.add_column("val acc", justify="right")
    table.add_column("test acc", justify="right")
    table.add_column("val loss", justify="right")
    for rank, row in enumerate(rows, start=1):
        values = dict(row.settings)
        table.add_row(
            str(rank),
            *(values[a.key] for a in plan.axes),
            f"{row.val_acc[0]:.4f} ± {row.val_acc[1]:.4f}",
            f"{row.test_acc[0]:.4f} ± {row.test_acc[1]:.4f}",
            f"{row.val_loss_mean:.4f}",
        )
    written = ["sweep.csv", "sweep.png"] if plan.axes else ["sweep.csv"]  # no picture without a swept key
    table.caption = " · ".join(str(plan.sweep_dir / name) for name in written)
    return table


# ------------------------------------------------------------------ using what was trained (issue 3)


def _load_run(run_dir: Path) -> Any:
    from .runs import load_run

    return load_run(run_dir)


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
        str, typer.Option("--split", help="Which split of the run's data to score: train, val or test.")
    ] = "test",
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
    from .evaluation import evaluate_run
    from .report import write_confusion

    run = _load_run(run_dir)
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
    from . import artifacts
    from .evaluation import predict_csv

    if out_file is not None:  # before reading anything: a bad --out costs nothing
        artifacts.check_output_file("--out", out_file, [input_csv])
    run = _load_run(run_dir)
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
        "  nnapp gradcheck configs/iris.yaml --run runs/iris/20250101-120000"
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
) -> None:
    """Compare the hand-derived gradients with centred finite differences (float64); exit 4 on a failure.

    Uses the config's gradcheck.* settings (rows, coordinates, eps, tol, fail) and training's rows.
    """
    from .config import load_config
    from .gradcheck_run import check_config

    loaded = load_config(config, overrides or [])
    run = _load_run(run_dir) if run_dir is not None else None
    result = check_config(loaded, every, run)
    report = result.report
    d_x, d_h, n_c = result.dims
    table = Table(title=f"gradient check at the {result.where}", show_header=True)
    for column in ("tensor", "checked", "kinks skipped", "max error", "verdict"):
        table.add_column(column, justify="left" if column in ("tensor", "verdict") else "right")
    colours = {"pass": "green", "warn": "yellow", "fail": "red"}
    for t in report.tensors:
        table.add_row(
            t.name,
            str(t.checked),
            str(t.kinks),
            f"{t.max_error:.2e}",
            f"[{colours[t.verdict]}]{t.verdict}[/]",
        )
    d = report.directional
    if d is not None:
        error = "kink" if d.kink else f"{d.error:.2e}"
        table.add_row(
            "direction",
            "0" if d.kink else "1",
            "1" if d.kink else "0",
            error,
            f"[{colours[d.verdict]}]{d.verdict}[/]",
        )
    table.caption = (
        f"{report.rows} training rows · D_x={d_x} D_h={d_h} N_c={n_c} · eps {report.eps:g} · "
        f"pass ≤ {report.tol:g} < warn ≤ {report.fail:g} < fail"
    )
    out.print(table)
    out.print(f"verdict: [{colours[report.verdict]}]{report.verdict}[/]")
    raise typer.Exit(4 if report.verdict == "fail" else 0)


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
    from . import artifacts
    from .overlay import comparison_png
    from .report import redraw_run

    if len(run_dirs) == 1 and out_file is None:
        written = redraw_run(run_dirs[0])
        out.print(f"wrote {', '.join(written)} in {run_dirs[0]}")
        return
    target = out_file if out_file is not None else Path("comparison.png")
    artifacts.check_output_file("--out", target, run_dirs)
    runs = [_load_run(path) for path in run_dirs]
    png = comparison_png(runs)
    artifacts.atomic_write_bytes(target, png)
    out.print(f"wrote {target}")


@command()
def datasets() -> None:
    """The built-in datasets with their samples, features and classes (generated ones at their defaults)."""
    from .data import BUILTIN, describe_builtin

    table = Table(title="built-in datasets (data.dataset)", show_header=True)
    for column in ("dataset", "samples", "features", "classes", "source"):
        table.add_column(column, justify="right" if column in ("samples", "features", "classes") else "left")
    for name in BUILTIN:
        samples, features, classes = describe_builtin(name)
        kind = (
            "generated: data.n_samples, data.noise"
            + (", data.n_features, data.centers" if name == "blobs" else "")
            if name in ("moons", "circles", "blobs")
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

    from .config import load_config
    from .shapes import batch_lines, config_dimensions, example_lines, fmt, shape_check

    dims = config_dimensions(load_config(config, overrides or []))
    out.print(
        f"D_x = {dims.d_x} inputs, D_h = {dims.d_h} hidden units (model.hidden), N_c = {dims.n_c} classes, "
        f"B = {dims.batch} rows per batch (train.batch_size)"
    )
    for title, lines in (
        ("one example (the seed's column vectors; gradients as row vectors)", example_lines(dims)),
        ("a batch (rows are examples; what nnapp.network computes)", batch_lines(dims)),
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
    """
    from .compare import compare as run_compare
    from .config import load_config
    from .experiment import prepare

    loaded = load_config(config, overrides or [])
    data = prepare(loaded)
    result = run_compare(loaded.config, data, str(config), loaded.overrides)
    table = Table(title=f"nnapp vs scikit-learn: {loaded.config.name} ({data.name})")
    table.add_column("")
    sides = (result.nnapp, result.sklearn)
    for side in sides:
        table.add_column(side.name, justify="right")
    table.add_row("test accuracy", *(f"{s.test_acc:.4f}" for s in sides))
    table.add_row("final train loss (CE)", *(f"{s.train_loss:.4f}" for s in sides))
    table.add_row("training seconds", *(f"{s.seconds:.3f}" for s in sides))
    table.add_row("ms per epoch", *(f"{s.ms_per_epoch:.2f}" for s in sides))
    table.add_row("epochs", *(str(s.epochs) for s in sides))
    table.caption = f"nnapp trained {result.speedup:.1f}× as fast\n" + "\n".join(result.notes)
    out.print(table)
