"""Sweep points on this machine: at most `jobs` persistent worker processes, each importing nnapp once
and then taking one point after another.

A worker that dies (killed, out of memory) fails the point it was running only: a new worker takes the
remaining points. Stopping the sweep stops every worker after its current step, each saving its run.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from nnapp.tools.sweep.plan import Task
from nnapp.tools.sweep.results import PointResult, Status

# After a stop request, how long workers get to finish their step and save before they are killed
# (a killed worker's run still resumes from its last checkpoint).
STOP_GRACE_SECONDS = 20.0

# Imported once, in the fork server every worker is forked from: what a point needs, lazily imported
# modules included (scikit-learn's datasets cost seconds).
PRELOAD = ["nnapp.tools.sweep.job", "nnapp.orchestration.job", "nnapp.data.datasets"]


@dataclass
class _Worker:
    process: Any  # multiprocessing's process object (its type depends on the start method)
    tasks: Any  # our end of the pipe that hands the worker its points (closed: the worker ends)
    results: Any  # our end of the pipe the worker sends its PointResults through
    task: Task | None = None  # the point it runs now
    started: float = 0.0

    @property
    def busy(self) -> bool:
        return self.task is not None


def run_local(tasks: Sequence[Task], jobs: int, stop: threading.Event) -> Iterator[PointResult]:
    """Yield each point's result as it completes; when `stop` is set, the running points' (stopped)
    results, then end. Closing the generator early stops the workers the same way."""
    context = _context()
    waiting = deque(tasks)
    pool: list[_Worker] = []
    deadline = math.inf  # for the workers to save and end, once they are told to stop
    try:
        while (waiting or any(w.busy for w in pool)) and not stop.is_set():
            _hand_out(context, pool, waiting, jobs)
            yield from _gather(pool, timeout=0.2)  # wakes for a result, a death, or to look at `stop`
        if not stop.is_set():
            return
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in pool:
            _signal(worker, signal.SIGTERM)  # each saves its run and ends; its result still comes
        while any(w.busy for w in pool) and time.monotonic() < deadline:
            yield from _gather(pool, timeout=0.2)
    finally:  # done, stopped, or the consumer went away: no worker outlives the sweep
        _shut_down(pool, min(deadline, time.monotonic() + STOP_GRACE_SECONDS))


def _context() -> Any:
    """Fresh worker processes that share nothing with the sweep's (no inherited pipes or threads)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def start_server() -> None:
    """Start the fork server now, so that it imports what the workers need while the sweep is planned
    (it does not wait for that: the first worker does)."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _hand_out(context: Any, pool: list[_Worker], waiting: deque[Task], jobs: int) -> None:
    for worker in pool:
        if waiting and not worker.busy:
            _assign(worker, waiting.popleft())
    while waiting and len(pool) < jobs:
        worker = _start(context)
        pool.append(worker)
        _assign(worker, waiting.popleft())


def _assign(worker: _Worker, task: Task) -> None:
    worker.task, worker.started = task, time.perf_counter()
    with contextlib.suppress(OSError):  # it died meanwhile: _gather reports the point as failed
        worker.tasks.send(task)


def _start(context: Any) -> _Worker:
    task_receive, task_send = context.Pipe(duplex=False)
    result_receive, result_send = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(task_receive, result_send), name="nnapp sweep worker")
    process.start()
    task_receive.close()  # the worker holds the only ends it uses: its death reads as end of file here
    result_send.close()
    return _Worker(process, task_send, result_receive)


def _gather(pool: list[_Worker], timeout: float) -> Iterator[PointResult]:
    """Wait up to `timeout` for results or deaths; yield what came; dead workers leave the pool."""
    multiprocessing.connection.wait(
        [w.results for w in pool if w.busy] + [w.process.sentinel for w in pool], timeout=timeout
    )
    for worker in list(pool):
        result = _receive(worker)
        if result is not None:
            yield result
        if not worker.busy and worker.process.exitcode is not None:
            _close(worker)
            pool.remove(worker)


def _receive(worker: _Worker) -> PointResult | None:
    """Its point's result once sent, a failed result if it died running one, else None."""
    task = worker.task
    if task is None:
        return None
    try:
        if worker.results.poll():
            result: PointResult = worker.results.recv()
            worker.task = None
            return result
    except (EOFError, OSError):
        pass  # died without sending: below
    if worker.process.is_alive():
        return None
    worker.process.join()
    worker.task = None
    return PointResult(
        task.point,
        task.run_dir,
        Status.ERROR,
        error=f"its worker process was {_cause(worker.process.exitcode)} before the run finished; "
        "run the same command to retry it",
        seconds=time.perf_counter() - worker.started,
    )


def _cause(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        return f"killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    return f"exited with code {code}"


def _signal(worker: _Worker, signum: int) -> None:
    if worker.process.exitcode is None and worker.process.pid is not None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(worker.process.pid, signum)


def _close(worker: _Worker) -> None:
    worker.tasks.close()
    worker.results.close()


def _shut_down(pool: list[_Worker], deadline: float) -> None:
    """Idle workers end at the end of their task pipe; busy ones were told to stop; past the deadline,
    whoever is left is killed (its run resumes from its last checkpoint)."""
    for worker in pool:
        worker.tasks.close()
        if worker.busy:
            _signal(worker, signal.SIGTERM)
    for worker in pool:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.exitcode is None:
            _signal(worker, signal.SIGKILL)
            worker.process.join()
        worker.results.close()


def _serve(tasks: Any, results: Any) -> None:
    """A worker process: run the points it is handed, one at a time, until its task pipe closes.

    SIGINT, SIGTERM, SIGHUP or the death of the sweep process stop training after the current step,
    with everything saved (the next run of the sweep resumes the point), and end the worker.
    """
    from nnapp.tools.sweep.job import run_task

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, lambda *_: stop.set())
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_stop_when_gone, args=(parent.sentinel, stop), daemon=True).start()
    while not stop.is_set():
        try:
            task: Task = tasks.recv()
        except (EOFError, OSError):  # the sweep is done with this worker, or gone
            return
        try:
            result = run_task(task, stop)
        except Exception as exc:  # a bug, or MemoryError: the sweep reports it as this point's failure
            result = PointResult(task.point, task.run_dir, Status.ERROR, error=f"{type(exc).__name__}: {exc}")
        try:
            results.send(result)
        except OSError:  # the sweep is gone; the run directory holds what the point did
            return


def _stop_when_gone(sentinel: int, stop: threading.Event) -> None:
    multiprocessing.connection.wait([sentinel])
    stop.set()
