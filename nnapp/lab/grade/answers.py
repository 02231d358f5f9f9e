"""Calling a learner's code on the problems and reading what it returns, in plain values.

The same functions run in the child process (`nnapp grade FILE`) and in the notebook's own process
(`nnapp.grade(function)`); between child and parent an answer travels as JSON (`encode`/`decode`):
numbers and shapes only, nothing the parent would execute.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nnapp.lab.grade.conventions import INPUTS, TENSORS, Convention
from nnapp.lab.grade.problems import Problem

# the names learners give the gradients, mapped to the derivation's
ALIASES = {
    **{name: name for name in TENSORS},
    **{f"d{name}": name for name in TENSORS},
    "X": "x",
    "dX": "x",
    "W1": "W",
    "dW1": "W",
    "W2": "U",
    "dW2": "U",
    "b1": "b1",
    "b2": "b2",
    "dA0": "x",  # the Deep Learning Specialization's gradient of the input layer's activations
}
MAX_ELEMENTS = 100_000  # the largest gradient of the graded problems has 42
REG_NAMES = ("reg", "lam", "lambd", "lambda_", "l2", "weight_decay", "lmbda")


class GradeFailure(Exception):
    """The learner's code cannot be graded (wrong count, wrong container): one message for the learner."""


@dataclass(frozen=True)
class Returned:
    """What one call gave back: each tensor as a float64 array, or the name of the wrong type it was."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    wrong_types: dict[str, str] = field(default_factory=dict)
    loss: float | None = None
    mutated: tuple[str, ...] = ()  # inputs the call changed in place
    ignored: tuple[str, ...] = ()  # keys of a returned dict that name no gradient
    oversized: dict[str, tuple[int, ...]] = field(default_factory=dict)  # shape only: too large to compare
    precision: dict[str, str] = field(default_factory=dict)  # float type coarser than float64, by tensor
    positional: bool = False  # returned as a tuple or list (read in the derivation's order)


@dataclass(frozen=True)
class Entry:
    """What to call: a function, or `Class.method` (an instance is made for each problem)."""

    target: Callable[..., Any]
    method: str = ""  # "" for a plain function
    names: dict[str, str] = field(default_factory=dict)  # --names: their key -> ours


def _as_array(value: Any) -> np.ndarray | str | tuple[int, ...]:
    """The value as float64 numbers; the name of its type when it holds none; its shape alone when it is
    far larger than any gradient of the problems (sending it to the parent would take longer than grading)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | dict | set):
        return type(value).__name__
    if isinstance(value, np.ndarray) and value.size > MAX_ELEMENTS:
        return tuple(int(n) for n in value.shape)
    try:
        array = np.array(value, dtype=np.float64, copy=True)  # the learner may reuse its own later
    except (TypeError, ValueError):
        return type(value).__name__
    return tuple(int(n) for n in array.shape) if array.size > MAX_ELEMENTS else array


