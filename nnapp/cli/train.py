"""`nnapp train`: new and resumed runs, their summary table and exit code."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from nnapp.cli import render
from nnapp.cli.progress import ReadingProgress, Reporter
from nnapp.cli.shell import OverridesArg, command, err, fail, out
from nnapp.cli.signals import stop_on_signals

if TYPE_CHECKING:
    from nnapp.orchestration.job import Job, RunOutcome


# The exit code of each way a run can stop (the library reports the reason; only the CLI has exit codes)
EXIT_CODES = {"completed": 0, "early_stopping": 0, "diverged": 3, "gradcheck_failed": 4, "interrupted": 130}


def exit_code(stop_reason: str) -> int:
    return EXIT_CODES[stop_reason]


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
    if resume is not None or epochs is not None:
        job = _prepare_resume(resume, epochs, config, overrides)
    else:
        job = _prepare_new(config, overrides, print_config, quiet)
    from nnapp.orchestration.job import execute

    with stop_on_signals() as stop:
        cfg = job.loaded.config
        log_every = cfg.output.log_every or max(1, cfg.train.epochs // 20)
        if job.resumed and not quiet:
            out.print(
                f"resuming {job.run_dir} after epoch {job.checkpoint.state.epoch} of {cfg.train.epochs}"
            )
        notes = () if job.resumed else job.notes  # a resumed run said its notes when it started
        with Reporter(cfg.train.epochs, quiet, log_every, notes) as reporter:
            outcome = execute(job, [reporter], stop_event=stop)
        finish(outcome, quiet)  # still under our handlers: more Ctrl-C cannot cut the resume hint short


def _prepare_new(config: Path | None, overrides: list[str] | None, print_config: bool, quiet: bool) -> "Job":
    """`nnapp train CONFIG [KEY=VALUE...]`: a new run (or, with --print-config, its resolved config)."""
    from nnapp.config import dump_config, load_config
    from nnapp.orchestration.job import prepare_new

    if config is None:
        raise fail("missing CONFIG: give a YAML config, or --resume RUN_DIR")
    loaded = load_config(config, overrides or [])
    if print_config:
        out.print(dump_config(loaded.config, loaded.overrides), markup=False, end="")
        raise typer.Exit(0)
    with ReadingProgress(loaded.config.data.path, quiet) as reading:
        return prepare_new(loaded, progress=reading.update)


def _prepare_resume(
    run_dir: Path | None, epochs: int | None, config: Path | None, overrides: list[str] | None
) -> "Job":
    """`nnapp train --resume RUN_DIR [--epochs N]`: continue a run in place from its checkpoint."""
    from nnapp.orchestration.job import EpochsTooFewError, prepare_resume

    if run_dir is None:
        raise fail("--epochs goes with --resume RUN_DIR (for a new run, use the override train.epochs=N)")
    if config is not None or overrides:
        raise fail("--resume continues a run with its own config.yaml: give no CONFIG or KEY=VALUE")
    try:
        return prepare_resume(run_dir, epochs)
    except EpochsTooFewError as exc:
        raise fail(
            f"--epochs {exc.epochs}: {exc.run_dir} has already trained {exc.trained} epochs; "
            "give at least that many"
        ) from None


def finish(outcome: "RunOutcome", quiet: bool = False) -> None:
    """Print the summary of a finished (or stopped) run and exit with its code: the table (one line with
    -q), why it stopped, then the best epoch, the checks and the run directory, last, where it is seen."""
    code = exit_code(outcome.result.stop_reason)
    out.print(render.quiet_line(outcome) if quiet else render.summary_table(outcome), markup=False)
    for line in outcome.summary.baseline_sentences():  # a model no better than the majority class
        out.print(line, markup=False)
    _say_why_it_stopped(outcome, code)
    for line in render.summary_lines(outcome):
        out.print(line, markup=False)
    raise typer.Exit(code)


def _say_why_it_stopped(outcome: "RunOutcome", code: int) -> None:
    if outcome.result.message and code != 0:
        hint = ""
        if outcome.result.stop_reason == "interrupted":
            hint = (
                "; the run directory holds everything up to the last full epoch. "
                f"Resume with: nnapp train --resume {outcome.run_dir}"
            )
        err.print(f"[bold red]error:[/] {escape(outcome.result.message + hint)}", markup=True)
    elif outcome.result.message:
        out.print(outcome.result.message, markup=False)
