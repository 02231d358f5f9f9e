"""What every picture shares: figures with fixed or constrained layout, PNG bytes, log-axis safety,
axis helpers, class colours."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nnapp.training.records import EpochRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TENSOR_COLOURS = {
    "W": "tab:blue",
    "b1": "tab:orange",
    "U": "tab:green",
    "b2": "tab:red",
    "x": "tab:purple",
    "direction": "tab:gray",
}


# matplotlib's log locator overflows on axes spanning ~300 decades (a diverging run's loss reaches 1e300):
# values are clipped into this band; beyond 1e100 the curve says "diverged" just as clearly.
LOG_FLOOR, LOG_CEILING = 1e-16, 1e100


def log_safe(values: Sequence[float]) -> tuple[list[float], bool]:
    """Values ready for a log axis: non-finite -> NaN (a gap), clipped into [LOG_FLOOR, LOG_CEILING].

    Also returns whether any value was above the ceiling (the caller says so on the plot).
    """
    out, clipped = [], False
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
        elif v > LOG_CEILING:
            out.append(LOG_CEILING)
            clipped = True
        else:
            out.append(max(v, LOG_FLOOR))
    return out, clipped


def new_figure(width: float, height: float, margins: dict[str, float] | None = None) -> Figure:
    """A Figure with constrained layout, or with fixed `margins` (subplots_adjust's figure fractions).

    Constrained layout measures every tick label before drawing: in a fresh process that took about
    half of `nnapp train configs/iris.yaml`'s plotting time. Figures whose labels do not depend on the
    data (curves, gradient checks) use fixed margins read off their constrained layout instead.
    """
    from matplotlib.figure import Figure

    if margins is not None:
        fig = Figure(figsize=(width, height), dpi=110)
        fig.subplots_adjust(**margins)
        return fig
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


# zlib level 3 on RGB rows: files as small as savefig's level 6 on RGBA rows (2.57 MB against 2.58 MB
# over 25 run pictures) in less than half the encoding time (0.46 s against 1.04 s)
PNG_COMPRESS_LEVEL = 3


def png_bytes(fig: Figure) -> bytes:
    """A Figure as PNG bytes, without a time stamp or software tag (the same picture, the same bytes).

    Drawn by Agg as savefig draws it, then encoded by Pillow (what savefig hands the pixels to) as RGB
    when every pixel is opaque (a figure on its white face always is): the same decoded pixels as
    savefig's RGBA PNG, encoded in half the time, which was about a tenth of a picture's cost."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = canvas.buffer_rgba()
    image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1)
    if image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(fig.dpi, fig.dpi))
    return buffer.getvalue()


def _integer_epochs(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _epoch_range(ax: Any, epochs: Sequence[int]) -> None:
    """The x axis spans exactly the epochs trained: no empty margin after the last one."""
    if len(epochs) > 1:
        ax.set_xlim(epochs[0], epochs[-1])


def _plain_log_labels(ax: Any) -> None:
    """On a log y axis spanning at most four decades, label the minor ticks at 2x and 5x as plain
    numbers (0.02, 0.05, ...): a student reads 0.05 off the axis instead of guessing between 10^-2 and
    10^-1. Wider axes (a diverging run) keep the powers of ten only."""
    from matplotlib.ticker import FuncFormatter

    from nnapp.pictures.ticks import InViewLogLocator

    low, high = ax.get_ylim()
    if not (0 < low < high) or math.log10(high / low) > 4:
        return
    plain = FuncFormatter(lambda value, _pos: f"{value:g}")
    ax.yaxis.set_minor_locator(InViewLogLocator(subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.tick_params(axis="y", which="minor", labelsize="small")


def _zoom_accuracy(ax: Any, history: Sequence[EpochRecord], series: Sequence[str]) -> str:
    """Accuracy axis limits that fit the trained epochs (each history's first epoch left out: an
    untrained network's accuracy near chance would stretch the axis back to 0-1). `history` may pool
    several runs. Returns a note naming what falls below the axis, or ""."""
    start = min((r.epoch for r in history), default=0)
    trained = [r for r in history if r.epoch > start] or list(history)
    values = [getattr(r, s) for r in trained for s in series]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    pad = max(0.01, 0.06 * (high - low))
    ax.set_ylim(max(low - pad, -0.01), min(high + pad, 1.0 + pad / 2))
    if len(trained) == len(history):
        return ""
    names = {"train_acc": "train", "val_acc": "val"}
    below = [
        f"{names.get(s, s)} {getattr(r, s):.2f}"
        for r in history
        if r.epoch == start
        for s in series
        if getattr(r, s) < low - pad
    ]
    if not below:
        return ""
    if len(below) > len(series):  # several runs: their values would make a long line
        return f"epoch {start} below the axis"
    return f"epoch {start} below the axis: {', '.join(below)}"


def _class_colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]