def _precision(value: Any) -> str:
    """The name of a float type coarser than float64 ("float32", "float16"), or ""."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or not np.issubdtype(dtype, np.floating):
        return ""
    return str(dtype) if np.finfo(dtype).eps > np.finfo(np.float64).eps else ""


def read_return(value: Any, required: tuple[str, ...], names: dict[str, str]) -> Returned:
    """The tensors of a returned dict (any of the usual key names) or tuple (the derivation's order)."""
    found: dict[str, Any] = {}
    keys: dict[str, Any] = {}  # the returned key each tensor came from
    ignored: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = names.get(str(key)) or ALIASES.get(str(key))
            if name is None:
                ignored.append(str(key))
            elif name in found:  # a later key would silently replace the first one's array
                raise GradeFailure(
                    f"returned two keys for ∂J/∂{name}: {keys[name]!r} and {key!r}; return one "
                    f"(if one of them is no gradient, leave it out of the dict)"
                )
            else:
                found[name], keys[name] = item, key
    elif isinstance(value, tuple | list):
        order = TENSORS if len(value) == len(TENSORS) else required
        if len(value) != len(order):
            fewer = (
                f" (without ∂J/∂x, say so: --tensors {','.join(TENSORS[:4])})"
                if len(value) == 4 and len(required) == 5
                else ""
            )
            raise GradeFailure(
                f"returned {len(value)} values; expected {len(order)} in the derivation's order "
                f"({', '.join(order)}), or a dict with those keys{fewer}"
            )
        found = dict(zip(order, value, strict=True))
    elif inspect.isgenerator(value):
        raise GradeFailure(
            "returned a generator: `(g for g in ...)` makes one, not a tuple; return tuple(...) "
            f"of {', '.join(TENSORS)}, or a dict with those keys"
        )
    else:
        raise GradeFailure(
            f"returned a {type(value).__name__}; expected a dict with keys {', '.join(TENSORS)} "
            f"or a tuple in that order"
        )
    arrays, wrong, oversized = {}, {}, {}
    for name, item in found.items():
        converted = _as_array(item)
        if isinstance(converted, str):
            wrong[name] = converted
        elif isinstance(converted, tuple):
            oversized[name] = converted
        else:
            arrays[name] = converted
    precision = {name: kind for name, item in found.items() if (kind := _precision(item))}
    positional = not isinstance(value, dict)
    return Returned(
        arrays,
        wrong,
        ignored=tuple(ignored),
        oversized=oversized,
        precision=precision,
        positional=positional,
    )


def learner_inputs(problem: Problem, convention: Convention) -> dict[str, np.ndarray]:
    n_classes = problem.U.shape[0]
    inputs = {
        name: convention.learner_form(name, problem.array(name)) for name in ("x", "W", "b1", "U", "b2")
    }
    inputs["y"] = convention.labels(problem.y, n_classes)
    return {name: np.array(inputs[name], copy=True) for name in INPUTS}


def _reg_keyword(function: Callable[..., Any]) -> str | None:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return None
    return next((name for name in REG_NAMES if name in parameters), None)


def _instance(cls: Callable[..., Any], problem: Problem) -> Any:
    """The learner's class made for the problem's sizes (D_x, D_h, N_c) where its constructor takes them."""
    dims = problem.dims
    try:
        parameters = [
            p
            for p in inspect.signature(cls).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    args = (dims["D_x"], dims["D_h"], dims["N_c"]) if len(parameters) >= 3 else ()
    keywords = {"reg": 0.0} if any(p.name == "reg" for p in parameters[3:]) else {}
    return cls(*args, **keywords)


def call(
    entry: Entry,
    problem: Problem,
    convention: Convention,
    required: tuple[str, ...],
    weight_decay: float = 0.0,
) -> Returned:
    """One call of the learner's code on copies of the problem's inputs (changes to them are noted); with
    `weight_decay`, a function gets it as its regularization keyword (weight_decay, reg, lam, ...)."""
    inputs = learner_inputs(problem, convention)
    pristine = {name: array.copy() for name, array in inputs.items()}
    loss: float | None = None
    if entry.method:
        instance = _instance(entry.target, problem)
        if hasattr(instance, "reg"):
            instance.reg = weight_decay
        instance.params = {
            "W1": inputs["W"],
            "b1": inputs["b1"],
            "W2": inputs["U"],
            "b2": inputs["b2"],
        }
        method = getattr(instance, entry.method)
        reg = _reg_keyword(method)
        if weight_decay and reg is None and not hasattr(instance, "reg"):
            raise GradeFailure(f"an L2 term was asked for, but {entry.method} takes no reg argument")
        value = method(inputs["x"], inputs["y"], **({reg: weight_decay} if reg else {}))
        if not (isinstance(value, tuple | list) and len(value) == 2):
            raise GradeFailure(f"{entry.method} returned {type(value).__name__}; expected (loss, grads)")
        raw_loss, value = value
        loss = float(raw_loss) if np.ndim(raw_loss) == 0 else math.nan
    else:
        keyword = _reg_keyword(entry.target) if weight_decay else None
        if weight_decay and keyword is None:
            raise GradeFailure(
                f"an L2 term was asked for, but the function takes no {'/'.join(REG_NAMES[:3])} argument"
            )
        extra = {keyword: weight_decay} if keyword else {}
        value = entry.target(*(inputs[name] for name in INPUTS), **extra)
    returned = read_return(value, required, entry.names)
    mutated = tuple(name for name in INPUTS if not np.array_equal(inputs[name], pristine[name]))
    return replace(returned, loss=loss, mutated=mutated)


def reg_note(entry: Entry, weight_decay: float = 0.0) -> str:
    """What the grader did with a regularization argument, for the report ("" when there was none)."""
    if not entry.method:
        return ""
    method = getattr(entry.target, entry.method, None)
    reg = _reg_keyword(method) if method is not None else None
    where = f"{entry.method}({reg}={weight_decay:g})"
    if (
        not reg and _reg_keyword(entry.target) == "reg"
    ):  # CS231n's fc_net: TwoLayerNet(..., reg) keeps self.reg
        reg, where = "reg", f"self.reg = {weight_decay:g}"
    if not reg:
        return ""
    if weight_decay:
        return (
            f"{where}: graded against J + ({reg}/2)(‖W1‖² + ‖W2‖²), "
            f"nnapp's L2 term (CS231n's {reg}·Σ W² is this with {reg} doubled)"
        )
    return f"{where}: the penalty is off, J is the cross-entropy alone"


def encode(returned: Returned) -> dict[str, Any]:
    return {
        "arrays": {
            name: {"shape": list(a.shape), "data": a.reshape(-1).tolist()}
            for name, a in returned.arrays.items()
        },
        "wrong_types": returned.wrong_types,
        "loss": returned.loss,
        "mutated": list(returned.mutated),
        "ignored": list(returned.ignored),
        "oversized": {name: list(shape) for name, shape in returned.oversized.items()},
        "precision": returned.precision,
        "positional": returned.positional,
    }


def decode(data: dict[str, Any]) -> Returned:
    """Read back what `encode` wrote (a child's message; anything malformed raises ValueError/KeyError)."""
    arrays = {
        str(name): np.asarray(item["data"], dtype=np.float64).reshape([int(n) for n in item["shape"]])
        for name, item in data["arrays"].items()
        if str(name) in TENSORS
    }
    loss = data.get("loss")
    return Returned(
        arrays,
        {str(k): str(v) for k, v in data.get("wrong_types", {}).items() if str(k) in TENSORS},
        None if loss is None else float(loss),
        tuple(str(n) for n in data.get("mutated", ()) if str(n) in INPUTS),
        tuple(str(n) for n in data.get("ignored", ())),
        {str(k): tuple(int(n) for n in v) for k, v in data.get("oversized", {}).items() if str(k) in TENSORS},
        {
            str(k): str(v)
            for k, v in data.get("precision", {}).items()
            if str(k) in TENSORS and str(v) in ("float32", "float16")
        },
        bool(data.get("positional", False)),
    )
