"""A catalogue of classic mistakes in deriving this network's gradients, to plant and watch the check.

Each `Mistake` names one wrong line of `network.backward` (or of the loss and the gradient together),
says in one sentence what is wrong in the math, and whether finite differences can see it at all.
`planted(name)` returns the `network.Objective` with the wrong version in it: passed to training or the
gradient check, the steps and the check both run it, as they would a real bug
(`nnapp gradcheck CONFIG --mistake NAME`; `--mistake list` lists them).

`wrong_backward` below is `network.backward` line for line; each `if mistake == ...` is one mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from nnapp.core import network
from nnapp.core.network import Forward, Objective, Params, softmax


@dataclass(frozen=True)
class Mistake:
    name: str
    what: str  # one sentence: what is wrong in the math
    wrong: str  # the wrong code
    right: str  # the code of network.py it replaces
    invisible: str = ""  # why finite differences cannot see it; "" when they can
    weight_decay: bool = False  # changes nothing unless optim.weight_decay > 0
    loss_too: bool = False  # the loss is made wrong in the same way (network.cross_entropy/l2_penalty)
    note: str = ""  # when it shows, if not always


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "no_1_over_B",
        "J is the batch mean, so delta1 = (y_hat - y) / B; dropping the 1/B makes every gradient B times "
        "too large.",
        "(no delta1 /= B)",
        "delta1 /= B",
    ),
    Mistake(
        "forgot_minus_y",
        "dJ/dtheta = y_hat - y; delta1 = y_hat forgets the label term, so the gradient no longer depends "
        "on the labels at all.",
        "delta1 = softmax(theta)",
        "delta1 -= y",
    ),
    Mistake(
        "y_minus_y_hat",
        "delta1 = y - y_hat has the sign flipped, so every step climbs the loss instead of descending it.",
        "delta1 = y - softmax(theta)",
        "delta1 = softmax(theta) - y",
    ),
    Mistake(
        "scaled_y",
        "delta1 = y_hat - 0.9 y (a typo on the one-hot branch training uses): the gradient of the true loss "
        "is y_hat - y.",
        "delta1 -= 0.9 * y",
        "delta1 -= y",
    ),
    Mistake(
        "forgot_y_last_class",
        "-y is forgotten for the last class only (class 9 of digits): delta1 is wrong in the rows of that "
        "class alone, which a check on rows of other classes never sees.",
        "delta1[:, :-1] -= y[:, :-1]",
        "delta1 -= y",
    ),
    Mistake(
        "no_relu_mask",
        "delta2 = delta1 U forgets the ReLU derivative [z > 0], as if h = z were linear.",
        "delta2 = delta1 @ U",
        "delta2 = (delta1 @ U) * (z > 0)",
    ),
    Mistake(
        "relu_mask_ge",
        "The mask z >= 0 takes ReLU'(0) = 1 instead of the derivation's sgn(0) = 0.",
        "delta2 *= z >= 0",
        "delta2 *= z > 0",
        invisible=(
            "it differs only where z = 0 exactly, which random weights and data never hit; and where they "
            "do, ReLU has no derivative (either choice is a valid subgradient), a +/-eps move crosses the "
            "kink and the check skips that coordinate as a kink"
        ),
    ),
    Mistake(
        "b1_mean",
        "dJ/db1 is the sum over examples of delta2 (the 1/B is already in delta1); the mean divides by B "
        "a second time.",
        "grads['b1'] = delta2.mean(axis=0)",
        "grads['b1'] = ones @ delta2",
    ),
    Mistake(
        "double_weight_decay",
        "d/dW (lambda/2)||W||^2 = lambda W; adding it twice (2 lambda W) decays as if the penalty were "
        "lambda ||W||^2, which the loss does not say.",
        "grads['W'] += 2 * weight_decay * W (likewise U)",
        "grads['W'] += weight_decay * W",
        weight_decay=True,
    ),
    Mistake(
        "decayed_biases",
        "The penalty covers W and U only, yet the gradient adds lambda b1 and lambda b2 as if biases were "
        "decayed too.",
        "grads['b1'] += weight_decay * b1 (likewise b2)",
        "(biases are not decayed)",
        weight_decay=True,
        note=(
            "biases start at zero, so lambda b changes nothing at the initial parameters (epoch 0); the "
            "check catches it once the biases have moved (gradcheck --run RUN, or the periodic checks)"
        ),
    ),
    Mistake(
        "x_grad_through_U",
        "dJ/dx = delta2 W must pass the ReLU mask inside delta2; (delta1 U) W goes through U without it.",
        "grads['x'] = (delta1 @ U) @ W",
        "grads['x'] = delta2 @ W",
    ),
    Mistake(
        "accumulate_into_out",
        "dJ/db2 is added to whatever the `out` buffer held (the previous step's gradient) instead of "
        "replacing it.",
        "grads['b2'] += ones @ delta1",
        "grads['b2'] = np.matmul(ones, delta1, out=grads['b2'])",
    ),
    Mistake(
        "sum_not_mean",
        "Loss and gradient both use the sum over the batch instead of the mean: consistent with each other, "
        "but J is B times the documented loss (a learning rate B times larger, and lambda B times smaller "
        "relative to the data term).",
        "J = sum(CE); no delta1 /= B",
        "J = mean(CE); delta1 /= B",
        invisible=(
            "finite differences differentiate whatever loss the code computes: the gradient is the true "
            "gradient of that (wrong) loss, so they agree"
        ),
        loss_too=True,
    ),
    Mistake(
        "l2_no_half",
        "Penalty lambda ||W||^2 (no 1/2) with gradient 2 lambda W: consistent with each other, but the "
        "weight decay is twice the configured one.",
        "L2 = lambda (||W||^2 + ||U||^2); grads['W'] += 2 * weight_decay * W",
        "L2 = (lambda/2)(||W||^2 + ||U||^2); grads['W'] += weight_decay * W",
        invisible=(
            "finite differences differentiate whatever loss the code computes: the gradient is the true "
            "gradient of that (wrong) loss, so they agree"
        ),
        weight_decay=True,
        loss_too=True,
    ),
)
BY_NAME = {m.name: m for m in MISTAKES}


def get(name: str) -> Mistake:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown mistake {name!r} (choose from {', '.join(BY_NAME)}, or list)") from None


def wrong_backward(
    mistake: str,
    params: Params,
    fwd: Forward,
    y: np.ndarray,
    weight_decay: float = 0.0,
    input_grad: bool = True,
    out: Params | None = None,
    y_hat: np.ndarray | None = None,
) -> Params:
    """`network.backward` with the one mistake `mistake` in it (same arguments, same out= contract)."""
    U, W = params["U"], params["W"]
    B = len(y)
    ws = fwd.ws
    grads: Params = out if out is not None else {}
    Y = y if y.ndim == 2 else np.eye(U.shape[0], dtype=fwd.theta.dtype)[y]  # one-hot (B, N_c)

    # (1) delta1 = (y_hat - y) / B                                                      (B, N_c)
    delta1 = softmax(fwd.theta, out=ws.delta1) if y_hat is None else y_hat
    if mistake == "forgot_minus_y":
        pass
    elif mistake == "y_minus_y_hat":
        np.subtract(Y, delta1, out=delta1)
    elif mistake == "scaled_y":
        delta1 -= 0.9 * Y
    elif mistake == "forgot_y_last_class":
        delta1[:, :-1] -= Y[:, :-1]
    else:
        delta1 -= Y
    if mistake not in ("no_1_over_B", "sum_not_mean"):
        delta1 /= B
    # (2) dJ/dU = Delta1^T H, dJ/db2 = 1^T Delta1                                       (N_c, D_h), (N_c,)
    grads["U"] = np.matmul(delta1.T, fwd.h, out=grads.get("U"))
    if mistake == "accumulate_into_out" and grads.get("b2") is not None:
        grads["b2"] += ws.ones @ delta1
    else:
        grads["b2"] = np.matmul(ws.ones, delta1, out=grads.get("b2"))
    # (3) delta2 = (Delta1 U) * [z > 0]                                                 (B, D_h)
    delta2 = np.matmul(delta1, U, out=ws.delta2)
    if mistake == "relu_mask_ge":
        delta2 *= np.greater_equal(fwd.z, 0, out=ws.active)
    elif mistake != "no_relu_mask":
        delta2 *= np.greater(fwd.z, 0, out=ws.active)
    # (4) dJ/dW = Delta2^T X, dJ/db1 = 1^T Delta2                                       (D_h, D_x), (D_h,)
    grads["W"] = np.matmul(delta2.T, fwd.X, out=grads.get("W"))
    if mistake == "b1_mean":
        grads["b1"] = np.mean(delta2, axis=0, out=grads.get("b1"))
    else:
        grads["b1"] = np.matmul(ws.ones, delta2, out=grads.get("b1"))
    # L2
    if weight_decay != 0.0:
        factor = 2.0 if mistake in ("double_weight_decay", "l2_no_half") else 1.0
        grads["W"] += factor * weight_decay * W
        grads["U"] += factor * weight_decay * U
        if mistake == "decayed_biases":
            grads["b1"] += weight_decay * params["b1"]
            grads["b2"] += weight_decay * params["b2"]
    if input_grad:
        # (5) dJ/dx = Delta2 W                                                          (B, D_x)
        grads["x"] = (delta1 @ U) @ W if mistake == "x_grad_through_U" else delta2 @ W
    return grads


def _sum_cross_entropy(fwd: Forward, y: np.ndarray) -> float:
    return len(y) * network.cross_entropy(fwd, y)


def _l2_no_half(params: Params, weight_decay: float) -> float:
    return 2.0 * network.l2_penalty(params, weight_decay)


def planted(name: str) -> Objective:
    """The Objective with the mistake `name` in it: its backward (and, for the mistakes that make the
    loss wrong too, its loss). Pass it where training, the gradient check and `nnapp gradcheck` take an
    Objective; nothing else changes, so other runs in the same process keep the derived gradients."""
    get(name)  # an unknown name: KeyError naming the choices
    return Objective(
        backward=partial(wrong_backward, name),
        cross_entropy=_sum_cross_entropy if name == "sum_not_mean" else network.cross_entropy,
        l2_penalty=_l2_no_half if name == "l2_no_half" else network.l2_penalty,
    )
