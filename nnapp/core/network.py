"""The network and its hand-derived gradients (docs/gradients.md derives them; "The batch form").

    x -> z = W x + b1 -> h = ReLU(z) -> theta = U h + b2 -> y_hat = softmax(theta) -> J = CE(y, y_hat)

Rows are examples. Shapes: X (B, D_x), W (D_h, D_x), b1 (D_h,), U (N_c, D_h), b2 (N_c,).
Every gradient is written from the derived formulas; nothing here uses autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

Params = dict[str, np.ndarray]
PARAM_NAMES = ("W", "b1", "U", "b2")


def param_shapes(d_in: int, d_hidden: int, n_classes: int) -> dict[str, tuple[int, ...]]:
    return {"W": (d_hidden, d_in), "b1": (d_hidden,), "U": (n_classes, d_hidden), "b2": (n_classes,)}


def n_parameters(d_in: int, d_hidden: int, n_classes: int) -> int:
    return sum(int(np.prod(s)) for s in param_shapes(d_in, d_hidden, n_classes).values())


def views(flat: np.ndarray, d_in: int, d_hidden: int, n_classes: int) -> Params:
    """Named views into one flat buffer, so an optimizer can update every tensor in one vector operation."""
    out: Params = {}
    start = 0
    for name, shape in param_shapes(d_in, d_hidden, n_classes).items():
        size = int(np.prod(shape))
        out[name] = flat[start : start + size].reshape(shape)
        start += size
    return out


def flatten(params: Params) -> np.ndarray:
    """One contiguous copy of W, b1, U, b2 (the order `views` expects)."""
    return np.concatenate([params[name].ravel() for name in PARAM_NAMES])


def init_params(
    d_in: int,
    d_hidden: int,
    n_classes: int,
    rng: np.random.Generator,
    init: str = "he",
    dtype: Any = np.float64,
) -> Params:
    """He-normal (the default, suited to ReLU) or Glorot-uniform weights, zero biases.

    The arrays are views into one contiguous buffer (see `views`); use them as ordinary arrays.
    """
    flat = np.zeros(n_parameters(d_in, d_hidden, n_classes), dtype=dtype)
    params = views(flat, d_in, d_hidden, n_classes)
    for name, (fan_out, fan_in) in (("W", (d_hidden, d_in)), ("U", (n_classes, d_hidden))):
        if init == "he":
            weights = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
        elif init == "glorot":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            weights = rng.uniform(-limit, limit, size=(fan_out, fan_in))
        else:
            raise ValueError(f"unknown init {init!r} (choose 'he' or 'glorot')")
        params[name][...] = weights
    return params


@dataclass
class Workspace:
    """The arrays a forward and backward pass write into, for batches of up to `len(ones)` rows.

    Training reuses one Workspace for every step rather than allocating these arrays anew: at this
    network's sizes a step's cost is mostly per-call overhead (benchmarks/hot_path.md).
    """

    z: np.ndarray  # (B, D_h)
    h: np.ndarray  # (B, D_h)
    theta: np.ndarray  # (B, N_c)
    delta1: np.ndarray  # (B, N_c)
    delta2: np.ndarray  # (B, D_h)
    active: np.ndarray  # (B, D_h) bool: z > 0, where ReLU passes the gradient
    ones: np.ndarray  # (B,) sums over examples are written 1^T Delta
    # `first`'s views by row count, made once: an epoch's short last batch comes back every epoch
    # (benchmarks/hot_path.md)
    _short: dict[int, Workspace] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def new(cls, rows: int, d_hidden: int, n_classes: int, dtype: Any = np.float64) -> Workspace:
        hidden, logits = (rows, d_hidden), (rows, n_classes)
        return cls(
            z=np.empty(hidden, dtype),
            h=np.empty(hidden, dtype),
            theta=np.empty(logits, dtype),
            delta1=np.empty(logits, dtype),
            delta2=np.empty(hidden, dtype),
            active=np.empty(hidden, bool),
            ones=np.ones(rows, dtype),
        )

    def first(self, rows: int) -> Workspace:
        """Views of the first `rows` rows (an epoch's last batch may be short)."""
        if rows == len(self.ones):
            return self
        short = self._short.get(rows)
        if short is None:
            short = Workspace(**{f.name: getattr(self, f.name)[:rows] for f in fields(self) if f.init})
            self._short[rows] = short
        return short


@dataclass
class Forward:
    """The intermediate values of the forward pass, kept for the backward pass (views into `ws`)."""

    X: np.ndarray  # (B, D_x)
    z: np.ndarray  # (B, D_h)
    h: np.ndarray  # (B, D_h)
    theta: np.ndarray  # (B, N_c) logits
    ws: Workspace  # where backward writes delta1 and delta2

    @property
    def log_norm(self) -> np.ndarray:
        """log sum_k exp(theta_k) by row, shifted by the row maximum: no overflow for logits of any size."""
        row_max = self.theta.max(axis=1)
        return row_max + np.log(np.exp(self.theta - row_max[:, None]).sum(axis=1))

    @property
    def y_hat(self) -> np.ndarray:
        """softmax(theta) by row, as a new array."""
        return softmax(self.theta)


def softmax(theta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """y_hat = exp(theta - rowmax) / rowsum by row: the shift cancels in the ratio and keeps exp finite."""
    y_hat = np.subtract(theta, theta.max(axis=1, keepdims=True), out=out)
    np.exp(y_hat, out=y_hat)
    y_hat /= y_hat.sum(axis=1, keepdims=True)
    return y_hat


def forward(params: Params, X: np.ndarray, ws: Workspace | None = None) -> Forward:
    """The forward pass; with a Workspace `ws` it allocates nothing (and overwrites `ws`)."""
    W, b1, U, b2 = params["W"], params["b1"], params["U"], params["b2"]
    if ws is None:
        ws = Workspace.new(len(X), W.shape[0], U.shape[0], np.result_type(X, W))
    z = np.matmul(X, W.T, out=ws.z)
    z += b1  # z = W x + b1                                                (B, D_h)
    h = np.maximum(z, 0, out=ws.h)  # h = ReLU(z)                          (B, D_h)
    theta = np.matmul(h, U.T, out=ws.theta)
    theta += b2  # theta = U h + b2                                        (B, N_c)
    return Forward(X=X, z=z, h=h, theta=theta, ws=ws)


def cross_entropy(fwd: Forward, y: np.ndarray) -> float:
    """J = -(1/B) sum_i log y_hat[i, y_i] = mean(logsumexp(theta_i) - theta[i, y_i]); never log(y_hat).

    `y` holds class indices (B,) or one-hot rows (B, N_c), as for `backward`.
    """
    if y.ndim == 2:  # one-hot: theta[i, y_i] = sum_k Y[i, k] theta[i, k]
        return float(np.mean(fwd.log_norm - np.einsum("ik,ik->i", y, fwd.theta)))
    rows = np.arange(len(y))
    return float(np.mean(fwd.log_norm - fwd.theta[rows, y]))


def l2_penalty(params: Params, weight_decay: float) -> float:
    """(lambda/2)(||W||^2 + ||U||^2); biases are not decayed."""
    if weight_decay == 0.0:
        return 0.0
    W, U = params["W"], params["U"]
    return 0.5 * weight_decay * float(np.vdot(W, W) + np.vdot(U, U))


def backward(
    params: Params,
    fwd: Forward,
    y: np.ndarray,
    weight_decay: float = 0.0,
    input_grad: bool = True,
    out: Params | None = None,
    y_hat: np.ndarray | None = None,
) -> Params:
    """Gradients of the batch-mean loss (plus L2) by the derived formulas of docs/gradients.md.

    `y` holds class indices (B,) or one-hot rows (B, N_c). `out`, if given, holds arrays (e.g. views of
    one flat buffer) to write the parameter gradients into; delta1 and delta2 go into `fwd.ws`.
    `input_grad=False` skips dJ/dX, which training does not need. `y_hat`: softmax(theta) in
    `fwd.ws.delta1`, from a caller that computed it already (the epoch record's loss); else computed here.
    """
    U, W = params["U"], params["W"]
    B = len(y)
    ws = fwd.ws
    grads: Params = out if out is not None else {}

    # (1) delta1 = dJ/dtheta = (y_hat - y)^T per example; mean loss => divided by B   (B, N_c)
    delta1 = softmax(fwd.theta, out=ws.delta1) if y_hat is None else y_hat
    if y.ndim == 2:
        delta1 -= y  # y given one-hot, (B, N_c): Delta1 = (Y_hat - Y) / B (docs/gradients.md)
    else:
        delta1[np.arange(B), y] -= 1  # y given as class indices
    delta1 /= B
    # (2) dJ/dU = delta1^T h^T  ->  batch: Delta1^T H                                   (N_c, D_h)
    grads["U"] = np.matmul(delta1.T, fwd.h, out=grads.get("U"))
    # (2) dJ/db2 = delta1^T  ->  batch: sum over examples, 1^T Delta1                   (N_c,)
    grads["b2"] = np.matmul(ws.ones, delta1, out=grads.get("b2"))
    # (3) delta2 = dJ/dz = delta1 U ⊙ sgn(h), with ReLU'(z) = sgn(h) = [z > 0]           (B, D_h)
    delta2 = np.matmul(delta1, U, out=ws.delta2)
    delta2 *= np.greater(fwd.z, 0, out=ws.active)
    # (4) dJ/dW = delta2^T x^T  ->  batch: Delta2^T X                                   (D_h, D_x)
    grads["W"] = np.matmul(delta2.T, fwd.X, out=grads.get("W"))
    # (4) dJ/db1 = delta2^T  ->  batch: sum over examples, 1^T Delta2                   (D_h,)
    grads["b1"] = np.matmul(ws.ones, delta2, out=grads.get("b1"))
    # L2: d/dW (lambda/2)||W||^2 = lambda W, likewise for U; biases are not decayed
    if weight_decay != 0.0:
        grads["W"] += weight_decay * W
        grads["U"] += weight_decay * U
    if input_grad:
        # (5) dJ/dx = delta2 W  ->  batch: Delta2 W                                     (B, D_x)
        grads["x"] = delta2 @ W
    return grads


def loss_and_grads(
    params: Params, X: np.ndarray, y: np.ndarray, weight_decay: float = 0.0
) -> tuple[float, Params]:
    """Loss J = mean cross-entropy + (lambda/2)(||W||^2 + ||U||^2), and its gradients.

    `y` holds class indices (B,) or one-hot rows (B, N_c), as for `backward`.
    `grads` has keys W, b1, U, b2 and x, each of the shape of what it differentiates (x: (B, D_x)).
    """
    y = np.asarray(y)
    fwd = forward(params, X)
    loss = cross_entropy(fwd, y) + l2_penalty(params, weight_decay)
    return loss, backward(params, fwd, y, weight_decay)


# What a planted mistake (nnapp.core.mistakes) or a learner's own derivation replaces: each has the
# signature of the function of this module it stands in for.
Backward = Callable[..., Params]  # backward(params, fwd, y, weight_decay, input_grad, out, y_hat=None)
CrossEntropy = Callable[[Forward, np.ndarray], float]
Penalty = Callable[[Params, float], float]


@dataclass(frozen=True)
class Objective:
    """The loss training minimises, J = cross_entropy + l2_penalty, and the backward pass that gives its
    gradient. Training, its gradient checks and the standalone check take one as an argument and call
    these: a planted mistake is another Objective passed down, never a function swapped in a module."""

    backward: Backward = backward
    cross_entropy: CrossEntropy = cross_entropy
    l2_penalty: Penalty = l2_penalty


DERIVED = Objective()  # the derived gradients of docs/gradients.md and the loss they differentiate


def step_gradients(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    weight_decay: float,
    ws: Workspace,
    out: Params,
    input_grad: bool = False,
    backward: Backward = backward,
) -> Params:
    """One training step's gradients: forward into `ws`, backward into `out`. Training calls this for
    every step and the gradient check differentiates this very function (nnapp.core.gradcheck), so both
    see the same label form (one-hot rows), the Workspace and `out=` arrays, and short batches.

    `backward`: the backward pass to run (the Objective's; a planted mistake's in nnapp.core.mistakes).
    """
    fwd = forward(params, X, ws.first(len(X)))
    return backward(params, fwd, y, weight_decay, input_grad=input_grad, out=out)


def predict_proba(params: Params, X: np.ndarray) -> np.ndarray:
    return forward(params, X).y_hat


def predict(params: Params, X: np.ndarray) -> np.ndarray:
    """Class indices 0..N_c-1 (argmax of the logits, the same as of the probabilities)."""
    return np.argmax(forward(params, X).theta, axis=1)


def cross_entropy_softmax(fwd: Forward, y: np.ndarray, out: np.ndarray) -> float:
    """`cross_entropy(fwd, y)`, with `softmax(fwd.theta)` written into `out` (for `backward`'s y_hat) from
    the same exp of the logits: the same numbers, bit for bit, as the two computed apart, for one
    exp instead of two (the epoch record needs both over every training row)."""
    theta = fwd.theta
    row_max = theta.max(axis=1, keepdims=True)
    y_hat = np.subtract(theta, row_max, out=out)
    np.exp(y_hat, out=y_hat)
    sums = y_hat.sum(axis=1, keepdims=True)
    log_norm = row_max[:, 0] + np.log(sums[:, 0])  # Forward.log_norm's terms
    y_hat /= sums
    picked = np.einsum("ik,ik->i", y, theta) if y.ndim == 2 else theta[np.arange(len(y)), y]
    return float(np.mean(log_norm - picked))
