"""`nnapp sweep --backend dask`: points as dask.distributed futures, the same bytes as one process."""

import contextlib
import socket
import sys
import warnings
from pathlib import Path

import pytest
from _shared import SMALL_SWEEP, local_dask_client
from typer.testing import CliRunner

from nnapp.cli.app import app

runner = CliRunner()

SMALL = SMALL_SWEEP


@pytest.fixture
def config(write_config, tmp_path):
    return write_config(SMALL + f"  dir: {tmp_path / 'runs'}\n")


@pytest.fixture(scope="module")
def dask_scheduler():
    """A local cluster where a task whose worker dies is not retried (as on the sweep's own local cluster),
    for this module's tests (a killed worker is restarted by its nanny)."""
    with local_dask_client(**{"distributed.scheduler.allowed-failures": 0}) as client:
        yield client.scheduler.address


def sweep(config: Path, out: Path | str, *args: str):
    grid = ["optim.lr=0.05,0.5", "--seeds", "0,1"]
    return runner.invoke(app, ["sweep", str(config), *grid, "--out", str(out), *args])


def models(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("*/model.npz"))}


def test_a_sweep_on_a_dask_cluster_writes_the_same_model_bytes_as_one_process(
    config, tmp_path, dask_scheduler
):
    on_dask = tmp_path / "dask"
    result = sweep(config, on_dask, "--backend", "dask", "--scheduler", dask_scheduler)
    assert result.exit_code == 0, result.output
    assert "[4/4]" in result.output and "leaderboard" in result.output
    serial = tmp_path / "serial"
    assert sweep(config, serial, "--jobs", "1").exit_code == 0
    assert len(models(serial)) == 4
    assert models(on_dask) == models(serial)
    assert (on_dask / "sweep.csv").read_text() == (serial / "sweep.csv").read_text()


def test_a_dask_worker_killed_by_sigkill_fails_its_point_only_and_the_others_finish(
    config, tmp_path, dask_scheduler
):
    import os
    import signal
    import threading
    import time

    from nnapp.rundir.runlock import lock_holder
    from nnapp.tools.sweep import Backend, Status, plan_sweep, run_sweep

    plan = plan_sweep(config, ["train.epochs=3,1000000,5", "train.early_stopping.patience=0"], None, tmp_path)
    results: list = []
    sweeping = threading.Thread(
        target=lambda: results.extend(run_sweep(plan, 2, None, Backend.DASK, dask_scheduler)), daemon=True
    )
    sweeping.start()
    endless = tmp_path / "train.epochs=1000000_seed=0"
    deadline = time.monotonic() + 60
    while not (endless / "checkpoint.npz").exists():
        assert time.monotonic() < deadline and sweeping.is_alive(), results
        time.sleep(0.05)
    fd = os.open(endless, os.O_RDONLY | os.O_DIRECTORY)
    worker = lock_holder(fd)  # the dask worker process that trains the endless point
    os.close(fd)
    assert worker is not None
    os.kill(worker, signal.SIGKILL)  # what the out-of-memory killer does
    sweeping.join(timeout=120)
    assert not sweeping.is_alive()
    by_epochs = {r.point.label: r for r in results}
    assert by_epochs["train.epochs=1000000"].status is Status.ERROR
    assert "its dask worker died" in by_epochs["train.epochs=1000000"].error
    for done in ("train.epochs=3", "train.epochs=5"):
        assert by_epochs[done].scores is not None and by_epochs[done].scores.stop_reason == "completed"


def test_without_a_scheduler_the_sweep_runs_on_a_local_dask_cluster_of_jobs_workers(config, tmp_path):
    out = tmp_path / "sweep"
    with port_8787_taken(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sweep(config, out, "--backend", "dask", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert len(models(out)) == 4 and (out / "sweep.png").exists()
    assert [str(w.message) for w in caught if "8787" in str(w.message)] == []  # dask's default port, taken


@contextlib.contextmanager
def port_8787_taken():
    """Port 8787 (dask's dashboard) in use, as when a notebook's cluster is running."""
    with socket.socket() as holder:
        with contextlib.suppress(OSError):  # taken already: as good
            holder.bind(("127.0.0.1", 8787))
            holder.listen()
        yield


def test_a_remote_scheduler_with_a_relative_out_is_refused_before_anything_is_written(
    config, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    for out in (["--out", "shared/sweep"], []):
        args = ["sweep", str(config), "optim.lr=0.05,0.5", "--backend", "dask", *out]
        result = runner.invoke(app, [*args, "--scheduler", "tcp://127.0.0.1:1"])
        assert result.exit_code == 2, result.output
        assert "absolute path on a file system every dask worker sees" in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not any(tmp_path.rglob("*.npz")) and not (tmp_path / "shared").exists()


def test_backend_dask_without_dask_installed_is_one_line_saying_how_to_install_it(
    config, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    result = sweep(config, tmp_path / "sweep", "--backend", "dask")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --backend dask: needs dask.distributed, which is not installed: "
        "pip install -e '.[dask]' from the checkout (or pip install 'dask[distributed]')"
    ]
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "ray"], "--backend 'ray': expected processes or dask"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --backend dask"),
    ],
)
def test_an_unknown_backend_or_a_scheduler_without_dask_is_refused(config, tmp_path, args, message):
    result = sweep(config, tmp_path / "sweep", *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "sweep").exists()
