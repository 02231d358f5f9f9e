"""`nnapp train`: new and resumed runs, their summary table and exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from nnapp.cli import render
from nnapp.cli.progress import Reporter
from nnapp.cli.shell import OverridesArg, command, err, fail, out
from nnapp.cli.signals import stop_on_signals


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
    from nnapp.config import dump_config, load_config
    from nnapp.rundir.experiment import prepare, run_experiment

    if resume is not None or epochs is not None:
        train_resume(resume, epochs, config, overrides, quiet)
    if config is None:
        raise fail("missing CONFIG: give a YAML config, or --resume RUN_DIR")
    loaded = load_config(config, overrides or [])
    if print_config:
        out.print(dump_config(loaded.config, loaded.overrides), markup=False, end="")
        raise typer.Exit(0)
    data = prepare(loaded)
    from nnapp.data.preflight import notes

    with stop_on_signals() as stop:
        epochs = loaded.config.train.epochs
        log_every = loaded.config.output.log_every or max(1, epochs // 20)
        with Reporter(epochs, quiet, log_every, notes(loaded.config, data)) as reporter:
            outcome = run_experiment(loaded, [reporter], stop_event=stop, data=data)  # type: ignore[list-item]
        finish(outcome)  # still under our handlers: more Ctrl-C cannot cut the resume hint short


def finish(outcome: Any) -> None:
    """Print the summary of a finished (or stopped) run and exit with its code."""
    out.print(render.summary_table(outcome))
    for line in render.summary_lines(outcome):
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


def train_resume(
    run_dir: Path | None, epochs: int | None, config: Path | None, overrides: list[str] | None, quiet: bool
) -> None:
    """`nnapp train --resume RUN_DIR [--epochs N]`: continue a run in place from its checkpoint."""
    from nnapp.rundir.resume import prepare_resume, resume_experiment

    if run_dir is None:
        raise fail("--epochs goes with --resume RUN_DIR (for a new run, use the override train.epochs=N)")
    if config is not None or overrides:
        raise fail("--resume continues a run with its own config.yaml: give no CONFIG or KEY=VALUE")
    job = prepare_resume(run_dir, epochs)
    with stop_on_signals() as stop:
        cfg = job.loaded.config
        log_every = cfg.output.log_every or max(1, cfg.train.epochs // 20)
        if not quiet:
            out.print(f"resuming {run_dir} after epoch {job.checkpoint.state.epoch} of {cfg.train.epochs}")
        with Reporter(cfg.train.epochs, quiet, log_every) as reporter:
            outcome = resume_experiment(job, [reporter], stop_event=stop)  # type: ignore[list-item]
        finish(outcome)
