"""The plain reference path: the derivation of docs/gradients.md, written to be read, not to be fast.

    x -> z = W x + b1 -> h = ReLU(z) -> theta = U h + b2 -> y_hat = softmax(theta) -> J = CE(y, y_hat)

Every function allocates its results and names them as the derivation does, so that the fast path of
`nnapp.core.network` (Workspaces, out= arrays, one-hot or index labels) and the batched finite
differences of `nnapp.core.gradcheck_eval` can be held equal to something a reader checks by eye.
Rows are examples: X (B, D_x), integer labels y (B,); params W (D_h, D_x), b1 (D_h,), U (N_c, D_h),
b2 (N_c,). The loss is the batch mean, without the L2 penalty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Trace:
    """Every intermediate value of the forward pass, one row per example."""

    z: np.ndarray  # (B, D_h)  z = W x + b1
    h: np.ndarray  # (B, D_h)  h = ReLU(z)
    theta: np.ndarray  # (B, N_c)  theta = U h + b2
    y_hat: np.ndarray  # (B, N_c)  y_hat = softmax(theta)


@dataclass(frozen=True)
class Gradients:
    """dJ/d(each parameter) in that parameter's shape, and dJ/dX for every row."""

    U: np.ndarray  # (N_c, D_h)
    b2: np.ndarray  # (N_c,)
    W: np.ndarray  # (D_h, D_x)
    b1: np.ndarray  # (D_h,)
    x: np.ndarray  # (B, D_x)


def trace(params: Params, X: np.ndarray) -> Trace:
    """The forward pass, as the table "The network, one example" writes it (each row one example)."""
    W, b1, U, b2 = params["W"], params["b1"], params["U"], params["b2"]
    z = X @ W.T + b1  # (B, D_h)  z = W x + b1
    h = np.maximum(z, 0.0)  # (B, D_h)  h = ReLU(z)
    theta = h @ U.T + b2  # (B, N_c)  theta = U h + b2
    shifted = theta - theta.max(axis=1, keepdims=True)  # softmax is unchanged by a shift; exp stays finite
    y_hat = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)  # (B, N_c)
    return Trace(z=z, h=h, theta=theta, y_hat=y_hat)


def loss(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    """J = mean_i (logsumexp(theta_i) - theta[i, y_i]): the cross-entropy without ever taking log(y_hat)."""
    theta = trace(params, X).theta  # (B, N_c)
    row_max = theta.max(axis=1)  # (B,)
    log_norm = row_max + np.log(np.exp(theta - row_max[:, None]).sum(axis=1))  # (B,)  log sum_k exp theta_k
    return float(np.mean(log_norm - theta[np.arange(len(y)), y]))


def gradients(params: Params, X: np.ndarray, y: np.ndarray) -> Gradients:
    """The derived gradients of the batch-mean loss; each line cites its step of docs/gradients.md."""
    W, U = params["W"], params["U"]
    t = trace(params, X)
    B, n_classes = t.y_hat.shape
    Y = np.eye(n_classes)[y]  # (B, N_c) one-hot labels
    delta1 = (t.y_hat - Y) / B  # (B, N_c)   step 1: delta1 = (y_hat - y)^T, each row / B (batch mean)
    dU = delta1.T @ t.h  # (N_c, D_h)            step 2: dJ/dU = delta1^T h^T, summed over rows
    db2 = delta1.sum(axis=0)  # (N_c,)           step 2: dJ/db2 = delta1^T, summed over rows
    delta2 = (delta1 @ U) * np.sign(t.h)  # (B, D_h)  step 3: delta2 = delta1 U ⊙ sgn(h)
    dW = delta2.T @ X  # (D_h, D_x)              step 4: dJ/dW = delta2^T x^T, summed over rows
    db1 = delta2.sum(axis=0)  # (D_h,)           step 4: dJ/db1 = delta2^T, summed over rows
    dx = delta2 @ W  # (B, D_x)                  step 5: dJ/dx = delta2 W, one row per example
    return Gradients(U=dU, b2=db2, W=dW, b1=db1, x=dx)


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """(f(a + eps e_i) - f(a - eps e_i)) / 2 eps for every entry i of `array`, which f reads: each entry
    is moved in place and put back (also on an exception)."""
    grad = np.empty(array.shape)
    for index in np.ndindex(array.shape):
        original = array[index]
        try:
            array[index] = original + eps
            plus = f()
            array[index] = original - eps
            minus = f()
        finally:
            array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad
