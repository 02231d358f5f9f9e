"""training.gif: the model at each parameter snapshot, beside the loss curve with a marker moving along it.

Two kinds: over a plane of two features, the decision regions shaded by probability (as in
decision_boundary.png) with the training points; for 8x8 image data, every hidden unit's first-layer
weights as an image (as in weights.png), less their random start (the same in every frame, it hides
what is learnt), on one colour scale shared by all frames, so that the audience sees the learnt
patterns grow. Written with Pillow, as matplotlib's PillowWriter does (no ffmpeg): the figure is drawn
once and only what changes is redrawn for each frame.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnapp.pictures.base import _class_colours, _plain_log_labels, log_safe, new_figure
from nnapp.pictures.model import draw_regions

FPS = 6  # frames per second: the early epochs, a frame each, stay readable
HOLD_LAST_SECONDS = 1.5  # the trained model stays on screen before the loop starts again
DPI = 80  # a 60-frame GIF of about 2 MB


@dataclass(frozen=True)
class LossTrace:
    """The run's loss at every epoch (metrics.csv), for the curve the marker moves along."""

    epochs: Sequence[int]
    train_loss: Sequence[float]
    val_loss: Sequence[float]
    train_acc: Sequence[float]
    chance_loss: float | None = None

    def at(self, epoch: int) -> float:
        return self._value(self.train_loss, epoch)

    def accuracy_at(self, epoch: int) -> float:
        return self._value(self.train_acc, epoch)

    def _value(self, series: Sequence[float], epoch: int) -> float:
        for e, value in zip(self.epochs, series, strict=True):
            if e == epoch:
                return value
        return math.nan


def _loss_panel(ax: Any, trace: LossTrace) -> tuple[Any, Any]:
    """The whole loss curve, drawn once; returns the marker and the epoch line that each frame moves."""
    from matplotlib.ticker import MaxNLocator

    from nnapp.pictures.ticks import power_labels

    train, _ = log_safe(trace.train_loss)
    val, _ = log_safe(trace.val_loss)
    ax.plot(trace.epochs, train, color="tab:blue", label="train (CE + L2)")
    ax.plot(trace.epochs, val, color="tab:orange", label="validation (CE)")
    if trace.chance_loss is not None and math.isfinite(trace.chance_loss):
        ax.axhline(trace.chance_loss, color="tab:gray", linestyle=":", linewidth=1.2, label="chance ln N_c")
    ax.set_yscale("log")
    power_labels(ax.yaxis)  # kept where the axis is too wide for plain numbers, as on curves.png
    _plain_log_labels(ax)
    if len(trace.epochs) > 1:  # a little room either side: the marker at the first and last epoch is whole
        pad = 0.02 * (trace.epochs[-1] - trace.epochs[0])
        ax.set_xlim(trace.epochs[0] - pad, trace.epochs[-1] + pad)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    line = ax.axvline(trace.epochs[0], color="tab:red", linewidth=1, alpha=0.6)
    (marker,) = ax.plot([], [], marker="o", markersize=9, color="tab:red", markeredgecolor="black")
    return marker, line


