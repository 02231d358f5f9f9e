"""Training curves of one run (loss, accuracy) and of several runs overlaid."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnapp.pictures.base import (
    LOG_CEILING,
    _class_colours,
    _epoch_range,
    _integer_epochs,
    _plain_log_labels,
    _zoom_accuracy,
    log_safe,
    new_figure,
    png_bytes,
)
from nnapp.training.records import EpochRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class StopMark:
    """Where and why a run stopped early on an error (diverged, a failed gradient check): drawn on the
    curves, because a run that diverged in epoch 1 has only epoch 0 to draw."""

    epoch: int
    why: str


def stop_mark(stop_reason: str | None, message: str | None, epochs_trained: int) -> StopMark | None:
    """The mark for a run that stopped on an error, from its stop reason and message; None otherwise.
    The epoch is the one the message names (a diverged epoch is not kept, so it is past the last row)."""
    if stop_reason not in ("diverged", "gradcheck_failed") or not message:
        return None
    named = re.search(r"epoch (\d+)", message)
    epoch = int(named.group(1)) if named else epochs_trained + (stop_reason == "diverged")
    return StopMark(epoch, re.split(r"[,;]", message, maxsplit=1)[0])


def _draw_stop(ax: Any, stop: StopMark) -> None:
    label = "stopped: " + "\n".join(textwrap.wrap(stop.why, 34))
    ax.axvline(stop.epoch, color="tab:red", linestyle="-.", linewidth=1.5, label=label)


def curves_figure(
    history: Sequence[EpochRecord],
    best_epoch: int | None = None,
    title: str = "",
    chance_loss: float | None = None,
    stop: StopMark | None = None,
) -> Figure:
    """Loss (train vs val, log scale, the chance level ln N_c) and accuracy (train vs val, zoomed to
    the trained epochs) against epoch, best epoch marked; a run that stopped on an error marks where
    and why. Few epochs are drawn as points, so that one epoch is still seen."""
    from nnapp.pictures.ticks import in_view_log_ticks, power_labels

    epochs = [r.epoch for r in history]
    marker = "o" if len(epochs) < 10 else None
    train_loss, clipped_train = log_safe([r.train_loss for r in history])
    val_loss, clipped_val = log_safe([r.val_loss for r in history])
    clipped = clipped_train or clipped_val
    top = 0.87 if title else 0.93
    margins = {
        "left": 0.07,
        "right": 0.99,
        "bottom": 0.12,
        "top": top - (0.05 if clipped else 0),
        "wspace": 0.2,
    }
    fig = new_figure(10, 4, margins)
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, train_loss, label="train (CE + L2)", color="tab:blue", marker=marker)
    loss_ax.plot(epochs, val_loss, label="validation (CE)", color="tab:orange", marker=marker)
    if chance_loss is not None and math.isfinite(chance_loss):
        loss_ax.axhline(
            chance_loss,
            color="tab:gray",
            linestyle=":",
            linewidth=1.2,
            label=f"chance ln N_c = {chance_loss:.3f}",
        )
    loss_ax.set_yscale("log")
    in_view_log_ticks(loss_ax.yaxis)
    power_labels(loss_ax.yaxis)  # kept where the axis is too wide for plain numbers (a diverging run)
    _plain_log_labels(loss_ax)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (log scale)")
    if clipped:  # in the title's place, above the axes, so that the note never covers a curve
        loss_ax.set_title(
            f"Loss\ndiverging: values above {LOG_CEILING:g} drawn at {LOG_CEILING:g}", color="tab:red"
        )
    else:
        loss_ax.set_title("Loss")
    acc_ax.plot(epochs, [r.train_acc for r in history], label="train", color="tab:blue", marker=marker)
    acc_ax.plot(epochs, [r.val_acc for r in history], label="validation", color="tab:orange", marker=marker)
    below = _zoom_accuracy(acc_ax, history, ("train_acc", "val_acc"))
    # epoch 0 off the zoomed axis is said under it, where the note can cover neither a curve nor a title
    acc_ax.set_xlabel("epoch" + (f"\n({below})" if below else ""))
    if below:
        fig.subplots_adjust(bottom=0.16)
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_title("Accuracy")
    for ax in (loss_ax, acc_ax):
        if best_epoch is not None:
            ax.axvline(
                best_epoch, color="tab:green", linestyle="--", linewidth=1, label=f"best epoch {best_epoch}"
            )
        if stop is not None:
            _draw_stop(ax, stop)
        ax.grid(True, alpha=0.3)
        ax.grid(True, which="minor", axis="y", alpha=0.12)
        ax.legend(loc="best", fontsize="small")
        _integer_epochs(ax)
        shown = [*epochs, stop.epoch] if stop is not None else epochs
        if marker is None:
            _epoch_range(ax, shown)
        else:  # few epochs: half an epoch of margin, so that no point or mark sits on the frame
            ax.set_xlim(min(shown) - 0.5, max(shown) + 0.5)
    if title:
        fig.suptitle(title)
    return fig


def curves_png(
    history: Sequence[EpochRecord],
    best_epoch: int | None = None,
    title: str = "",
    chance_loss: float | None = None,
    stop: StopMark | None = None,
) -> bytes:
    return png_bytes(curves_figure(history, best_epoch, title, chance_loss, stop))


def _best_marks(
    ax: Any, history: Sequence[EpochRecord], best_epoch: int | None, field: str, colour: Any
) -> None:
    if best_epoch is None:
        return
    for record in history:
        if record.epoch == best_epoch:
            value = getattr(record, field)
            if math.isfinite(value):
                ax.plot(
                    [best_epoch],
                    [value],
                    marker="*",
                    markersize=11,
                    color=colour,
                    markeredgecolor="black",
                    linestyle="none",
                )
            return


def overlay_curves_figure(
    runs: Sequence[tuple[str, Sequence[EpochRecord]]],
    title: str = "",
    best_epochs: Sequence[int | None] | None = None,
) -> Figure:
    """Loss and validation accuracy of several runs in one figure, one colour per run, each run's best
    epoch starred, legend below. A run whose curves are identical to an earlier one's is drawn dashed
    over it and its legend entry says so: otherwise the later curve hides the earlier one."""
    from nnapp.pictures.ticks import in_view_log_ticks, power_labels

    fig = new_figure(12, 4.6 + 0.22 * len(runs))
    loss_ax, acc_ax = fig.subplots(1, 2)
    colours = _class_colours(len(runs))
    bests = list(best_epochs) if best_epochs is not None else [None] * len(runs)
    seen: dict[tuple[tuple[int, float, float, float], ...], int] = {}
    for i, ((label, history), colour, best) in enumerate(zip(runs, colours, bests, strict=True)):
        epochs = [r.epoch for r in history]
        key = tuple((r.epoch, r.train_loss, r.val_loss, r.val_acc) for r in history)
        first = seen.setdefault(key, i)
        style = "-" if first == i else (0, (4, 4))
        if first != i:
            label = f"{label} (identical to run {first + 1}: drawn dashed over it)"
        loss_ax.plot(epochs, log_safe([r.val_loss for r in history])[0], color=colour, linestyle=style)
        loss_ax.plot(
            epochs, log_safe([r.train_loss for r in history])[0], color=colour, linestyle=":", linewidth=1
        )
        acc_ax.plot(epochs, [r.val_acc for r in history], color=colour, label=label, linestyle=style)
        _best_marks(loss_ax, history, best, "val_loss", colour)
        _best_marks(acc_ax, history, best, "val_acc", colour)
    loss_ax.set_yscale("log")
    in_view_log_ticks(loss_ax.yaxis)
    power_labels(loss_ax.yaxis)  # kept where the axis is too wide for plain numbers (a diverging run)
    _plain_log_labels(loss_ax)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (log scale)")
    loss_ax.set_title("Loss: validation CE (solid), train CE + L2 (dotted)", fontsize="medium")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy")
    acc_ax.set_title("Validation accuracy", fontsize="medium")
    pooled = [r for _, history in runs for r in history]
    below = _zoom_accuracy(acc_ax, pooled, ("val_acc",))
    if below:
        acc_ax.set_xlabel(f"epoch\n({below})")
    epochs = sorted({r.epoch for r in pooled})
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
        _epoch_range(ax, [epochs[0], epochs[-1]] if epochs else [])
    if any(b is not None for b in bests):
        acc_ax.plot(
            [],
            [],
            marker="*",
            markersize=11,
            color="white",
            markeredgecolor="black",
            linestyle="none",
            label="best epoch (each run)",
        )
    # one legend for both panels, under them, so that long labels never cover a curve
    fig.legend(loc="outside lower center", fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def overlay_curves_png(
    runs: Sequence[tuple[str, Sequence[EpochRecord]]],
    title: str = "",
    best_epochs: Sequence[int | None] | None = None,
) -> bytes:
    return png_bytes(overlay_curves_figure(runs, title, best_epochs))
