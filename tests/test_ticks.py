"""The log-axis ticks the pictures use, held to matplotlib's own: the same ticks inside the view, labels that
say the same numbers in plain text."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

from nnapp.pictures.ticks import InViewLogLocator, PowerLabels

FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
# log axes as the pictures have them: within base.LOG_FLOOR..LOG_CEILING, 1e-16 to 1e100
VIEWS = st.tuples(st.floats(-16, 99), st.floats(0.05, 116)).map(
    lambda t: (10 ** t[0], 10 ** min(t[0] + t[1], 100.0))
)
SUBS = st.sampled_from([(1.0,), (2.0, 5.0), "auto"])


def log_axis(low: float, high: float):
    ax = Figure().add_subplot()
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    return ax.yaxis


@settings(max_examples=60, deadline=None)
@given(VIEWS, SUBS)
def test_in_view_ticks_are_matplotlibs_ticks_minus_those_outside_the_view(view, subs):
    axis = log_axis(*view)
    low, high = axis.get_view_interval()
    reference, kept = LogLocator(subs=subs), InViewLogLocator(subs=subs)
    reference.set_axis(axis)
    kept.set_axis(axis)
    every, ours = list(reference()), list(kept())
    assert set(ours) <= set(every)
    assert [t for t in every if low <= t <= high] == [t for t in ours if low <= t <= high]  # every drawn tick
    assert all(not low <= t <= high for t in set(every) - set(ours))  # only ticks outside the view dropped


def value_of(label: str) -> float:
    """The number a plain label like 10⁻⁴ or 2×10⁻⁴ says, read without matplotlib."""
    coefficient, _, power = label.translate(FROM_SUPERSCRIPT).rpartition("×")
    assert power.startswith("10"), label
    return float(coefficient or 1) * 10.0 ** int(power[2:])


@settings(max_examples=100, deadline=None)
@given(VIEWS, st.integers(-16, 100), st.integers(1, 9), st.booleans())
def test_plain_labels_say_the_number_where_matplotlib_labels_and_nothing_where_it_does_not(
    view, exponent, digit, only_base
):
    x = digit * 10.0**exponent
    axis = log_axis(*view)
    reference, ours = LogFormatterSciNotation(labelOnlyBase=only_base), PowerLabels(labelOnlyBase=only_base)
    for formatter in (reference, ours):
        formatter.set_axis(axis)
        formatter.set_locs(LogLocator(subs="auto").tick_values(*axis.get_view_interval()))
    expected, label = reference(x), ours(x)
    assert "$" not in label
    if expected == "":
        assert label == ""
    else:
        assert math.isclose(value_of(label), x, rel_tol=1e-12)
