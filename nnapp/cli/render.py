"""Rich tables for the commands: each takes a library result and returns what the console prints.

Only drawing happens here: no command reads files, trains or exits in this module. The library types
are imported for the type checker only, so that `nnapp --help` does not import numpy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from nnapp.core.gradcheck import GradcheckReport
    from nnapp.core.mistakes import Mistake
    from nnapp.lab.attack import AttackResult
    from nnapp.lab.saliency import Saliency
    from nnapp.lab.shapes import ShapeLine
    from nnapp.orchestration.job import RunOutcome
    from nnapp.tools.compare import Comparison, Side
    from nnapp.tools.gradcheck_run import StandaloneCheck
    from nnapp.training.records import GradcheckRecord
    from nnapp.training.scoring import Scores

VERDICT_COLOURS = {"pass": "green", "warn": "yellow", "unreliable": "magenta", "fail": "red"}


def coloured_verdict(verdict: str) -> str:
    """A gradient-check verdict in its colour (rich markup)."""
    return f"[{VERDICT_COLOURS[verdict]}]{verdict}[/]"


def evaluation_tables(evaluation: Scores) -> tuple[Table, Table]:
    """Per-class precision/recall/F1 with accuracy and log loss, then the confusion matrix."""
    metrics = Table(title=f"{evaluation.source}: {evaluation.n_rows} rows", show_header=True)
    metrics.add_column("class")
    for column in ("precision", "recall", "F1", "support"):
        metrics.add_column(column, justify="right")
    for k, label in enumerate(evaluation.classes):
        metrics.add_row(
            escape(label),
            f"{evaluation.precision[k]:.4f}",
            f"{evaluation.recall[k]:.4f}",
            f"{evaluation.f1[k]:.4f}",
            str(int(evaluation.support[k])),
        )
    metrics.caption = f"accuracy {evaluation.accuracy:.4f} · log loss {evaluation.log_loss:.4f}"
    confusion = Table(title="confusion matrix (rows: true class, columns: predicted)", show_header=True)
    confusion.add_column("true \\ predicted")
    for label in evaluation.classes:
        confusion.add_column(escape(label), justify="right")
    for label, row in zip(evaluation.classes, evaluation.confusion, strict=True):
        confusion.add_row(escape(label), *(str(int(v)) for v in row))
    return metrics, confusion


def gradcheck_table(result: StandaloneCheck, mistake: str | None) -> Table:
    """One row per tensor (and the directional check), the tolerances in the caption."""
    report = result.report
    d_x, d_h, n_c = result.dims
    title = f"gradient check at the {result.where}"
    table = Table(title=title + (f", mistake {mistake} planted" if mistake else ""), show_header=True)
    columns = ("tensor", "checked", "kinks skipped", "unresolved", "max error", "verdict")
    for column in columns:
        table.add_column(column, justify="left" if column in ("tensor", "verdict") else "right")
    for t in report.tensors:
        table.add_row(
            t.name,
            str(t.checked),
            str(t.kinks),
            str(t.unresolved),
            f"{t.max_error:.2e}" + (" (NaN/inf)" if t.nonfinite else ""),
            coloured_verdict(t.verdict),
        )
    d = report.directional
    if d is not None:
        error = "kink" if d.kink else f"{d.error:.2e}"
        unresolved = d.verdict == "unreliable" and not d.kink  # a kinked step is counted as a kink
        table.add_row(
            "direction",
            "0" if d.kink or unresolved else "1",
            "1" if d.kink else "0",
            "1" if unresolved else "0",
            error,
            coloured_verdict(d.verdict),
        )
    table.caption = (
        f"{report.rows} training rows (every class) · D_x={d_x} D_h={d_h} N_c={n_c} · eps {report.eps:g} · "
        f"pass ≤ {report.tol:g} < warn ≤ {report.fail:g} < fail · unresolved: round-off could exceed tol"
    )
    return table


def gradcheck_verdict_lines(report: GradcheckReport, mistake: str | None) -> list[str]:
    """The overall verdict under the table and, with a planted mistake, whether the check caught it."""
    line = f"verdict: {coloured_verdict(report.verdict)} (max error {report.max_error:.2e})"
    from nnapp.tools.gradcheck_run import unreliable_reason

    lines = [line + unreliable_reason(report)]
    if mistake is not None:
        caught = report.verdict == "fail"
        lines.append(
            f"mistake {mistake}: "
            + ("[red]caught[/]: the check fails, as it should" if caught else "[yellow]not caught[/]")
        )
    return lines


def mistakes_table(catalogue: Sequence[Mistake]) -> Table:
    """`nnapp gradcheck --mistake list`: each classic mistake and whether finite differences can see it."""
    table = Table(title="classic gradient mistakes (nnapp gradcheck CONFIG --mistake NAME)", show_lines=True)
    table.add_column("name")
    table.add_column("what is wrong in the math")
    table.add_column("visible to the check?")
    for m in catalogue:
        visible = f"no: {m.invisible}" if m.invisible else "yes"
        if m.weight_decay and not m.invisible:
            visible += " (with optim.weight_decay > 0)"
        if m.note:
            visible += f"; {m.note}"
        table.add_row(m.name, m.what, visible)
    return table


def mistake_lines(m: Mistake, weight_decay: float) -> list[str]:
    """A planted mistake explained above the check's table (rich markup)."""
    lines = [f"[bold]mistake {m.name}[/]: {m.what}", f"  wrong: {m.wrong}", f"  right: {m.right}"]
    if m.invisible:
        lines.append(f"  [yellow]invisible to finite differences[/]: {m.invisible}")
    if m.weight_decay and weight_decay == 0.0:
        lines.append(
            "  [yellow]this config has optim.weight_decay=0: the mistake changes nothing here[/] "
            "(try optim.weight_decay=0.01)"
        )
    if m.note:
        lines.append(f"  note: {m.note}")
    return lines


