"""`nnapp sweep`: a grid of runs, its progress lines and leaderboard."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nnapp.cli import render
from nnapp.cli.shell import (
    ConfigArg,
    command,
    err,
    fail,
    out,
)
from nnapp.cli.signals import stop_on_signals

TensorboardOption = Annotated[
    bool,
    typer.Option(
        "--tensorboard",
        help="TensorBoard event files in each run (output.tensorboard=true): its HParams view compares "
        "the runs (tensorboard --logdir SWEEP_DIR).",
    ),
]


@command(
    epilog=(
        "Examples:\n\n"
        "  nnapp sweep configs/iris.yaml optim.lr=0.01,0.1,1 model.hidden=16,64\n\n"
        "  nnapp sweep configs/moons.yaml optim.lr=0.03,0.3 --seeds 0,1,2 --jobs 2\n\n"
        "  nnapp sweep configs/iris.yaml optim.lr=0.01,0.1 --backend dask --scheduler tcp://host:8786 "
        "--out /shared/iris-sweep\n\n"
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
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=1, help="Points at once: worker processes (with dask: the local cluster's)."
        ),
    ] = 1,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Sweep directory (default: <output.dir>/<name>-sweep).", show_default=False
        ),
    ] = None,
    plots: Annotated[
        bool, typer.Option("--plots", help="Draw each run's pictures (any time later: nnapp plot RUN).")
    ] = False,
    tensorboard: TensorboardOption = False,
    backend: Annotated[
        str, typer.Option("--backend", help="processes (this machine) or dask (a dask cluster).")
    ] = "processes",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="With --backend dask: join this scheduler (default: start a local cluster of --jobs "
            "workers). Run directories must be on a file system its workers share: --out absolute.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train each combination of the values x seeds; print a leaderboard; write sweep.csv, sweep.png."""
    from nnapp.tools.sweep import (
        Backend,
        Status,
        finished_on_disk,
        parse_seeds,
        plan_sweep,
        run_sweep,
        write_outputs,
    )
    from nnapp.tools.sweep.outputs import preload_drawing

    chosen = _start_backend(_backend(Backend, backend, scheduler), scheduler, out_dir)
    specs = [*(grid or []), *(["output.tensorboard=true"] if tensorboard else [])]  # fixed for every point
    plan = plan_sweep(config, specs, parse_seeds(seeds), out_dir, plots)
    out.print(
        f"sweep: {plan.total} runs ({len(plan.finished)} finished earlier, {len(plan.tasks)} to run) "
        f"in {plan.sweep_dir}",
        markup=False,
    )
    preload_drawing(plan)
    results: list[Any] = []
    with stop_on_signals() as stop:  # Ctrl-C, SIGTERM, SIGHUP: every worker saves its run and stops
        for result in run_sweep(plan, jobs, stop, chosen, scheduler):
            results.append(result)
            if result.status is not Status.SKIPPED and not result.interrupted:
                _progress_line(result, f"[{len(results)}/{plan.total}]")  # others: said once below
        done = finished_on_disk(plan)
        if stop.is_set() and done < plan.total:
            err.print(
                f"interrupted: {done} of {plan.total} runs are finished and kept in {plan.sweep_dir}; "
                "run the same command again to continue",
                markup=False,
            )
            raise typer.Exit(130)
    rows = write_outputs(plan, results)
    out.print(leaderboard_table(rows, plan))
    errors = [r for r in results if r.status is Status.ERROR]
    if errors:
        raise fail(f"{len(errors)} of {plan.total} runs failed (see the lines above)", 1)


def _progress_line(result: Any, counter: str) -> None:
    point = f"{result.point.label} seed={result.point.seed}".strip()
    s = result.scores
    if s is None:
        err.print(f"{counter} {point}: error: {result.error}", markup=False, soft_wrap=True)
    else:
        out.print(
            f"{counter} {point}: val acc {s.val_acc:.4f} test acc {s.test_acc:.4f} "
            f"({s.stop_reason}, {result.seconds:.1f} s)",
            markup=False,
            soft_wrap=True,
        )


def _backend(kind: Any, name: str, scheduler: str | None) -> Any:
    """--backend as the Backend enum; --scheduler only with dask."""
    try:
        chosen = kind(name)
    except ValueError:
        raise fail(f"--backend {name!r}: expected processes or dask", 2) from None
    if scheduler is not None and chosen is not kind.DASK:
        raise fail("--scheduler needs --backend dask", 2)
    return chosen


def leaderboard_table(rows: list[Any], plan: Any) -> Table:
    table = Table(title=f"sweep leaderboard ({len(plan.seeds)} seed(s) per point, mean ± std)")
    table.add_column("rank", justify="right")
    for axis in plan.axes:
        table.add_column(axis.key)
    table.add_column("val acc", justify="right", no_wrap=True)  # "0.9889 ±" / "0.0192" reads as two
    table.add_column("test acc", justify="right", no_wrap=True)
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
    return render.fit(table)


def _start_backend(chosen: Any, scheduler: str | None, out_dir: Path | None) -> Any:
    """Check dask is there for `--backend dask`; otherwise start the worker processes' fork server now,
    so that its imports overlap the planning."""
    from nnapp.tools.sweep import Backend

    if chosen is Backend.DASK:
        from nnapp.tools.sweep.cluster import require_dask

        require_dask(scheduler, out_dir)
    else:
        from nnapp.tools.sweep.workers import start_server

        start_server()
    return chosen
