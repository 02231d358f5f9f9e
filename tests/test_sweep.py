"""`nnapp sweep`: the grid x seeds as ordinary run directories, a leaderboard, reruns that skip work."""

import contextlib
import csv
import json
from pathlib import Path

import pytest
from _shared import SMALL_SWEEP
from typer.testing import CliRunner

from nnapp.cli.app import app
from nnapp.errors import ConfigError
from nnapp.tools.sweep import (
    GridPoint,
    PointResult,
    Scores,
    Status,
    leaderboard,
    parse_grid,
    parse_seeds,
    points,
    split_values,
)

runner = CliRunner()

SMALL = SMALL_SWEEP


@pytest.fixture
def config(write_config, tmp_path):
    return write_config(SMALL + f"  dir: {tmp_path / 'runs'}\n")


def sweep(config: Path, out: Path, *args: str):
    return runner.invoke(app, ["sweep", str(config), "optim.lr=0.05,0.5", *args, "--out", str(out)])


def models(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("*/model.npz"))}


def test_split_values_keeps_commas_inside_brackets_and_quotes():
    assert split_values("0.01, 0.1,1") == ["0.01", "0.1", "1"]
    assert split_values("[a,b],[c]") == ["[a,b]", "[c]"]
    assert split_values("'x,y',z") == ["'x,y'", "z"]


def test_a_grid_is_the_cartesian_product_of_the_values_times_the_seeds():
    axes, fixed = parse_grid(["optim.lr=0.01,0.1,1", "model.hidden=16,64", "train.epochs=5"])
    assert fixed == ["train.epochs=5"]
    grid = points(axes, [0, 1])
    assert len(grid) == 3 * 2 * 2 == len({p.dirname for p in grid})
    assert grid[0].overrides == ["optim.lr=0.01", "model.hidden=16", "seed=0"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["optim.lr"], "expected KEY=V1,V2"),
        (["optim.lr=0.1,,1"], "empty value"),
        (["optim.lr=0.1,0.1"], "listed twice"),
        (["optim.lr=0.1,1", "optim.lr=2,3"], "given twice"),
        (["seed=0,1"], "--seeds"),
    ],
)
def test_malformed_grid_specs_are_refused(specs, message):
    with pytest.raises(ConfigError, match=message):
        parse_grid(specs)


def test_seeds_must_be_distinct_non_negative_integers():
    assert parse_seeds("0,1, 2") == [0, 1, 2]
    for bad in ("0,x", "-1", "1,1"):
        with pytest.raises(ConfigError, match=r"^seeds "):
            parse_seeds(bad)


def test_the_leaderboard_pools_seeds_and_puts_the_best_mean_validation_accuracy_first():
    def result(lr: str, seed: int, val: float, test: float) -> PointResult:
        scores = Scores(val_acc=val, val_loss=1 - val, test_acc=test, test_loss=1.0, stop_reason="completed")
        return PointResult(GridPoint((("optim.lr", lr),), seed), Path("x"), Status.TRAINED, scores)

    rows = leaderboard(
        [
            result("1", 0, 0.5, 0.4),
            result("0.1", 0, 0.9, 0.8),
            result("0.1", 1, 0.7, 0.6),
            result("1", 1, 0.7, 0.6),
        ]
    )
    assert [r.label for r in rows] == ["optim.lr=0.1", "optim.lr=1"]
    assert rows[0].runs == 2 and rows[0].val_acc[0] == pytest.approx(0.8)
    assert rows[0].val_acc[1] == pytest.approx(0.1414213, rel=1e-6)  # sample std of 0.9, 0.7
    assert rows[1].test_acc == pytest.approx((0.5, 0.1414213), rel=1e-6)


def test_sweep_trains_every_point_in_parallel_and_writes_leaderboard_csv_and_picture(config, tmp_path):
    out = tmp_path / "sweep"
    result = sweep(config, out, "--seeds", "0,1", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "[4/4]" in result.output and "leaderboard" in result.output
    assert sorted(models(out)) == [
        "optim.lr=0.05_seed=0",
        "optim.lr=0.05_seed=1",
        "optim.lr=0.5_seed=0",
        "optim.lr=0.5_seed=1",
    ]
    summary = json.loads((out / "optim.lr=0.5_seed=1" / "summary.json").read_text())
    assert summary["seed"] == 1 and summary["stop_reason"] == "completed"
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["runs"] for r in rows] == ["2", "2"] and {r["optim.lr"] for r in rows} == {"0.05", "0.5"}
    assert float(rows[0]["val_acc_mean"]) >= float(rows[1]["val_acc_mean"])
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"

    # the same points in one process give the same bytes: --jobs changes nothing but speed
    serial = tmp_path / "serial"
    assert sweep(config, serial, "--seeds", "0,1", "--jobs", "1").exit_code == 0
    assert models(serial) == models(out)