def datasets_table(rows: Sequence[tuple[str, int, int, int]]) -> Table:
    """`nnapp datasets`: (name, samples, features, classes) of each built-in dataset."""
    table = Table(title="built-in datasets (data.dataset)", show_header=True)
    for column in ("dataset", "samples", "features", "classes", "source"):
        table.add_column(column, justify="right" if column in ("samples", "features", "classes") else "left")
    for name, samples, features, classes in rows:
        kind = (
            "generated: data.n_samples, data.noise"
            + (", data.n_features, data.centers" if name == "blobs" else "")
            + (", data.centers (arms)" if name == "spiral" else "")
            if name in ("moons", "circles", "blobs", "spiral", "xor", "gauss")
            else "bundled with scikit-learn"
        )
        table.add_row(name, str(samples), str(features), str(classes), kind)
    table.caption = "and your own: data.dataset: csv with data.path and data.target"
    return table


def shapes_table(title: str, lines: Sequence[ShapeLine]) -> Table:
    """`nnapp shapes`: each equation with its result's shape and the shape check."""
    from nnapp.lab.shapes import fmt, shape_check

    grid = Table(title=title, show_header=True)
    for column in ("stage", "equation", "shape", "shape check"):
        grid.add_column(column)
    for line in lines:
        grid.add_row(line.stage, escape(line.equation), fmt(line.result), escape(shape_check(line)))
    return grid


def comparison_table(result: Comparison, title: str) -> Table:
    """`nnapp compare`: nnapp and scikit-learn side by side."""
    table = Table(title=title)
    table.add_column("")
    sides = (result.nnapp, result.sklearn)
    for side in sides:
        table.add_column(side.name, justify="right")

    def cell(side: Side, value: float | None, suffix: str = "") -> str:
        if value is None:  # a diverged side has no usable weights; scikit-learn no best-validation epoch
            return "diverged" if side.diverged else "-"
        return f"{value:.4f}{suffix}"

    table.add_row("outcome", *("diverged" if s.diverged else "completed" for s in sides))
    table.add_row("test accuracy (returned model)", *(cell(s, s.test_acc) for s in sides))
    table.add_row(
        "train loss (CE), best-val epoch",
        *(cell(s, s.best_train_loss, f" (epoch {s.best_epoch})") for s in sides),
    )
    table.add_row("train loss (CE), last epoch", *(cell(s, s.last_train_loss) for s in sides))
    table.add_row("training seconds", *(f"{s.seconds:.3f}" for s in sides))
    table.add_row("ms per epoch", *(f"{s.ms_per_epoch:.2f}" for s in sides))
    table.add_row("epochs", *(str(s.epochs) for s in sides))
    table.caption = f"nnapp trained {result.speedup:.1f}× as fast\n" + "\n".join(result.notes)
    return table


