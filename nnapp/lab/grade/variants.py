"""Known wrong derivations, each computed exactly, so that a learner's wrong answer can be recognised.

A `Variant` is one mistake: the gradients that mistake gives (canonical shapes), the derivation step it
sits in, and what it is in a learner's words. Where it is a mistake of nnapp's catalogue
(nnapp/core/mistakes.py) it carries the catalogue's name and explanation. The grader never uses these as
the expected values (those are finite differences): only to name what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnapp.core import mistakes, reference
from nnapp.lab.grade.problems import Problem

Grads = dict[str, np.ndarray]


@dataclass(frozen=True)
class Forward:
    z: np.ndarray
    h: np.ndarray
    y_hat: np.ndarray
    Y: np.ndarray  # one-hot (B, N_c)

    @property
    def B(self) -> int:
        return len(self.Y)


def softmax(theta: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(theta - theta.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def forward(p: Problem, relu: bool = True, axis: int = 1) -> Forward:
    z = p.X @ p.W.T + p.b1
    h = np.maximum(z, 0.0) if relu else z
    return Forward(z, h, softmax(h @ p.U.T + p.b2, axis), np.eye(p.U.shape[0])[p.y])


def backward(
    p: Problem,
    f: Forward,
    delta1: np.ndarray | None = None,
    mask: Callable[[Forward, np.ndarray], np.ndarray] | None = None,
    h_in_U: np.ndarray | None = None,
    x_masked: bool = True,
) -> Grads:
    """The derivation's backward pass (rows), with one piece replaced where an argument is given."""
    d1 = (f.y_hat - f.Y) / f.B if delta1 is None else delta1
    g = d1 @ p.U
    d2 = g * (f.z > 0) if mask is None else mask(f, g)
    return {
        "U": d1.T @ (f.h if h_in_U is None else h_in_U),
        "b2": d1.sum(axis=0),
        "W": d2.T @ p.X,
        "b1": d2.sum(axis=0),
        "x": (d2 if x_masked else g) @ p.W,
    }


def right(p: Problem) -> Grads:
    """The derivation's gradients, from the reference path (the variants above change one piece of it)."""
    g = reference.gradients(p.params(), p.X, p.y)
    return {"U": g.U, "b2": g.b2, "W": g.W, "b1": g.b1, "x": g.x}


@dataclass(frozen=True)
class Variant:
    key: str
    step: int  # 1: delta1, 2: dU/db2, 3: delta2, 4: dW/db1, 5: dx
    what: str  # the learner's mistake, in their words
    grads: Callable[[Problem], Grads]
    mistake: str = ""  # the catalogue's name, when it is one of its mistakes

    def explain(self) -> str:
        if not self.mistake:
            return self.what
        return f"{self.what} [catalogue: {self.mistake}: {mistakes.get(self.mistake).what}]"


def _with_delta1(make: Callable[[Forward], np.ndarray]) -> Callable[[Problem], Grads]:
    def grads(p: Problem) -> Grads:
        f = forward(p)
        return backward(p, f, delta1=make(f))

    return grads


def _with_mask(mask: Callable[[Forward, np.ndarray], np.ndarray]) -> Callable[[Problem], Grads]:
    def grads(p: Problem) -> Grads:
        return backward(p, forward(p), mask=mask)

    return grads


def _last_class_kept(f: Forward) -> np.ndarray:
    d1 = f.y_hat.copy()
    d1[:, :-1] -= f.Y[:, :-1]
    return d1 / f.B


def _softmax_over_batch(p: Problem) -> Grads:
    f = forward(p, axis=0)
    return backward(p, f)


def _linear(p: Problem) -> Grads:
    f = forward(p, relu=False)
    return backward(p, f, mask=lambda f, g: g)


def _z_for_h(p: Problem) -> Grads:
    f = forward(p)
    return backward(p, f, h_in_U=f.z)


def _x_through_U(p: Problem) -> Grads:
    return backward(p, forward(p), x_masked=False)


def _ge_mask(p: Problem) -> Grads:
    return backward(p, forward(p), mask=lambda f, g: g * (f.z >= 0))


