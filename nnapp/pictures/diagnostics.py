"""diagnostics.png: what training does inside the network, epoch by epoch (docs/run-directory.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nnapp.pictures.base import (
    TENSOR_COLOURS,
    _integer_epochs,
    _plain_log_labels,
    log_safe,
    new_figure,
    png_bytes,
)
from nnapp.training.alarms import DEAD_ALARM, UPDATE_RATIO_HIGH, UPDATE_RATIO_LOW
from nnapp.training.records import EpochRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def diagnostics_figure(history: Sequence[EpochRecord], title: str = "") -> Figure:
    """Update ratios (log axis, the healthy 1e-3 and the warning lines), dead and active hidden units,
    and each tensor's full-data gradient norm. Epoch 0 has no step, so no update ratio."""
    from nnapp.pictures.ticks import in_view_log_ticks

    # fixed margins: constrained layout cost 0.3 s a run here (see base.new_figure)
    fig = new_figure(12.0, 3.8, dict(left=0.06, right=0.99, bottom=0.13, top=0.83, wspace=0.22))
    ratio_ax, unit_ax, grad_ax = fig.subplots(1, 3)
    stepped = [r for r in history if r.epoch > 0]
    epochs = [r.epoch for r in stepped]
    marker = "." if len(stepped) <= 60 else None  # a lone epoch still shows; hundreds would blur
    for name in ("W", "U"):
        values, _ = log_safe([getattr(r, f"update_ratio_{name}") for r in stepped])
        ratio_ax.plot(epochs, values, color=TENSOR_COLOURS[name], marker=marker, markersize=3, label=name)
    ratio_ax.set_yscale("log")
    in_view_log_ticks(ratio_ax.yaxis)
    ratio_ax.axhline(1e-3, color="black", linestyle=":", linewidth=1.2, label="1e-3: healthy")
    for line, label in ((UPDATE_RATIO_HIGH, "warning lines"), (UPDATE_RATIO_LOW, None)):
        ratio_ax.axhline(line, color="tab:red", linestyle="--", linewidth=1, label=label)
    ratio_ax.set_title("update ratio ‖Δp‖/‖p‖ of each epoch's last step", fontsize=10)
    ratio_ax.legend(fontsize=8, loc="lower left")
    all_epochs = [r.epoch for r in history]
    unit_ax.plot(
        all_epochs, [r.dead_frac for r in history], color="black", linewidth=2, label="dead: on no row"
    )
    unit_ax.plot(
        all_epochs, [r.active_frac for r in history], color="tab:purple", label="active, mean per row"
    )
    # in the dead line's colour: a healthy active fraction often sits near the same height (moons: 0.40)
    unit_ax.axhline(
        DEAD_ALARM, color="black", linestyle="--", linewidth=0.8, label=f"warning for dead ({DEAD_ALARM:g})"
    )
    unit_ax.set_ylim(-0.03, 1.03)
    unit_ax.set_title("hidden units (fraction of D_h)", fontsize=10)
    unit_ax.legend(fontsize=8, loc="upper right")
    for name in ("W", "b1", "U", "b2"):
        values, _ = log_safe([getattr(r, f"grad_norm_{name}") for r in history])
        grad_ax.plot(all_epochs, values, color=TENSOR_COLOURS[name], label=name)
    grad_ax.set_yscale("log")
    in_view_log_ticks(grad_ax.yaxis)
    grad_ax.set_title("full-data gradient norm ‖∂J/∂p‖", fontsize=10)
    grad_ax.legend(fontsize=8, loc="upper right")
    _plain_number_labels(ratio_ax, grad_ax)
    _plain_log_labels(grad_ax)
    last = all_epochs[-1] if all_epochs else 1
    for ax in (ratio_ax, unit_ax, grad_ax):
        ax.set_xlabel("epoch")
        ax.set_xlim(0, max(last, 1))
        ax.grid(alpha=0.3)
        _integer_epochs(ax)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _plain_number_labels(*axes: Any) -> None:
    """Log-axis labels as plain numbers (0.001, 1e-05): matplotlib's 10^k mathtext labels took most of
    this picture's 0.4 s to lay out."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for ax in axes:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


def diagnostics_png(history: Sequence[EpochRecord], title: str = "") -> bytes:
    return png_bytes(diagnostics_figure(history, title))