def saliency_table(result: Saliency, split: str, csv_path: Path) -> Table:
    """`nnapp saliency`: the ten features that move the loss most."""
    table = Table(
        title=f"mean |∂J_i/∂x_i| over the {split} split ({result.n_rows} rows), largest first\n"
        "(J_i: each example's own cross-entropy)"
    )
    table.add_column("feature")
    table.add_column("standardized units", justify="right")
    table.add_column("per original unit", justify="right")
    order = sorted(range(len(result.feature_names)), key=lambda j: -result.mean_abs_grad[j])
    for j in order[:10]:
        table.add_row(
            escape(result.feature_names[j]),
            f"{result.mean_abs_grad[j]:.4g}",
            f"{result.mean_abs_grad_original[j]:.4g}",
        )
    if len(order) > 10:
        table.caption = f"{len(order) - 10} more features in {csv_path.name}"
    return table


def attack_table(result: AttackResult, split: str) -> Table:
    """`nnapp attack`: accuracy under FGSM and under random signs at each ε."""
    table = Table(title=f"FGSM vs random signs, {split} split ({result.n_rows} rows)")
    table.add_column("ε (standardized)", justify="right")
    table.add_column("ε in original units (min–max over features)", justify="right")
    table.add_column("accuracy FGSM", justify="right")
    table.add_column("accuracy random", justify="right")
    for point in result.points:
        original = result.eps_original(point.eps)
        table.add_row(
            f"{point.eps:g}",
            f"{original.min():.3g} – {original.max():.3g}",
            f"{point.accuracy_fgsm:.4f}",
            f"{point.accuracy_random:.4f}",
        )
    return table


def summary_table(outcome: RunOutcome) -> Table:
    """`nnapp train`: accuracy and loss of the returned model on each split."""
    s, result = outcome.summary, outcome.result
    table = Table(title=f"nnapp run: {result.stop_reason}", show_header=True)
    table.add_column("split")
    table.add_column("accuracy", justify="right")
    table.add_column("loss (CE)", justify="right")
    for accuracy, loss, split in (
        (s.train_acc, s.train_loss, "train"),
        (s.val_acc, s.val_loss, "val"),
        (s.test_acc, s.test_loss, "test"),
    ):
        table.add_row(split, f"{accuracy:.4f}", f"{loss:.4f}")
    return table


def _other_verdicts(checks: Sequence[GradcheckRecord]) -> str:
    """The checks that did not pass, by verdict: the headline verdict is the last check's, and a run whose
    periodic checks were unreliable or warned must not read as all passes."""
    counts = Counter(str(c.report.verdict) for c in checks)
    return "".join(f", {counts[v]} {v}" for v in ("fail", "unreliable", "warn") if counts[v])


def summary_lines(outcome: RunOutcome) -> list[str]:
    """`nnapp train`: best epoch, the gradient checks and the run directory, under the table."""
    result = outcome.result
    checks = result.checks
    if checks:
        worst = max(c.report.max_error for c in checks)  # summary.json's gradcheck_max_error too
        final = checks[-1].report.verdict
        others = _other_verdicts(checks)
        when = " at the end" if others else ""
        gradcheck = f"gradcheck {final}{when} ({len(checks)} checks{others}, max error {worst:.1e})"
    else:
        gradcheck = "gradcheck off"
    return [
        f"best epoch {result.best_epoch} of {result.state.epoch} · {gradcheck} · {result.seconds:.2f} s",
        f"run directory: {outcome.run_dir}",
    ]
