"""Ctrl-C, SIGTERM and SIGHUP: training finishes its step, saves everything and exits 130.

Two policies, chosen by who runs the command. The console script (`install_console_policy`, called by
`nnapp.cli.app.main`) ends the command on SIGTERM/SIGHUP like Ctrl-C, and after a command's own stop
handlers keeps ignoring the signals until the process exits. In-process callers (tests, a notebook)
install nothing and get their own handlers back when a command is done.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(SystemExit):
    """A stop signal ended the command (the console script's policy): exit code 130, and one
    `error: interrupted by SIGTERM` line, which nnapp.cli.shell's command wrapper prints."""

    def __init__(self, signum: int) -> None:
        super().__init__(130)
        self.signal_name = signal.Signals(signum).name


def stop_signals() -> list[signal.Signals]:
    """Ctrl-C, SIGTERM and a closed terminal (SIGHUP, unless started under nohup, which ignores it)."""
    hangup = [] if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else [signal.SIGHUP]
    return [signal.SIGINT, signal.SIGTERM, *hangup]


def interrupt(signum: int, frame: object) -> None:
    """The console script's SIGTERM/SIGHUP handler: the command ends with exit code 130.

    Raised where the program happens to be (drawing a frame, say), so whatever cleanup runs as it
    unwinds may raise its own error on top: the command wrapper finds the interruption behind it. One
    interruption is enough: further SIGTERM/SIGHUP are ignored while the process ends."""
    for s in stop_signals()[1:]:
        signal.signal(s, signal.SIG_IGN)
    # SystemExit, not KeyboardInterrupt: typer would turn the latter into a silent exit 130
    raise Interrupted(signum)


def keyboard_interrupt(signum: int, frame: object) -> None:
    """The console script's SIGINT handler: what Python's default does (KeyboardInterrupt)."""
    raise KeyboardInterrupt


_CONSOLE_HANDLERS = (interrupt, keyboard_interrupt)


def install_console_policy() -> None:
    """The process ends when the command does: until a command installs its own handlers (training
    saves, a sweep stops its workers), SIGTERM and SIGHUP end it like Ctrl-C, not a silent kill."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if started with it ignored
        signal.signal(signal.SIGINT, keyboard_interrupt)
    for s in stop_signals()[1:]:
        signal.signal(s, interrupt)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM/SIGHUP set the event: training finishes its step, then everything is saved.

    On the way out, under the console script's policy the signals stay ignored (everything is saved; a
    late Ctrl-C must not turn exit code 130 into a traceback), while in-process callers such as tests
    get their own handlers back.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        # Ignore the signals first: a second Ctrl-C while the run saves changes nothing, and a handler
        # that ran again inside Event.set (a plain Lock) would wait for itself forever.
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        stop.set()

    previous: dict[signal.Signals, Any] = {}  # filled as each handler is installed
    for s in stop_signals():
        previous[s] = signal.signal(s, request_stop)
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_IGN if handler in _CONSOLE_HANDLERS else handler)
