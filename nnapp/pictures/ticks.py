"""Tick labels that cost less to draw. Imported inside the drawing functions only: it imports matplotlib,
which the CLI must not pay for at start-up."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MATHTEXT_POWER = re.compile(r"\$\\mathdefault\{(?:(\d+(?:\.\d+)?)\\times)?(\d+)\^\{(-?\d+)\}\}\$")


class PowerLabels(LogFormatterSciNotation):
    """matplotlib's log-axis labels (which ticks get one, and what it says: 10^-4, 2x10^-4) written in
    plain text with Unicode superscripts (10⁻⁴, 2×10⁻⁴) instead of mathtext.

    Mathtext is parsed by a grammar that matplotlib builds on first use (0.16-0.27 s in each fresh
    process here) and parses each label with it again for every picture (5-7 ms a label, about a fifth
    of gradcheck.png's drawing time); plain text is laid out like any other label. A label in any other
    form (the text.usetex setting, a sign) is left to mathtext."""

    def __call__(self, x: float, pos: int | None = None) -> Any:
        label = super().__call__(x, pos)
        power = _MATHTEXT_POWER.fullmatch(label)
        if power is None:
            return label
        coefficient, base, exponent = power.groups()
        return f"{coefficient + '×' if coefficient else ''}{base}{exponent.translate(_SUPERSCRIPTS)}"


def power_labels(axis: Any) -> None:
    """Label a log `axis` (ax.yaxis) as matplotlib does by default, in plain text (`PowerLabels`)."""
    axis.set_major_formatter(PowerLabels())
    axis.set_minor_formatter(PowerLabels(labelOnlyBase=False))


class InViewLogLocator(LogLocator):
    """matplotlib's LogLocator, keeping only the ticks inside the view. LogLocator also places ticks up
    to a decade or more beyond each end of the axis, which are never drawn, yet each is built as a tick
    (lines and labels: 0.8 ms apiece here): 29 of diagnostics.png's 154 ticks, about 5% of its cost.

    Only for log axes whose labels depend on the value alone or on the view (LogFormatter, FuncFormatter):
    a linear axis's ScalarFormatter picks its decimals from every location, drawn or not."""

    def __call__(self) -> Any:
        ticks = np.asarray(super().__call__())
        low, high = sorted(self.axis.get_view_interval()) if self.axis is not None else (0.0, 0.0)
        if not (0 < low < high and np.isfinite(high)):
            return ticks
        slack = (high / low) ** 1e-6  # wider than matplotlib's own test, so no tick it draws is dropped
        return ticks[(ticks >= low / slack) & (ticks <= high * slack)]


def in_view_log_ticks(axis: Any) -> None:
    """The log scale's default tick locations on `axis` (ax.yaxis), without those outside the view."""
    axis.set_major_locator(InViewLogLocator())
    axis.set_minor_locator(InViewLogLocator(subs="auto"))