def _write_gif(fig: Any, path: Path, epochs: Sequence[int], draw: Callable[[int], None]) -> None:
    """Draw each epoch's frame into `path` (a name Pillow opens itself: the caller passes a private
    temporary one, files.writing, and renames it into place). What matplotlib's PillowWriter does, frame
    for frame, except the last frame: held on screen by its duration, not by grabbing it again (each grab
    is a whole drawing; Pillow merged the copies into one frame of their summed duration anyway)."""
    import matplotlib
    from PIL import Image  # matplotlib's own GIF writer is built on it: a dependency of matplotlib

    width, height = (int(inches * DPI + 1e-8) for inches in fig.get_size_inches())  # 1e-8: as PillowWriter
    frames = []
    with matplotlib.rc_context({"savefig.bbox": None}):  # every frame the figure's whole size
        for epoch in epochs:
            draw(epoch)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="rgba", dpi=DPI)
            frame = Image.frombuffer("RGBA", (width, height), buffer.getvalue(), "raw", "RGBA", 0, 1)
            opaque = frame.getchannel("A").getextrema()[0] == 255
            frames.append(frame.convert("RGB") if opaque else frame)  # RGB: a better GIF palette
    frame_ms = int(1000 / FPS)
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * max(1, round(HOLD_LAST_SECONDS * FPS))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def plane_gif(
    path: Path,
    epochs: Sequence[int],
    proba_at: Callable[[int], Any],
    grid: tuple[Any, Any],
    train: tuple[Any, Any],
    classes: Sequence[str],
    feature_names: Sequence[str],
    trace: LossTrace,
    title: str = "",
) -> None:
    """Decision regions at each epoch of `epochs` (`proba_at(epoch)` is (G, G, N_c) on `grid`), the
    training points on top, beside the loss curve."""
    import numpy as np
    from matplotlib.patches import Patch

    xx, yy = grid
    colours = _class_colours(len(classes))
    X, y = np.asarray(train[0]), np.asarray(train[1])
    fig = new_figure(10.5, 4.6, {"left": 0.06, "right": 0.98, "bottom": 0.12, "top": 0.84, "wspace": 0.22})
    fig.suptitle(title or "Training", fontsize="large")
    plane_ax, loss_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.05, 1]})
    marker, line = _loss_panel(loss_ax, trace)
    handles = [Patch(color=colours[k], label=str(c)) for k, c in enumerate(classes)]

    for k in range(len(classes)):  # drawn once, above the regions redrawn for each frame
        points = X[y == k]
        plane_ax.scatter(
            points[:, 0], points[:, 1], s=7, color=colours[k], edgecolors="none", alpha=0.8, zorder=3
        )
    plane_ax.set_xlabel(feature_names[0])
    plane_ax.set_ylabel(feature_names[1])
    plane_ax.legend(handles=handles, loc="lower right", fontsize="x-small", framealpha=0.8)
    regions: list[Any] = []

    def draw(epoch: int) -> None:
        for artist in regions:
            artist.remove()
        before = set(plane_ax.get_children())
        draw_regions(plane_ax, xx, yy, np.asarray(proba_at(epoch)), colours)
        regions[:] = [a for a in plane_ax.get_children() if a not in before]
        plane_ax.set_xlim(float(xx.min()), float(xx.max()))
        plane_ax.set_ylim(float(yy.min()), float(yy.max()))
        plane_ax.set_title(
            f"epoch {epoch}: training accuracy {trace.accuracy_at(epoch):.3f}", fontsize="medium"
        )
        _move(marker, line, epoch, trace)
        loss_ax.set_title(f"loss: train {trace.at(epoch):.3g} at epoch {epoch}", fontsize="medium")

    _write_gif(fig, path, epochs, draw)


def _move(marker: Any, line: Any, epoch: int, trace: LossTrace) -> None:
    value = trace.at(epoch)
    marker.set_data([epoch], [value] if math.isfinite(value) else [math.nan])
    line.set_xdata([epoch, epoch])


def weight_mosaic(W: Any, shape: tuple[int, int], columns: int) -> Any:
    """Each row of W (D_h, rows*cols) as an image, tiled `columns` to a row with a one-pixel NaN gap
    (drawn grey) between them: one array, so each frame is one imshow update."""
    import numpy as np

    h, w = shape
    units = W.shape[0]
    rows = math.ceil(units / columns)
    mosaic = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for j in range(units):
        r, c = divmod(j, columns)
        mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = W[j].reshape(shape)
    return mosaic


def weights_gif(
    path: Path,
    epochs: Sequence[int],
    W_at: Callable[[int], Any],
    shape: tuple[int, int],
    scale: float,
    trace: LossTrace,
    title: str = "",
) -> None:
    """First-layer weights as images, each frame's W minus the first frame's (`W_at(epoch)`, (D_h,
    pixels)): the random start is the same in every frame and hides what is learnt; the change shows
    it grow. Colour scale +-`scale`, beside the loss curve."""
    from matplotlib import colormaps

    first = W_at(epochs[0])
    columns = min(8, first.shape[0])
    start = first.copy()
    # 64 units of 8x8 pixels: the mosaic gets most of a tall frame (about 8 screen pixels per weight at
    # DPI 80), so that a class can read the strokes each unit learns
    fig = new_figure(12, 7.2, {"left": 0.02, "right": 0.97, "bottom": 0.1, "top": 0.9, "wspace": 0.15})
    fig.suptitle(title or "Training", fontsize="large")
    image_ax, loss_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1]})
    cmap = colormaps["RdBu_r"].with_extremes(bad="0.75")
    image = image_ax.imshow(
        weight_mosaic(first - start, shape, columns),
        cmap=cmap,
        vmin=-scale,
        vmax=scale,
        interpolation="nearest",
    )
    image_ax.set_xticks([])
    image_ax.set_yticks([])
    bar = fig.colorbar(image, ax=image_ax, orientation="horizontal", fraction=0.05, pad=0.03, shrink=0.8)
    bar.set_label(
        "change in weight since epoch 0: red raises the unit's input, blue lowers it", fontsize="small"
    )
    marker, line = _loss_panel(loss_ax, trace)

    def draw(epoch: int) -> None:
        image.set_data(weight_mosaic(W_at(epoch) - start, shape, columns))
        image_ax.set_title(f"epoch {epoch}: what training has added to each hidden unit", fontsize="medium")
        _move(marker, line, epoch, trace)
        loss_ax.set_title(f"loss: train {trace.at(epoch):.3g} at epoch {epoch}", fontsize="medium")

    _write_gif(fig, path, epochs, draw)