# Those that change delta1 (step 1) change every gradient after it; they come first.
DELTA1_VARIANTS = (
    Variant(
        "forgot_minus_y",
        1,
        "δ1 is ŷ alone: the − y of δ1 = ŷ − y is missing (step 1)",
        _with_delta1(lambda f: f.y_hat / f.B),
        "forgot_minus_y",
    ),
    Variant(
        "y_minus_y_hat",
        1,
        "δ1 has the wrong sign: y − ŷ where δ1 = ŷ − y (step 1)",
        _with_delta1(lambda f: (f.Y - f.y_hat) / f.B),
        "y_minus_y_hat",
    ),
    Variant(
        "scaled_y",
        1,
        "δ1 is ŷ − 0.9 y: the label term must be y itself (step 1)",
        _with_delta1(lambda f: (f.y_hat - 0.9 * f.Y) / f.B),
        "scaled_y",
    ),
    Variant(
        "forgot_y_last_class",
        1,
        "δ1 forgets − y for the last class only (step 1): a loop over classes that stops one short?",
        _with_delta1(_last_class_kept),
        "forgot_y_last_class",
    ),
    Variant(
        "no_1_over_B",
        1,
        "δ1 is not divided by the batch size: the gradients are summed over the batch instead of "
        "averaged, B times too large (step 1: J is the mean, so δ1 = (ŷ − y) / B; a loss that sums "
        "too is the catalogue's sum_not_mean)",
        _with_delta1(lambda f: f.y_hat - f.Y),
        "no_1_over_B",
    ),
    Variant(
        "softmax_axis",
        1,
        "softmax ran over the wrong axis: ŷ normalises across the examples instead of across the "
        "classes, so no example's ŷ sums to 1 (step 1: sum over the class axis)",
        _softmax_over_batch,
    ),
    Variant(
        "linear",
        1,
        "z is used where h = ReLU(z) belongs: the forward pass skips the ReLU (θ = U z + b2), so ŷ and δ1 "
        "are those of a network without it",
        _linear,
    ),
)
# Those that change delta2 (step 3): dW, db1 and dx.
DELTA2_VARIANTS = (
    Variant(
        "no_relu_mask",
        3,
        "the ReLU mask is missing: δ2 = δ1 U, where δ2 = δ1 U ⊙ sgn(h) (step 3; h >= 0 holds "
        "everywhere, so a mask h >= 0 is no mask: use z > 0)",
        _with_mask(lambda f, g: g),
        "no_relu_mask",
    ),
    Variant(
        "mask_times_h",
        3,
        "the ReLU mask is applied as h itself: δ1 U ⊙ h, where the mask is sgn(h), 1 where h > 0 and 0 "
        "elsewhere (step 3)",
        _with_mask(lambda f, g: g * f.h),
    ),
    Variant(
        "mask_times_z",
        3,
        "the ReLU mask is applied as z: δ1 U ⊙ z, where the mask is sgn(h) = [z > 0] (step 3)",
        _with_mask(lambda f, g: g * f.z),
    ),
    Variant(
        "relu_of_gradient",
        3,
        "ReLU is applied to the gradient: max(δ1 U, 0), where the mask comes from the forward pass, "
        "δ1 U ⊙ [z > 0] (step 3)",
        _with_mask(lambda f, g: np.maximum(g, 0.0)),
    ),
)
# One tensor each.
LOCAL_VARIANTS = (
    Variant(
        "z_for_h",
        2,
        "z is used where h belongs: ∂J/∂U = δ1ᵀ hᵀ takes the hidden layer after the ReLU, "
        "h = ReLU(z) (step 2)",
        _z_for_h,
    ),
    Variant(
        "x_grad_through_U",
        5,
        "∂J/∂x skips the ReLU mask: (δ1 U) W, where ∂J/∂x = δ2 W and δ2 carries the mask (step 5)",
        _x_through_U,
        "x_grad_through_U",
    ),
)


def penalty_variants(weight_decay: float) -> tuple[Variant, ...]:
    """Mistakes in the L2 term's gradient (nothing to see without one). Each gives the right gradients of
    J + (λ/2)(‖W‖² + ‖U‖²) with the penalty's part changed."""
    lam = weight_decay

    def changed(extra: Callable[[Problem], Grads]) -> Callable[[Problem], Grads]:
        def grads(p: Problem) -> Grads:
            g = right(p)
            g["W"] = g["W"] + lam * p.W
            g["U"] = g["U"] + lam * p.U
            return {n: g[n] + extra(p).get(n, 0.0) for n in g}

        return grads

    if lam == 0.0:
        return ()
    return (
        Variant(
            "double_weight_decay",
            4,
            "the L2 term's gradient is added twice, 2λW and 2λU, where d/dW (λ/2)‖W‖² = λW (or the loss has "
            "no 1/2 either: the catalogue's l2_no_half)",
            changed(lambda p: {"W": lam * p.W, "U": lam * p.U}),
            "double_weight_decay",
        ),
        Variant(
            "decayed_biases",
            4,
            "the biases are decayed (λ b1, λ b2 added) although the L2 term covers W and U only",
            changed(lambda p: {"b1": lam * p.b1, "b2": lam * p.b2}),
            "decayed_biases",
        ),
        Variant(
            "no_decay_gradient",
            4,
            "the L2 term's gradient λW, λU is missing (the loss has the penalty, the gradient does not)",
            changed(lambda p: {"W": -lam * p.W, "U": -lam * p.U}),
        ),
    )


GE_MASK = Variant(
    "relu_mask_ge",
    3,
    "at z = 0 exactly the mask takes ReLU'(0) = 1 (z >= 0) where the derivation takes sgn(0) = 0; ReLU "
    "has no derivative there, so this is a note, not a failure",
    _ge_mask,
    "relu_mask_ge",
)
