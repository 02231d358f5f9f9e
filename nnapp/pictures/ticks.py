"""Tick labels that cost less to draw. Imported inside the drawing functions only: it imports matplotlib,
which the CLI must not pay for at start-up."""

from __future__ import annotations

import re
from typing import Any

from matplotlib.ticker import LogFormatterSciNotation

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
