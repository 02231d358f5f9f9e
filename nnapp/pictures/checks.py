"""Checks on a run: the gradient check's errors over training, the confusion matrix on the test split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nnapp.pictures.base import (
    TENSOR_COLOURS,
    _integer_epochs,
    log_safe,
    new_figure,
    png_bytes,
)
from nnapp.training.records import GradcheckRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure


TENSOR_MARKERS = {"W": "o", "b1": "s", "U": "^", "b2": "v", "x": "D", "direction": "X"}


Series = dict[str, tuple[list[int], list[float], list[bool]]]


def _check_points(
    checks: Sequence[GradcheckRecord],
) -> tuple[Series, dict[str, tuple[float, bool]], int | None]:
    """Each tensor's periodic (epoch, error, unreliable) points and its final check's (error, unreliable)."""
    series: Series = {}
    finals: dict[str, tuple[float, bool]] = {}
    final_epoch: int | None = None
    for check in checks:
        # (name, error, unreliable): a tensor that judged nothing (checked 0: every coordinate a kink or
        # below round-off) is drawn too, hollow, so that a long run's markers never seem to stop
        points = [
            (t.name, t.max_error, t.verdict == "unreliable" or t.checked == 0) for t in check.report.tensors
        ]
        d = check.report.directional
        if d is not None:
            points.append(("direction", d.error, d.kink or d.verdict == "unreliable"))
        for name, error, unreliable in points:
            value = log_safe([error])[0][0]  # an exact match (0) would vanish from a log axis
            if check.when == "final":
                finals[name] = (value, unreliable)
                final_epoch = check.epoch
            else:
                xs, ys, flags = series.setdefault(name, ([], [], []))
                xs.append(check.epoch)
                ys.append(value)
                flags.append(unreliable)
    return series, finals, final_epoch


def gradcheck_figure(checks: Sequence[GradcheckRecord], tol: float, fail: float, title: str = "") -> Figure:
    """Max relative error per tensor at each periodic check (markers: checks are epochs apart, nothing
    happens between them), and the final check on the returned (best) weights in its own slot on the
    right, so that it never hides the periodic check of the epoch it came from."""
    from nnapp.pictures.ticks import in_view_log_ticks, power_labels

    series, finals, final_epoch = _check_points(checks)
    any_unreliable = any(any(flags) for _, _, flags in series.values()) or any(u for _, u in finals.values())
    fig = new_figure(8.5, 4.5, {"left": 0.09, "right": 0.76, "bottom": 0.15, "top": 0.93, "wspace": 0.04})
    if finals:
        ax, final_ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [8, 1.3]})
    else:
        ax, final_ax = fig.subplots(), None
    n_periodic = max((len(xs) for xs, _, _ in series.values()), default=0)
    size = 4.5 if n_periodic <= 40 else 3.0 if n_periodic <= 120 else 2.0  # 2,000 epochs: 200 checks
    names = [n for n in TENSOR_MARKERS if n in series or n in finals]
    for name in names:
        label = "directional (∇J·u)" if name == "direction" else f"dJ/d{name}"
        colour, marker = TENSOR_COLOURS.get(name), TENSOR_MARKERS[name]
        xs, ys, flags = series.get(name, ([], [], []))
        judged = [(x, y) for x, y, u in zip(xs, ys, flags, strict=True) if not u]
        style = {"linestyle": "none", "marker": marker, "markersize": size, "color": colour}
        ax.plot([x for x, _ in judged], [y for _, y in judged], alpha=0.85, label=label, **style)
        unsure = [(x, y) for x, y, u in zip(xs, ys, flags, strict=True) if u]
        if unsure:
            ax.plot([x for x, _ in unsure], [y for _, y in unsure], markerfacecolor="none", **style)
        if final_ax is not None and name in finals:
            value, unreliable = finals[name]
            final_ax.plot(
                [names.index(name)],
                [value],
                linestyle="none",
                marker=marker,
                markersize=6,
                color=colour,
                markerfacecolor="none" if unreliable else colour,
            )
    if any_unreliable:  # one legend entry explains every hollow marker
        ax.plot(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=4.5,
            color="tab:gray",
            markerfacecolor="none",
            label="hollow: unreliable\n(nothing judged)",
        )
    for axis in (ax, final_ax):
        if axis is None:
            continue
        axis.axhline(tol, color="tab:green", linestyle="--", linewidth=1, label=f"tol {tol:g} (pass below)")
        axis.axhline(fail, color="tab:red", linestyle="--", linewidth=1, label=f"fail {fail:g} (fail above)")
        axis.grid(True, alpha=0.3)
    ax.set_yscale("log")
    in_view_log_ticks(ax.yaxis)
    power_labels(ax.yaxis)  # 10⁻⁴ in plain text: mathtext was a fifth of this picture's drawing time
    _check_epochs_axis(ax, sorted({x for xs, _, _ in series.values() for x in xs}))
    ax.set_xlabel("epoch (periodic checks)")
    ax.set_ylabel("max relative error (log scale)")
    if final_ax is not None:
        final_ax.set_xlim(-0.8, len(names) - 0.2)
        final_ax.set_xticks([])
        final_ax.set_xlabel(f"final check:\nbest weights\n(epoch {final_epoch})", fontsize="small")
        final_ax.tick_params(axis="y", which="both", left=False)
    ax.set_title(title or "Gradient check: analytic vs finite differences")
    handles, labels = ax.get_legend_handles_labels()
    (final_ax or ax).legend(
        handles,
        labels,
        loc="center left",
        bbox_to_anchor=(1.04, 0.5),
        fontsize="small",
        markerscale=4.5 / size,  # legend symbols as large as on a short run, however small the points
    )
    return fig


def _check_epochs_axis(ax: Any, epochs: Sequence[int]) -> None:
    """The x axis of the periodic checks: whole epochs, a little room beside the first and last check."""
    _integer_epochs(ax)
    if len(epochs) > 1:
        pad = 0.02 * (epochs[-1] - epochs[0])
        ax.set_xlim(epochs[0] - pad, epochs[-1] + pad)
    elif epochs:  # one check (a run of a few epochs): an epoch either side, not -0.045 to 0.045
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    if 1 <= len(epochs) <= 12:  # ticks at the checks themselves: every 10 epochs reads 0, 10, 20, not 0, 4, 8
        ax.set_xticks(epochs)


def gradcheck_png(checks: Sequence[GradcheckRecord], tol: float, fail: float, title: str = "") -> bytes:
    return png_bytes(gradcheck_figure(checks, tol, fail, title))


def confusion_figure(confusion: Any, classes: Sequence[str], title: str = "") -> Figure:
    """The confusion matrix (true classes down, predicted across): each cell's count and its share of
    the true class's row, coloured by that share (0 to 1, so no colour bar is needed: the numbers are
    written in). Zero cells are left pale and unlabelled past a few classes, so that errors stand out."""
    import numpy as np

    matrix = np.asarray(confusion)
    n = len(classes)
    row_totals = matrix.sum(axis=1)
    rates = np.divide(matrix, row_totals[:, None], out=np.zeros(matrix.shape), where=row_totals[:, None] > 0)
    size = min(4.0 + 0.5 * n, 12.0)
    fig = new_figure(size + 1.6, size + 0.4)  # the row labels carry their counts
    ax = fig.subplots()
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = list(range(n))
    tilt = n > 4 and max(len(str(c)) for c in classes) > 3  # long labels would overlap side by side
    ax.set_xticks(
        ticks, [str(c) for c in classes], rotation=45 if tilt else 0, ha="right" if tilt else "center"
    )
    ax.set_yticks(ticks, [f"{c} (n={int(t)})" for c, t in zip(classes, row_totals, strict=True)])
    ax.set_xlabel("predicted class\n(each cell: count, and its share of the true class's row)")
    ax.set_ylabel("true class")
    both = n <= 12  # count and rate in each cell; beyond that only the count fits
    font = "large" if n <= 4 else "small"
    if n <= 30:  # beyond that the numbers would not fit in their cells
        for i in range(n):
            for j in range(n):
                count, rate = int(matrix[i, j]), float(rates[i, j])
                if count == 0 and n > 4:
                    continue  # blank: the few mistakes stand out among ten-by-ten cells
                text = f"{count}\n{rate:.0%}" if both and count else str(count)
                colour = "white" if rate > 0.5 else "black" if count else "gray"
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=font, linespacing=1.1)
    total = int(matrix.sum())
    accuracy = float(np.trace(matrix)) / total if total else 0.0
    heading = title or "Confusion matrix"
    ax.set_title(
        f"{heading}\n{total} rows, accuracy {accuracy:.3f}",
        fontsize="medium",
    )
    return fig


def confusion_png(confusion: Any, classes: Sequence[str], title: str = "") -> bytes:
    return png_bytes(confusion_figure(confusion, classes, title))
