"""A sweep's validation accuracy per setting, each seed a dot beside the mean."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnapp.pictures.base import (
    new_figure,
    png_bytes,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its settings (key, value as written) and each seed's validation accuracy."""

    settings: tuple[tuple[str, str], ...]
    val_accs: tuple[float, ...]


def _sweep_positions(values: Sequence[str]) -> tuple[dict[str, float], bool]:
    try:
        return {v: float(v) for v in values}, True
    except ValueError:
        return {v: float(i) for i, v in enumerate(values)}, False


def _log_scale(xs: Sequence[float]) -> bool:
    return min(xs) > 0 and max(xs) / min(xs) >= 10 and all(math.isfinite(x) for x in xs)


def sweep_figure(
    points: Sequence[SweepPoint], axes: Sequence[tuple[str, Sequence[str]]], title: str = ""
) -> Figure:
    """Validation accuracy against each swept value, one panel per key (`axes`: key and its values in
    the order given); within a panel one line per combination of the other keys through the means over
    seeds, each seed's accuracy a small dot beside its mean (no error bars: accuracy stops at 1)."""
    import numpy as np

    n = max(len(axes), 1)
    fig = new_figure(min(5.0 * n, 16.0), 4.2)
    panels = fig.subplots(1, n, squeeze=False)[0]
    for ax, (key, values) in zip(panels, axes, strict=False):
        positions, numeric = _sweep_positions(values)
        xs_all = list(positions.values())
        log = numeric and _log_scale(xs_all)
        span = (math.log10(max(xs_all) / min(xs_all)) if log else max(xs_all) - min(xs_all)) or 1.0
        others = [(k, list(v)) for k, v in axes if k != key]
        lines: dict[tuple[int, ...], list[tuple[float, tuple[float, ...]]]] = {}
        for point in points:
            settings = dict(point.settings)
            line = tuple(v.index(settings[k]) for k, v in others)  # legend in the order given
            lines.setdefault(line, []).append((positions[settings[key]], point.val_accs))
        multi_seed = any(len(p.val_accs) > 1 for p in points)

        def shifted(x: float, offset: float, log: bool = log, span: float = span) -> float:
            return x * 10 ** (offset * span) if log else x + offset * span

        for k, (line, pts) in enumerate(sorted(lines.items())):
            name = " ".join(f"{ok}={ov[i]}" for (ok, ov), i in zip(others, line, strict=True)) or "all"
            pts.sort()
            # lines slightly side by side, so that equal values stay visible
            offset = (k - (len(lines) - 1) / 2) * 0.012
            xs = [shifted(x, offset) for x, _ in pts]
            means = [float(np.mean(accs)) for _, accs in pts]
            drawn = ax.plot(xs, means, marker="o", markersize=5, label=name)
            if multi_seed:
                seed_x = [shifted(x, offset + 0.025) for x, accs in pts for _ in accs]
                seed_y = [a for _, accs in pts for a in accs]
                ax.plot(
                    seed_x,
                    seed_y,
                    linestyle="none",
                    marker=".",
                    markersize=7,
                    alpha=0.7,
                    color=drawn[0].get_color(),
                )
        if log:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(list(positions.values()), list(positions))  # the values as written
        ax.set_ylim(top=1.01)
        ax.set_xlabel(key)
        ax.set_ylabel(
            "validation accuracy" + ("\n(line: mean over seeds; dots: each seed)" if multi_seed else "")
        )
        ax.grid(True, alpha=0.3)
        if len(lines) > 1:
            ax.legend(fontsize="small", loc="best")
    if title:
        fig.suptitle(title)
    return fig


def sweep_png(
    points: Sequence[SweepPoint], axes: Sequence[tuple[str, Sequence[str]]], title: str = ""
) -> bytes:
    return png_bytes(sweep_figure(points, axes, title))
