"""The command line: a thin shell over the library. Only this module prints or exits."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # typer's own click
from typer.core import TyperGroup

from . import __version__
from .config import NnappError


class _OneLineUsageErrors(TyperGroup):
    """Click's usage errors (a missing argument, `--jobs 0`) as one `error:` line with exit code 2.

    typer draws them in a rich panel over several lines; every other bad input is one line, so these are
    too. The group's `main` is what both the console script and typer's CliRunner call.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        try:
            # not standalone: click raises its errors here instead of drawing them
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:  # bare `nnapp`: the help, as before
            from typer import rich_utils

            rich_utils.rich_format_error(exc)
            sys.exit(exc.exit_code)
        except UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else "nnapp"
            fail(f"{path}: {exc.format_message().rstrip('.')} (see {path} --help)", exc.exit_code)
            sys.exit(exc.exit_code)
        except ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("aborted", markup=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    help="Train a one-hidden-layer ReLU + softmax classifier with hand-derived, checked gradients.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=_OneLineUsageErrors,
)


class _Console(Console):
    """A console that goes quiet when its reader goes away (`nnapp train ... | head -3`).

    rich's default exits with code 1 there, which killed training mid-run and left no model: the run
    must go on and write its directory whether or not anyone still reads the progress lines.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        # what is still buffered, and the interpreter's final flush, go nowhere instead of failing; a
        # stream without a file descriptor (a test's in-memory one) needs nothing more than quiet
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())
            os.close(devnull)


out = _Console(highlight=False)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


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
            except KeyboardInterrupt:  # Ctrl-C outside training's own handlers, e.g. while loading data
                raise fail("interrupted", 130) from None

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

    def __init__(self, epochs: int, quiet: bool, log_every: int, notes: Sequence[str] = ()) -> None:
        self.epochs, self.quiet, self.log_every = epochs, quiet, log_every
        self.notes = notes  # said once training starts: an error before then must stay the only line
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
        for note in self.notes:  # what the run adjusts in the config, e.g. the batch size (even with -q)
            err.print(f"note: {note}", markup=False)
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
        colour = VERDICT_COLOURS[report.verdict]
        line = (
            f"gradcheck ({record.when}, epoch {record.epoch}): [{colour}]{report.verdict}[/] "
            f"max error {report.max_error:.1e}"
        )
        if self.progress is not None:
            self.progress.console.print(line)
        else:
            out.print(line)


VERDICT_COLOURS = {"pass": "green", "warn": "yellow", "unreliable": "magenta", "fail": "red"}


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
        worst = max(c.report.max_error for c in checks)  # summary.json's gradcheck_max_error too
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

    with _stop_on_signals() as stop:
        epochs = loaded.config.train.epochs
        log_every = loaded.config.output.log_every or max(1, epochs // 20)
        with _Reporter(epochs, quiet, log_every, notes(loaded.config, data)) as reporter:
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


def _stop_signals() -> list[signal.Signals]:
    """Ctrl-C, SIGTERM and a closed terminal (SIGHUP, unless started under nohup, which ignores it)."""
    hangup = [] if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else [signal.SIGHUP]
    return [signal.SIGINT, signal.SIGTERM, *hangup]


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM/SIGHUP set the event: training finishes its step, then everything is saved.

    On the way out, the console script keeps ignoring them (everything is saved; a late Ctrl-C
    must not turn exit code 130 into a traceback), while in-process callers such as tests get their
    own handlers back.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in _stop_signals()}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_IGN if _console_script else handler)


def _interrupt(signum: int, frame: object) -> None:
    # SystemExit, not KeyboardInterrupt: typer would turn the latter into a silent exit 130
    raise SystemExit(fail(f"interrupted by {signal.Signals(signum).name}", 130).exit_code)


def main() -> None:
    global _console_script
    _console_script = True
    # Until a command installs its own handlers (training saves, a sweep stops its workers), SIGTERM and
    # SIGHUP end the command like Ctrl-C: one line and exit code 130, not a silent kill or a traceback.
    for s in _stop_signals()[1:]:
        signal.signal(s, _interrupt)
    try:
        app()
    except KeyboardInterrupt:  # before typer runs the command (e.g. while importing)
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
    with _stop_on_signals() as stop:  # Ctrl-C, SIGTERM, SIGHUP: every worker saves its run and stops
        for result in run_sweep(plan, jobs, stop):
            results.append(result)
            if result.status == "skipped" or result.summary.get("stop_reason") == "interrupted":
                continue  # finished earlier, or stopped with the sweep: said once below
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
        done = finished_on_disk(plan)
        if stop.is_set() and done < plan.total:
            err.print(
                f"interrupted: {done} of {plan.total} runs are finished and kept in {plan.sweep_dir}; "
                "run the same command again to continue",
                markup=False,
            )
            raise typer.Exit(130)
    rows = write_outputs(plan, [r for r in results if r.summary.get("stop_reason") != "interrupted"])
    out.print(_leaderboard_table(rows, plan))
    errors = [r for r in results if r.status == "error"]
    if errors:
        raise fail(f"{len(errors)} of {plan.total} runs failed (see the lines above)", 1)


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
    from . import mistakes
    from .config import load_config
    from .gradcheck_run import check_config

    if mistake == "list":
        _print_mistakes()
        return
    if mistake is not None and mistake not in mistakes.BY_NAME:
        raise NnappError(f"--mistake {mistake}: unknown (choose from {', '.join(mistakes.BY_NAME)}, or list)")
    loaded = load_config(config, overrides or [])
    run = _load_run(run_dir) if run_dir is not None else None
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
    if report.verdict == "unreliable":
        line += ": finite differences cannot resolve these gradients (the loss is too large for eps)"
    out.print(line)
    if mistake is not None:
        caught = report.verdict == "fail"
        out.print(
            f"mistake {mistake}: "
            + ("[red]caught[/]: the check fails, as it should" if caught else "[yellow]not caught[/]")
        )
    raise typer.Exit(4 if report.verdict == "fail" else 0)


def _print_mistakes() -> None:
    from . import mistakes

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
    Exit code 3 if either diverged (its column says so).
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


# ------------------------------------------------ teaching lab: dJ/dx at work, lr-find (issue 11)

SplitOption = Annotated[
    str, typer.Option("--split", help="Which split of the run's data to use: train, val or test.")
]


def _split_suffix(split: str) -> str:
    return "" if split == "test" else f"_{split}"  # as evaluate names confusion_<split>.png


@command(
    name="saliency",
    epilog=(
        "Examples:\n\n"
        "  nnapp saliency runs/iris/20250101-120000\n\n"
        "  nnapp saliency runs/digits/20250101-120000 --split val"
    ),
)
def saliency_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    split: SplitOption = "test",
) -> None:
    """Mean |dJ/dx| per feature over a split (dJ/dx = delta2 W): which inputs move the loss most.

    J is each example's own cross-entropy. Writes saliency.csv (one row per feature: standardized and
    original units, one column per true class) and saliency.png (ranked bars; 8x8 images: one map per
    class) into the run directory (saliency_<split>.* for splits other than test).
    """
    from . import artifacts
    from .lab_plots import saliency_png
    from .saliency import saliency

    run = _load_run(run_dir)
    result = saliency(run, split)
    png = saliency_png(result, title=run.label)
    suffix = _split_suffix(split)
    csv_path, png_path = run.path / f"saliency{suffix}.csv", run.path / f"saliency{suffix}.png"
    artifacts.atomic_write_text(csv_path, artifacts.csv_text(result.csv_columns(), result.csv_rows()))
    artifacts.atomic_write_bytes(png_path, png)
    table = Table(
        title=f"mean |∂J_i/∂x_i| over the {split} split ({result.n_rows} rows), largest first\n"
        "(J_i: each example's own cross-entropy)"
    )
    table.add_column("feature")
    table.add_column("standardized units", justify="right")
    table.add_column("per original unit", justify="right")
    order = sorted(range(len(result.feature_names)), key=lambda j: -result.mean_abs_grad[j])
    for j in order[:10]:
        table.add_row(
            escape(result.feature_names[j]),
            f"{result.mean_abs_grad[j]:.4g}",
            f"{result.mean_abs_grad_original[j]:.4g}",
        )
    if len(order) > 10:
        table.caption = f"{len(order) - 10} more features in {csv_path.name}"
    out.print(table)
    out.print(f"wrote {csv_path}, {png_path}", markup=False, soft_wrap=True)


@command(
    name="attack",
    epilog=(
        "Examples:\n\n"
        "  nnapp attack runs/digits/20250101-120000\n\n"
        "  nnapp attack runs/breast_cancer/20250101-120000 --eps 0,0.1,0.5,1"
    ),
)
def attack_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `nnapp train`.", show_default=False)
    ],
    eps: Annotated[
        str,
        typer.Option("--eps", help="Comma-separated step sizes ε ≥ 0, in standardized input units."),
    ] = "0,0.05,0.1,0.2,0.3",
    split: SplitOption = "test",
) -> None:
    """FGSM: accuracy on x' = x + ε·sign(dJ/dx), next to the same ε with random signs (the control).

    ε is in standardized input units: ε × the feature's training standard deviation in its original
    units. Writes attack.csv (eps, accuracy_fgsm, accuracy_random), attack.png and, for 8x8 image
    data, attack_examples.png into the run directory (attack_<split>.* for splits other than test).
    """
    from . import artifacts
    from .attack import CSV_COLUMNS, attack, parse_eps
    from .lab_plots import attack_examples_png, attack_png

    eps_values = parse_eps(eps)  # before reading the run: a typo costs nothing
    run = _load_run(run_dir)
    result = attack(run, eps_values, split)
    pictures = {f"attack{_split_suffix(split)}.png": attack_png(result, title=run.label)}
    if result.examples is not None:
        pictures[f"attack_examples{_split_suffix(split)}.png"] = attack_examples_png(
            result.examples, title=run.label
        )
    csv_path = run.path / f"attack{_split_suffix(split)}.csv"
    eps_path = run.path / f"attack_eps{_split_suffix(split)}.csv"
    artifacts.atomic_write_text(csv_path, artifacts.csv_text(CSV_COLUMNS, result.csv_rows()))
    artifacts.atomic_write_text(eps_path, artifacts.csv_text(result.eps_columns(), result.eps_rows()))
    for name, png in pictures.items():
        artifacts.atomic_write_bytes(run.path / name, png)
    table = Table(title=f"FGSM vs random signs, {split} split ({result.n_rows} rows)")
    table.add_column("ε (standardized)", justify="right")
    table.add_column("ε in original units (min–max over features)", justify="right")
    table.add_column("accuracy FGSM", justify="right")
    table.add_column("accuracy random", justify="right")
    for point in result.points:
        original = result.eps_original(point.eps)
        table.add_row(
            f"{point.eps:g}",
            f"{original.min():.3g} – {original.max():.3g}",
            f"{point.accuracy_fgsm:.4f}",
            f"{point.accuracy_random:.4f}",
        )
    out.print(table)
    if len(result.feature_names) <= 10:
        largest = max(eps_values)
        per_feature = ", ".join(
            f"{name} {value:.3g}"
            for name, value in zip(result.feature_names, result.eps_original(largest), strict=True)
        )
        out.print(f"ε = {largest:g} in original units: {per_feature}", markup=False, soft_wrap=True)
    else:
        out.print(
            f"ε in each feature's original units (ε × its scale): {eps_path.name}",
            markup=False,
            soft_wrap=True,
        )
    written = [csv_path.name, eps_path.name, *pictures]
    out.print(f"wrote {', '.join(written)} in {run.path}", markup=False, soft_wrap=True)


@command(
    name="lr-find",
    epilog=(
        "Examples:\n\n"
        "  nnapp lr-find configs/iris.yaml\n\n"
        "  nnapp lr-find configs/digits.yaml model.hidden=128"
    ),
)
def lr_find_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    steps: Annotated[int, typer.Option("--steps", help="Steps from lr 1e-6 to 10.")] = 100,
) -> None:
    """Learning-rate range test: from the config's initial weights, lr grows from 1e-6 to 10 each step.

    Loss per step, smoothed (EMA with bias correction), stopped at 4x its minimum; prints a suggested
    optim.lr and writes lr_find.csv and lr_find.png to <output.dir>/<name>-lr-find/<timestamp>/.
    """
    from .config import load_config
    from .experiment import prepare
    from .lr_find import range_test, write_outputs

    loaded = load_config(config, overrides or [])
    data = prepare(loaded)
    result = range_test(loaded.config, data, steps, source=str(config))
    out_dir = write_outputs(result, loaded)
    out.print(
        f"{len(result.lrs)} of {result.steps_planned} steps (stopped: {result.stop_reason}); "
        f"smoothed loss lowest at lr {result.min_lr:.3g}",
        markup=False,
        soft_wrap=True,
    )
    out.print(f"suggested optim.lr={result.suggestion:.3g}", markup=False, soft_wrap=True)
    out.print(f"rule: {result.rule}", markup=False, soft_wrap=True)
    out.print(f"wrote lr_find.csv, lr_find.png in {out_dir}", markup=False, soft_wrap=True)
