"""Shape verdicts: a gradient must have its parameter's shape (W ← W − η ∂J/∂W needs it).

Each wrong shape gets the most specific reading that the numbers confirm: exactly the transpose
(numerator vs denominator layout), a bias with a row or column left by keepdims, a scalar where a vector
belongs, one row per example (not summed over the batch); otherwise the shapes with their dimensions named.
"""

from __future__ import annotations

import itertools

import numpy as np

from nnapp.lab.grade.answers import Returned
from nnapp.lab.grade.conventions import TENSORS, Convention, Layout, Weights
from nnapp.lab.grade.problems import Problem

MATCH = 1e-5  # largest error at which two arrays are the same numbers (finite differences vs exact)
FLOOR = 1e-3  # as gradcheck's error measure: absolute below |g| = FLOOR


def error(got: np.ndarray, want: np.ndarray, skip: np.ndarray | None = None) -> float:
    """max |a - n| / max(|a|, |n|, FLOOR) over the coordinates not skipped; inf if anything is not finite."""
    if not (np.isfinite(got).all() and np.isfinite(want).all()):
        return float("inf")
    diff = np.abs(got - want) / np.maximum(np.maximum(np.abs(got), np.abs(want)), FLOOR)
    if skip is not None:
        diff = diff[~skip]
    return float(diff.max()) if diff.size else 0.0


def same(got: np.ndarray, want: np.ndarray, skip: np.ndarray | None = None) -> bool:
    return got.shape == want.shape and error(got, want, skip) <= MATCH


def shape_words(shape: tuple[int, ...], problem: Problem) -> str:
    """(4, 3) → "(4, 3) = (D_x, D_h)" with the problem's dimension names (all distinct, except 1s)."""
    names = {size: name for name, size in problem.dims.items() if size != 1}
    if not shape:
        return "a scalar ()"
    named = ", ".join(names.get(n, str(n)) for n in shape)
    return f"{tuple(shape)} = ({named})"


def _wanted(name: str, convention: Convention, problem: Problem) -> str:
    sizes = {**problem.dims, "1": 1}
    axes = convention.axis_names(name)
    return f"{tuple(sizes[a] for a in axes)} = ({', '.join(axes)})"


def transposed(name: str, convention: Convention) -> str:
    stored = (
        " (with --weights in-out, W is stored D_x×D_h and so is its gradient)"
        if name in ("W", "U") and convention.weights is Weights.IN_OUT
        else ""
    )
    return (
        f"transposed: ∂J/∂{name} has the shape of {name}ᵀ. The chain rule in numerator layout (as the "
        f"derivation writes it) gives ∂J/∂{name} laid out like {name}ᵀ; a gradient is stored in its "
        f"parameter's shape (denominator layout), which {name} ← {name} − η ∂J/∂{name} needs{stored}: "
        f"return its transpose, d{name}.T"
    )


def _bias_slip(name: str, got: np.ndarray, want: np.ndarray, convention: Convention, batch_axis: int) -> str:
    flat_ok = same(got.reshape(-1), want.reshape(-1))
    if convention.layout is Layout.ROWS and got.ndim == 2 and 1 in got.shape and got.size == want.size:
        kind = "row" if got.shape[0] == 1 else "column"
        cause = "`keepdims=True` left a row" if kind == "row" else f"a {kind} vector came back"
        fix = "drop keepdims=True, or return it .reshape(-1)"
        return f"{cause}: {name} is ({want.size},), a flat vector; {fix}" + (
            "" if flat_ok else "; its values are wrong too"
        )
    if convention.layout is not Layout.ROWS and got.ndim == 1 and got.size == want.size:
        return (
            f"a flat ({got.size},) where this layout's {name} is a column ({want.size}, 1): keep the column, "
            f"e.g. np.sum(dZ, axis=1, keepdims=True)" + ("" if flat_ok else "; its values are wrong too")
        )
    if got.size == 1:
        return (
            f"a scalar where the vector {name} {want.shape} belongs: the sum ran over every axis; sum over "
            f"the batch axis only (axis={batch_axis})"
        )
    return ""


