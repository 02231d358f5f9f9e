"""The typer app and what every command shares: consoles, the error line, argument types.

The command modules use only the names in __all__.
"""

from __future__ import annotations

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

from nnapp.errors import ChoiceError, NnappError
from nnapp.version import __version__

if TYPE_CHECKING:
    from nnapp.rundir.runs import LoadedRun

__all__ = ["ConfigArg", "OverridesArg", "app", "command", "err", "fail", "out", "read_run"]


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
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    help="Train a one-hidden-layer ReLU + softmax classifier with hand-derived, checked gradients.",
    no_args_is_help=True,
    add_completion=False,
    # click's plain help: typer's rich help imports rich.markdown (markdown-it, pygments), a third of
    # `nnapp --help`'s time, and draws the same text in panels
    rich_markup_mode=None,
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
            except ChoiceError as exc:  # the library names the value; the command line names its option
                raise fail(
                    f"--{exc.name} must be one of {', '.join(exc.choices)} (got {exc.value!r})"
                ) from None
            except NnappError as exc:
                raise fail(exc.worded()) from None  # every library error is bad input: exit 2
            except OSError as exc:  # the file system said no (permissions, a full disk, a vanished file)
                where = f"{exc.filename}: " if exc.filename else ""
                raise fail(f"{where}{exc.strerror or exc}") from None
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


def read_run(run_dir: Path, usable: bool = True) -> LoadedRun:
    """A run directory read back and checked (imported here, not at start-up: it brings numpy);
    `usable`: its weights must be finite (runs.load_run)."""
    from nnapp.rundir.runs import load_run

    return load_run(run_dir, usable)
