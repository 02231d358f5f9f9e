"""Training progress on the console: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from nnapp.cli.render import VERDICT_COLOURS
from nnapp.cli.shell import err, out

if TYPE_CHECKING:  # at run time these names are only annotations: `nnapp --help` must not import numpy
    from nnapp.training.records import EpochRecord, GradcheckRecord, TrainResult, TrainState


WIDE = 100  # columns: a narrower terminal gets the progress line without its bar


class Reporter:
    """A training Callback (nnapp.training.records) that draws progress: a rich bar on a terminal,
    plain lines otherwise."""

    def __init__(self, epochs: int, quiet: bool, log_every: int, notes: Sequence[str] = ()) -> None:
        self.epochs, self.quiet, self.log_every = epochs, quiet, log_every
        self.notes = notes  # said once training starts: an error before then must stay the only line
        self.progress: Any = None
        self.task: Any = None
        self.alarmed: set[str] = set()  # each kind of diagnostics warning is said once
        self.said_verdicts: set[str] = set()  # each non-pass periodic verdict is printed once
        self.narrow = False  # a terminal narrower than WIDE: a shorter bar line

    def __enter__(self) -> Reporter:
        if not self.quiet and out.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            from rich.table import Column

            # rich shrinks every column of a line that does not fit, the epoch counter and the time too:
            # below WIDE columns the bar goes and the numbers get shorter, so that a line fits in 80
            self.narrow = out.size.width < WIDE
            keep = Column(no_wrap=True)
            self.progress = Progress(
                TextColumn("epoch"),
                MofNCompleteColumn(table_column=keep),
                *([] if self.narrow else [BarColumn()]),
                TextColumn("{task.fields[info]}", table_column=Column(no_wrap=True)),
                TextColumn("[green]{task.fields[check]}", table_column=Column(no_wrap=True)),
                TimeElapsedColumn(table_column=keep),
                console=out,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.epochs, info="", check="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_start(self, initial: EpochRecord, chance_loss: float, far_off: bool) -> None:
        for note in self.notes:  # what the run adjusts in the config, e.g. the batch size (even with -q)
            err.print(f"note: {note}", markup=False)
        if self.quiet:
            return
        flag = "  [yellow](far from chance: check the data scaling and init)[/]" if far_off else ""
        out.print(f"epoch 0: loss {initial.train_ce:.4f} (chance level ln N_c = {chance_loss:.4f}){flag}")

    def on_epoch_end(self, record: EpochRecord, state: TrainState) -> None:
        if self.quiet:
            return
        self.warn(record)
        info = (
            f"loss {record.train_loss:.4f} val {record.val_loss:.4f} "
            f"acc {record.train_acc:.3f} val {record.val_acc:.3f}"
        )
        if self.progress is not None:
            if self.narrow:
                info = (
                    f"loss {record.train_loss:.3f} val {record.val_loss:.3f} "
                    f"acc {record.train_acc:.2f} val {record.val_acc:.2f}"
                )
            self.progress.update(self.task, completed=record.epoch, info=info)
        elif record.epoch % self.log_every == 0 or record.epoch == 1:
            out.print(f"epoch {record.epoch:>4}/{self.epochs}  {info}  lr {record.lr:.3g}")

    def warn(self, record: EpochRecord) -> None:
        """One line for each kind of diagnostics warning, the first time an epoch crosses its line."""
        from nnapp.training.alarms import record_alarms

        for alarm in record_alarms(record):
            if alarm.kind not in self.alarmed:
                self.alarmed.add(alarm.kind)
                console = self.progress.console if self.progress is not None else err
                console.print(f"[yellow]warning:[/] {escape(alarm.message)}", soft_wrap=True)

    def _check_text(self, verdict: str, max_error: float) -> str:
        return f"check {verdict}" if self.narrow else f"gradcheck {verdict} {max_error:.0e}"

    def on_begin(self, state: TrainState) -> None:
        return None  # the console starts at epoch 0's line (on_start) or, resumed, at the next epoch

    def on_gradient(self, epoch: int, gradient: Any) -> None:
        return None

    def on_epoch_done(self, state: TrainState) -> None:
        return None  # checkpoints are the CheckpointWriter's; the console has nothing to add

    def on_end(self, result: TrainResult) -> None:
        return None  # the command prints the summary from the run's outcome

    def on_gradcheck(self, record: GradcheckRecord) -> None:
        report = record.report
        routine = report.verdict == "pass" and (record.when != "final" or self.quiet)
        if routine:
            # a passing periodic check is routine: it is in gradcheck.csv, and on a terminal the bar says it
            if self.progress is not None:
                self.progress.update(self.task, check=self._check_text("pass", report.max_error))
            return
        verdict = str(report.verdict)
        repeated = record.when != "final" and verdict != "fail" and verdict in self.said_verdicts
        if repeated:  # a long run's hundred unreliable checks: said once, counted in the summary line
            if self.progress is not None:
                self.progress.update(self.task, check=self._check_text(verdict, report.max_error))
            return
        later = ""
        if record.when != "final" and verdict != "fail":
            self.said_verdicts.add(verdict)
            later = f" (later {verdict} checks: in gradcheck.csv, counted in the summary)"
        colour = VERDICT_COLOURS[report.verdict]
        which = (
            f"of the saved model (epoch {record.epoch})"
            if record.when == "final"
            else f"at epoch {record.epoch}"
        )
        line = f"gradcheck {which}: [{colour}]{report.verdict}[/] max error {report.max_error:.1e}{later}"
        if self.progress is not None:
            self.progress.console.print(line)
        else:
            out.print(line)


class ReadingProgress:
    """Shows the reading of a CSV once it has taken more than DELAY seconds (a quick read shows nothing):
    a bar on a terminal, one line otherwise, nothing with -q. `update` is the reader's progress callback."""

    DELAY = 1.0

    def __init__(
        self,
        path: str | None,
        quiet: bool,
        clock: Callable[[], float] = time.monotonic,
        terminal: bool | None = None,
    ) -> None:
        self.path, self.quiet, self.clock = path or "the data", quiet, clock
        self.terminal = out.is_terminal if terminal is None else terminal
        self.started = clock()
        self.bar: Any = None
        self.task: Any = None
        self.said = False

    def __enter__(self) -> ReadingProgress:
        self.started = self.clock()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, done: int, total: int) -> None:
        if self.quiet or self.clock() - self.started < self.DELAY:
            return
        if not self.terminal:
            if not self.said:
                out.print(f"reading {self.path} ({total / 2**20:,.0f} MiB)...", markup=False)
                self.said = True
            return
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn(f"reading {escape(self.path)}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=out,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("read", total=total)
        self.bar.update(self.task, completed=min(done, total))