def _unsummed(name: str, got: np.ndarray, want: np.ndarray, convention: Convention, problem: Problem) -> str:
    """One entry per example where the parameter's gradient adds them all up."""
    B = problem.dims["B"]
    if B == 1 or name == "x":
        return ""
    axis = 1 if convention.layout is Layout.COLUMNS else 0
    squeezed = want.reshape(-1) if name in ("b1", "b2") else want
    shaped = (B, *squeezed.shape) if axis == 0 else (*squeezed.shape, B)
    if got.shape != shaped:
        return ""
    summed = got.sum(axis=axis if axis == 0 else -1)
    values = "" if same(summed.reshape(want.shape), want) else " (and the sum would still be wrong)"
    return (
        f"not summed over the batch: one entry per example, {got.shape}; ∂J/∂{name} adds up "
        f"the {B} examples' "
        f"contributions: sum over axis {axis if axis == 0 else got.ndim - 1}{values}"
    )


def too_large(name: str, shape: tuple[int, ...], convention: Convention, problem: Problem) -> str:
    """A result far too large to be a gradient of these problems (only its shape was compared)."""
    size = int(np.prod(shape))
    wanted = _wanted(name, convention, problem)
    return f"shape {tuple(shape)}, {size:,} numbers; ∂J/∂{name} has {name}'s shape {wanted}"


def _stopped_early(got: np.ndarray, convention: Convention, problem: Problem) -> str:
    """∂J/∂x with the shape of δ2 (or δ1): the backward pass stopped a step or two before x."""
    dims = problem.dims
    x_shape = tuple(dims[a] if a != "1" else 1 for a in convention.axis_names("x"))
    for size, what in ((dims["D_h"], "δ2 = ∂J/∂z (or δ1 U)"), (dims["N_c"], "δ1 = ∂J/∂θ")):
        shape = tuple(size if n == dims["D_x"] else n for n in x_shape)
        if got.shape == shape:
            steps = "one step more" if size == dims["D_h"] else "through U and the ReLU mask first"
            return (
                f"shape {shape_words(got.shape, problem)}, that of {what}: ∂J/∂x goes {steps}, "
                f"∂J/∂x = δ2 W (step 5), which has x's shape {_wanted('x', convention, problem)}"
            )
    return ""


def diagnose_shape(
    name: str, got: np.ndarray, want: np.ndarray, convention: Convention, problem: Problem, skip: np.ndarray
) -> str:
    """Why `got` does not have `want`'s shape, with the fix."""
    if got.ndim == 2 and got.shape == want.T.shape:
        return transposed(name, convention) + (
            "" if same(got.T, want, skip) else " Its values are wrong as well."
        )
    batch_axis = 1 if convention.layout is Layout.COLUMNS else 0
    if name in ("b1", "b2"):
        slip = _bias_slip(name, got, want, convention, batch_axis)
        if slip:
            return slip
    elif got.size == 1 and want.size > 1:
        return f"a scalar where ∂J/∂{name} {want.shape} belongs"
    elif name == "x" and (early := _stopped_early(got, convention, problem)):
        return early
    slip = _unsummed(name, got, want, convention, problem)
    if slip:
        return slip
    wanted = _wanted(name, convention, problem)
    return f"shape {shape_words(got.shape, problem)}; ∂J/∂{name} has {name}'s shape {wanted}"


def tuple_order(returned: Returned, want: dict[str, np.ndarray]) -> str:
    """A returned tuple whose shapes fit the contract in another order (the forward pass's, CS231n's)."""
    shapes = {n: a.shape for n, a in returned.arrays.items()}
    if not returned.positional or all(s == want[n].shape for n, s in shapes.items()):
        return ""
    names = list(shapes)
    for order in itertools.permutations(names):
        if all(shapes[given] == want[meant].shape for given, meant in zip(names, order, strict=True)):
            return (
                f"the tuple's shapes fit the contract in the order {', '.join(order)}; a tuple is read in "
                f"the derivation's order {', '.join(names)}: return them in that order, or as a dict "
                f"with keys {', '.join(TENSORS)}"
            )
    return ""
