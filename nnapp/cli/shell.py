"""The typer app and what every command shares: consoles, the error line, argument types.

The command modules use only the names in __all__. They, and this module, leave out `from __future__ import
annotations`: typer reads every command's annotations each time it builds the command tree, and strings are
compiled again at each build (24 ms a build, against 8 ms for objects).
"""

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

# Private, on purpose: typer 0.29 ships its own copy of click as typer._click and raises that copy's
# exceptions. Its only public re-export is typer.BadParameter; `click.exceptions` is not installed (typer
# no longer depends on click), and if it were, its classes would not be the ones typer raises.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from nnapp.cli.signals import Interrupted
from nnapp.errors import ChoiceError, NnappError
from nnapp.version import __version__

if TYPE_CHECKING:
    from nnapp.rundir.runs import LoadedRun

__all__ = ["ConfigArg", "OverridesArg", "app", "command", "err", "fail", "out", "read_run", "stdout"]


class _OneLineUsageErrors(TyperGroup):
    """Click's usage errors (a missing argument, `--jobs 0`) as one `error:` line with exit code 2.

    typer draws them in a rich panel over several lines; every other bad input is one line, so these are
    too. The group's `main` is what both the console script and typer's CliRunner call: it also says,
    once the command is done, that its standard output was lost (`Stream`).
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
        stdout.reset()
        stderr.reset()
        try:
            # not standalone: click raises its errors here instead of drawing them
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:  # bare `nnapp`: the help, as before
            exc.show()
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
        except OSError as exc:  # click's own echo (--help) to a failed standard output
            stdout.failed(exc, sys.stdout)
            code = 0
        sys.exit(_with_lost_output(code if isinstance(code, int) else 0))


def _with_lost_output(code: int) -> int:
    """A command that succeeded but whose standard output was lost fails (exit 2) with one line; one that
    failed has said why already, and keeps its exit code."""
    stdout.flush()
    if stdout.lost and code == 0:
        fail(f"cannot write to standard output ({stdout.lost}): what the command printed is lost")
        return 2
    return code


app = typer.Typer(
    help="Train a one-hidden-layer ReLU + softmax classifier with hand-derived, checked gradients.",
    no_args_is_help=True,
    add_completion=False,
    # click's plain help: typer's rich help imports rich.markdown (markdown-it, pygments), a third of
    # `nnapp --help`'s time, and draws the same text in panels
    rich_markup_mode=None,
    cls=_OneLineUsageErrors,
)


class Stream:
    """Standard output or error as every command writes it: the one place that writes to them.

    Looked up at each write (a test's runner swaps sys.stdout), flushed at once, and never raising into
    the command: a reader gone away (`nnapp train ... | head -3`) ends the output quietly, as a pipe's
    writer should; a stream that is closed (`>&-`) or fails (`> /dev/full`) is remembered in `lost` and
    said once the command's work is done (`command`), so that a run still trains and writes its whole
    directory and no output is lost silently.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.lost: str | None = None  # why text meant for the stream did not reach it
        self.gone = False  # the reader closed the pipe

    def reset(self) -> None:
        self.lost, self.gone = None, False

    def _target(self) -> Any:
        return getattr(sys, self.name)

    def write(self, text: str) -> int:
        target = self._target()
        if self.gone or self.lost or not text:
            return len(text)
        if target is None:  # Python sets sys.stdout to None when started with file descriptor 1 closed
            self.lost = "it is closed"
            return len(text)
        self._guarded(lambda: (target.write(text), target.flush()), target)
        return len(text)

    def flush(self) -> None:
        target = self._target()
        if target is not None and not (self.gone or self.lost):
            self._guarded(target.flush, target)

    def _guarded(self, action: Callable[[], Any], target: Any) -> None:
        try:
            action()
        except (OSError, ValueError) as exc:  # ENOSPC, EIO, EBADF; ValueError: a closed file object
            self.failed(exc, target)

    def failed(self, exc: OSError | ValueError, target: Any) -> None:
        """A write to `target` raised `exc`: a closed pipe ends the output quietly, anything else is lost."""
        if isinstance(exc, BrokenPipeError):
            self.gone = True
        else:
            self.lost = getattr(exc, "strerror", None) or str(exc)
        if target is not None:
            _to_devnull(target)

    def isatty(self) -> bool:
        target = self._target()
        return bool(target is not None and not self.lost and target.isatty())

    def fileno(self) -> int:
        target = self._target()
        if target is None:
            raise OSError("closed")
        return int(target.fileno())

    @property
    def encoding(self) -> str:
        return str(getattr(self._target(), "encoding", None) or "utf-8")


def _to_devnull(target: Any) -> None:
    """What is still buffered, and the interpreter's final flush, go nowhere instead of failing (which
    would print 'Exception ignored' and change the exit code); an in-memory stream needs nothing."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, target.fileno())
        os.close(devnull)


stdout, stderr = Stream("stdout"), Stream("stderr")
out = Console(file=stdout, highlight=False)  # type: ignore[arg-type]  # a text stream, duck-typed
err = Console(file=stderr, stderr=True, highlight=False, soft_wrap=True)  # type: ignore[arg-type]


ConfigArg = Annotated[Path, typer.Argument(help="YAML experiment config.", show_default=False)]


OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(help="KEY=VALUE overrides, e.g. optim.lr=0.05 model.hidden=32.", show_default=False),
]


def command(**settings: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`app.command` whose function turns the library's NnappError into `error: ...` and its exit code,
    and an interruption (even one that cleanup code buried under its own error) into exit code 130."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)  # typer reads the parameters through __wrapped__
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except typer.Exit as exc:  # the command's own exit code, unless an interruption is behind it
                stopped = reported(exc) if interruption(exc) is not None else None
                if stopped is None:
                    raise
                raise stopped from None
            except BaseException as exc:
                ended = reported(exc)
                if ended is None:
                    raise
                raise ended from None

        return app.command(**settings)(run)

    return register


def interruption(exc: BaseException) -> BaseException | None:
    """The interruption (Ctrl-C, or a stop signal: signals.Interrupted) behind `exc`, if any: cleanup code
    that runs as it unwinds (a library's `finally`) may raise its own error instead, with the
    interruption as its context."""
    seen: BaseException | None = exc
    for _ in range(100):  # a context chain is short; a cycle must not hang the exit
        if seen is None:
            return None
        if isinstance(seen, KeyboardInterrupt | Interrupted):
            return seen
        seen = seen.__context__
    return None


def reported(exc: BaseException) -> typer.Exit | None:
    """The one `error:` line and exit code for an exception a command raised; None: not the user's."""
    stopped = interruption(exc)
    if isinstance(stopped, Interrupted):
        return fail(f"interrupted by {stopped.signal_name}", 130)
    if stopped is not None:  # Ctrl-C outside training's own handlers, e.g. while loading data
        return fail("interrupted", 130)
    if isinstance(exc, ChoiceError):  # the library names the value; the command line names its option
        return fail(f"--{exc.name} must be one of {', '.join(exc.choices)} (got {exc.value!r})")
    if isinstance(exc, NnappError):
        return fail(exc.worded())  # every library error is bad input: exit 2
    if isinstance(exc, OSError):  # the file system said no (permissions, a full disk, a vanished file)
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}")
    return None


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


def read_run(run_dir: Path, usable: bool = True) -> "LoadedRun":
    """A run directory read back and checked (imported here, not at start-up: it brings numpy);
    `usable`: its weights must be finite (runs.load_run)."""
    from nnapp.rundir.runs import load_run

    return load_run(run_dir, usable)
