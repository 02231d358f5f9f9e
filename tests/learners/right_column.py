"""Right: the derivation written as it reads, one example as columns."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    h = np.maximum(z, 0)
    theta = U @ h + b2
    e = np.exp(theta - theta.max())
    y_hat = e / e.sum()
    delta1 = (y_hat - y).T  # 1 x N_c, a row as the derivation writes it
    dU = delta1.T @ h.T
    db2 = delta1.T
    delta2 = (delta1 @ U) * np.sign(h).T
    dW = delta2.T @ x.T
    db1 = delta2.T
    dx = (delta2 @ W).T
    return {"U": dU, "b2": db2, "W": dW, "b1": db1, "x": dx}