def test_a_rerun_skips_finished_points_and_resumes_an_interrupted_one(config, tmp_path):
    out = tmp_path / "sweep"
    assert sweep(config, out).exit_code == 0
    before = models(out)
    interrupted = out / "optim.lr=0.5_seed=0"
    (interrupted / "summary.json").unlink()  # as if the sweep had been stopped during this point
    (interrupted / "model.npz").unlink()
    result = sweep(config, out)
    assert result.exit_code == 0, result.output
    assert "1 finished earlier, 1 to run" in result.output
    assert models(out) == before


def test_a_bad_value_in_the_grid_is_one_line_exit_2_and_nothing_written(config, tmp_path):
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(config), "optim.lr=0.1,-1", "--out", str(out)])
    assert result.exit_code == 2
    assert "override 'optim.lr=-1'" in result.output and "optim.lr must be > 0" in result.output
    assert not out.exists()


def test_a_sweep_directory_of_another_config_is_refused(config, tmp_path):
    out = tmp_path / "sweep"
    assert sweep(config, out).exit_code == 0
    result = sweep(config, out, "model.hidden=9")
    assert result.exit_code == 2 and "different config" in result.output


def test_ctrl_c_stops_the_sweep_with_130_keeping_finished_runs_for_the_rerun(write_config, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from nnapp.tools.sweep import plan_sweep

    config = write_config(SMALL + f"  dir: {tmp_path / 'runs'}\n")
    out = tmp_path / "sweep"
    grid = ["train.epochs=2,1000000", "train.early_stopping.patience=0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "nnapp", "sweep", str(config), *grid, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell starts background jobs with SIGINT ignored, and a child inherits that: give the sweep
        # the default disposition a terminal's Ctrl-C meets
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    endless = out / "train.epochs=1000000_seed=0" / "checkpoint.npz"
    deadline = time.monotonic() + 60
    while not endless.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    try:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # never leave an endless sweep behind
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "1 of 2 runs are finished" in stderr and "Traceback" not in stderr
    plan = plan_sweep(config, grid, None, out)
    assert [r.point.label for r in plan.finished] == ["train.epochs=2"]
    assert [(t.point.label, t.action) for t in plan.tasks] == [("train.epochs=1000000", "resume")]


def test_ties_in_validation_accuracy_are_broken_by_validation_loss_never_by_test_accuracy():
    def result(lr: str, val_loss: float, test: float) -> PointResult:
        scores = Scores(val_acc=0.9, val_loss=val_loss, test_acc=test, test_loss=1.0, stop_reason="x")
        return PointResult(GridPoint((("optim.lr", lr),), 0), Path("x"), Status.TRAINED, scores)

    # the better test accuracy sits on the worse validation loss: validation decides
    rows = leaderboard([result("1", 0.30, 1.0), result("0.1", 0.20, 0.5)])
    assert [r.label for r in rows] == ["optim.lr=0.1", "optim.lr=1"]
    # equal on validation: grid order, whatever the test split says
    for tests in ((1.0, 0.5), (0.5, 1.0)):
        rows = leaderboard([result("1", 0.2, tests[0]), result("0.1", 0.2, tests[1])])
        assert [r.label for r in rows] == ["optim.lr=1", "optim.lr=0.1"]


# ---------------------------------------------------------------- real sweep processes and real signals


def _process_tree(root: int) -> dict[int, int]:
    """pid -> parent pid of every live descendant of `root` (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    tree: dict[int, int] = {}
    frontier = {root}
    while frontier:
        children = {pid for pid, ppid in parents.items() if ppid in frontier}
        tree.update({pid: parents[pid] for pid in children})
        frontier = children
    return tree


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _workers(root: int) -> set[int]:
    """The processes that train: the leaves of the sweep's tree (not multiprocessing's resource tracker)."""
    tree = _process_tree(root)
    leaves = set(tree) - set(tree.values())
    return {pid for pid in leaves if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()}


@pytest.fixture
def sweep_process(tmp_path):
    """Start `nnapp sweep` as a real process in a session of its own; never leave it or a worker behind."""
    import os
    import signal
    import subprocess
    import sys

    started: list[subprocess.Popen] = []

    def start(config: Path, *args: str) -> subprocess.Popen:
        def default_signals() -> None:  # a shell's background job would inherit SIGINT ignored
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)

        process = subprocess.Popen(
            [sys.executable, "-m", "nnapp", "sweep", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=default_signals,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        else:
            with contextlib.suppress(ProcessLookupError):  # workers outliving their sweep: a failure anyway
                os.killpg(process.pid, signal.SIGKILL)


def _wait_for(path: Path, process, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_worker_killed_by_sigkill_fails_its_point_only_and_the_others_finish(
    config, tmp_path, sweep_process
):
    import os
    import signal

    from nnapp.tools.sweep import plan_sweep

    out = tmp_path / "sweep"
    grid = ["train.epochs=3,1000000,5", "train.early_stopping.patience=0"]
    process = sweep_process(config, *grid, "--out", str(out))  # one worker at a time: the endless one
    _wait_for(out / "train.epochs=1000000_seed=0" / "checkpoint.npz", process)
    (worker,) = _workers(process.pid)
    os.kill(worker, signal.SIGKILL)  # what the out-of-memory killer does
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "train.epochs=1000000 seed=0: error: its worker process was killed by SIGKILL" in stderr
    assert stderr.strip().splitlines()[-1] == "error: 1 of 3 runs failed (see the lines above)"
    assert "Traceback" not in stderr + stdout
    for done in ("train.epochs=3_seed=0", "train.epochs=5_seed=0"):  # the point after it ran too
        assert json.loads((out / done / "summary.json").read_text())["stop_reason"] == "completed"
    assert sorted(r["train.epochs"] for r in csv.DictReader((out / "sweep.csv").open())) == ["3", "5"]
    plan = plan_sweep(config, grid, None, out)  # the rerun picks the killed point up from its checkpoint
    assert [(t.point.label, t.action) for t in plan.tasks] == [("train.epochs=1000000", "resume")]


def test_sigterm_stops_every_worker_exits_130_and_the_same_command_resumes(config, tmp_path, sweep_process):
    import signal
    import time

    out = tmp_path / "sweep"
    # long enough to be stopped right after starting, short enough to finish on the rerun
    grid = ["train.epochs=800,801", "train.early_stopping.patience=0", "--jobs", "2", "--out", str(out)]
    process = sweep_process(config, *grid)
    for epochs in (800, 801):
        _wait_for(out / f"train.epochs={epochs}_seed=0" / "checkpoint.npz", process)
    workers = _workers(process.pid)
    assert len(workers) == 2
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted: 0 of 2 runs are finished" in stderr and "Traceback" not in stderr
    deadline = time.monotonic() + 10  # the sweep waited for its workers: at most the time to be reaped
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    for epochs in (800, 801):  # each worker saved its run on the way out
        summary = json.loads((out / f"train.epochs={epochs}_seed=0" / "summary.json").read_text())
        assert summary["stop_reason"] == "interrupted" and summary["epochs_trained"] < epochs

    rerun = sweep_process(config, *grid)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert "(0 finished earlier, 2 to run)" in stdout and "leaderboard" in stdout
    for epochs in (800, 801):
        summary = json.loads((out / f"train.epochs={epochs}_seed=0" / "summary.json").read_text())
        assert summary["stop_reason"] == "completed" and summary["epochs_trained"] == epochs


def test_workers_of_a_sweep_killed_by_sigkill_save_their_runs_and_end(config, tmp_path, sweep_process):
    import os
    import signal
    import time

    out = tmp_path / "sweep"
    grid = ["train.epochs=999999,1000000", "train.early_stopping.patience=0", "--jobs", "2"]
    process = sweep_process(config, *grid, "--out", str(out))
    for epochs in (999999, 1000000):
        _wait_for(out / f"train.epochs={epochs}_seed=0" / "checkpoint.npz", process)
    workers = _workers(process.pid)
    assert len(workers) == 2
    os.kill(process.pid, signal.SIGKILL)  # no handler runs: the workers see their parent go
    process.communicate(timeout=30)
    deadline = time.monotonic() + 60  # bounds a hang; they end after their current step
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    for epochs in (999999, 1000000):
        summary = json.loads((out / f"train.epochs={epochs}_seed=0" / "summary.json").read_text())
        assert summary["stop_reason"] == "interrupted"


def test_points_tied_on_validation_rank_in_grid_order_whatever_order_the_workers_finished_in(tmp_path):
    from nnapp.tools.sweep import Axis, SweepPlan, write_outputs

    axis = Axis("optim.lr", ("0.01", "0.1", "1"))
    plan = SweepPlan(tmp_path / "c.yaml", [], [axis], [0], tmp_path / "sweep", [], [])
    scores = Scores(val_acc=0.9, val_loss=0.2, test_acc=0.9, test_loss=0.2, stop_reason="completed")
    finished = [
        PointResult(GridPoint((("optim.lr", v),), 0), Path("x"), Status.TRAINED, scores) for v in axis.values
    ]
    rows = write_outputs(plan, finished[::-1])  # the last point finished first
    assert [r.label for r in rows] == ["optim.lr=0.01", "optim.lr=0.1", "optim.lr=1"]
    ranked = [r["optim.lr"] for r in csv.DictReader((tmp_path / "sweep" / "sweep.csv").open())]
    assert ranked == ["0.01", "0.1", "1"]


def test_run_pictures_are_drawn_only_with_plots_and_nnapp_plot_draws_them_later(write_config, tmp_path):
    config = write_config(SMALL.replace("plots: false", "plots: true") + f"  dir: {tmp_path / 'runs'}\n")
    out = tmp_path / "sweep"
    assert sweep(config, out).exit_code == 0
    assert (out / "sweep.png").exists()
    assert not list(out.glob("*/*.png"))  # a sweep point costs its training, not its pictures
    run = out / "optim.lr=0.05_seed=0"
    assert runner.invoke(app, ["plot", str(run)]).exit_code == 0
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    # the same sweep with --plots is the same sweep: its runs are finished, not "a different config"
    again = sweep(config, out, "--plots")
    assert again.exit_code == 0 and "2 finished earlier, 0 to run" in again.output
    drawn = tmp_path / "drawn"  # a sweep of one point is enough to see a point's pictures drawn
    one_point = runner.invoke(app, ["sweep", str(config), "optim.lr=0.5", "--plots", "--out", str(drawn)])
    assert one_point.exit_code == 0, one_point.output
    (curves,) = drawn.glob("*/curves.png")
    assert curves.read_bytes()[:4] == b"\x89PNG"


def test_a_point_returns_the_scores_its_summary_json_holds(config, tmp_path):
    from nnapp.tools.sweep import plan_sweep, run_task

    plan = plan_sweep(config, ["optim.lr=0.05,0.5"], None, tmp_path / "sweep")
    result = run_task(plan.tasks[1])
    assert result.status is Status.TRAINED and result.scores is not None
    summary = json.loads((plan.tasks[1].run_dir / "summary.json").read_text())
    expected = Scores(
        summary["val_acc"], summary["val_loss"], summary["test_acc"], summary["test_loss"], "completed"
    )
    assert result.scores == expected


def test_a_sweep_directory_inside_a_run_directory_is_refused_and_the_run_is_untouched(tmp_path):
    from _shared import ROOT, copy_of

    run_dir = copy_of("iris", tmp_path)
    before = sorted(p.name for p in run_dir.iterdir())
    result = CliRunner().invoke(
        app, ["sweep", str(ROOT / "configs" / "iris.yaml"), "model.hidden=2,3", "--out", str(run_dir / "s")]
    )
    assert result.exit_code == 2
    assert f"is inside the run directory {run_dir}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_matplotlib_is_preloaded_in_a_thread_the_interpreter_waits_for_at_exit(config, tmp_path):
    """The interpreter must join it before finalizing: a daemon thread still loading matplotlib's C++
    extensions when a SIGTERM'd sweep exits is the likely cause of one abort (SIGABRT) seen instead of 130."""
    from nnapp.tools.sweep import plan_sweep
    from nnapp.tools.sweep.outputs import preload_drawing

    plan = plan_sweep(config, ["optim.lr=0.05,0.5"], None, tmp_path / "sweep")
    thread = preload_drawing(plan)
    assert thread is not None and not thread.daemon
    thread.join(timeout=60)
    assert not thread.is_alive()
