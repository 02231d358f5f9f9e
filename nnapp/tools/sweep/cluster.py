"""Sweep points on a dask cluster: a local one of `jobs` worker processes, or one a scheduler runs.

Each point is its own future (dask.distributed's Client.submit), so a point whose worker dies fails
alone (KilledWorker); joblib's dask backend would end the whole Parallel call at the first failure.
Run directories are written by the workers: with a remote scheduler they must be on a file system
every machine sees, at the same absolute path (the config and its CSV files too).
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nnapp.errors import ConfigError
from nnapp.tools.sweep.plan import Task
from nnapp.tools.sweep.results import PointResult, Status

INSTALL_HINT = "pip install -e '.[dask]' from the checkout (or pip install 'dask[distributed]')"
STOP_GRACE_SECONDS = 20.0  # as for local workers: time to finish the step and save after a stop


SCHEMES = ("tcp", "tls", "ws", "wss")  # dask's network transports that need no extra package
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]+)")


def scheduler_address(text: str) -> str:
    """'HOST:PORT' or 'SCHEME://HOST:PORT' -> the address a dask Client connects to ('tcp://HOST:PORT').

    Parsed here, before dask is asked: its own parser takes 'notanaddress' (a traceback later) and port
    99999 (a 30 s wait for a connection that cannot exist)."""
    scheme, sep, location = text.rpartition("://")
    scheme = scheme if sep else "tcp"
    example = "expected HOST:PORT or tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"
    if scheme not in SCHEMES:
        raise ConfigError(
            f"unknown transport {scheme!r} (one of {', '.join(SCHEMES)}); {example}",
            option="scheduler",
            value=repr(text),
        )
    match = _HOST_PORT.fullmatch(location)
    if match is None:
        raise ConfigError(example, option="scheduler", value=repr(text))
    port = int(match.group(2))
    if not 1 <= port <= 65535:
        raise ConfigError(f"port {port} is out of range (1-65535)", option="scheduler", value=repr(text))
    return f"{scheme}://{location}"


def require_dask(scheduler: str | None, out_dir: Path | None) -> None:
    """Refuse, before anything is written, what cannot work: a malformed scheduler address, no dask, or
    a scheduler's workers that could not find the sweep directory (a relative --out, or none, is
    relative to this machine only)."""
    if scheduler is not None:
        scheduler_address(scheduler)
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"needs dask.distributed, which is not installed: {INSTALL_HINT}", option="backend", value="dask"
        ) from None
    if scheduler is not None and (out_dir is None or not out_dir.is_absolute()):
        got = str(out_dir) if out_dir is not None else "none given"
        raise ConfigError(
            "the sweep directory must be an absolute path on a file system every dask worker sees "
            f"(got {got})",
            option="scheduler",
        )


def run_on_dask(
    tasks: Sequence[Task],
    jobs: int,
    stop: threading.Event,
    scheduler: str | None = None,
    connected: Callable[[], None] = lambda: None,
) -> Iterator[PointResult]:
    """Yield each point's result as it completes, on a local cluster of `jobs` workers or `scheduler`'s;
    `connected` runs once the client is connected (the sweep directory is created then, not before)."""
    address = scheduler_address(scheduler) if scheduler is not None else None
    import dask
    from distributed import Client, Event, LocalCluster

    cluster = None
    if scheduler is None:
        # a point that kills its worker fails at once, as with local processes, not after 3 retries
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}), _sigint_ignored():
            cluster = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                # without a dashboard the scheduler still serves its health routes, on port 8787 unless told
                # otherwise: with 8787 taken (a notebook's cluster, another sweep) distributed printed a
                # four-line UserWarning. Any free port on this machine instead.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            )
    client = Client(cluster if cluster is not None else address)
    try:
        connected()
        stop_name = f"nnapp-sweep-stop-{uuid.uuid4().hex}"
        futures = {
            client.submit(
                _run_point, task, stop_name, key=f"nnapp-{task.point.dirname}-{uuid.uuid4().hex}"
            ): task
            for task in tasks
        }
        yield from _gather(futures, stop, Event(stop_name, client=client))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Worker processes started meanwhile inherit SIGINT ignored: a terminal's Ctrl-C, which reaches the
    whole process group, then stops the sweep (which stops its points after their step and saves them)
    instead of killing the workers mid-step."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _gather(futures: dict[Any, Task], stop: threading.Event, stop_all: Any) -> Iterator[PointResult]:
    pending = dict(futures)
    deadline = float("inf")
    while pending and time.monotonic() < deadline:
        if stop.is_set() and deadline == float("inf"):
            stop_all.set()  # running points stop after their step and save; the others do not start
            deadline = time.monotonic() + STOP_GRACE_SECONDS
        done = [future for future in pending if future.done()]
        for future in done:
            result = _result(future, pending.pop(future))
            if result is not None:
                yield result
        if not done:
            time.sleep(0.1)
    for future in pending:
        future.cancel()


def _result(future: Any, task: Task) -> PointResult | None:
    if future.status == "finished":
        result: PointResult | None = future.result()
        return result  # None: not started, the sweep was stopping
    if future.status == "cancelled":
        return None
    exc = future.exception()
    name = type(exc).__name__
    if name == "KilledWorker":
        error = "its dask worker died before the run finished; run the same command to retry it"
    else:
        error = f"{name}: {exc}"
    return PointResult(task.point, task.run_dir, Status.ERROR, error=error)


def _run_point(task: Task, stop_name: str) -> PointResult | None:
    """On a dask worker: run one point unless the sweep is stopping; stop after a step when it does."""
    from distributed import Event

    from nnapp.tools.sweep.job import run_task

    stop_all = Event(stop_name)
    if stop_all.is_set():
        return None
    stop, done = threading.Event(), threading.Event()

    def watch() -> None:
        try:
            while not done.is_set():
                if stop_all.wait(0.5):
                    stop.set()
                    return
        except Exception:  # the cluster closing after the point ended: nothing left to stop
            return

    threading.Thread(target=watch, daemon=True).start()
    try:
        return run_task(task, stop)
    finally:
        done.set()
