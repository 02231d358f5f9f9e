"""Wrong: the derivation's row-vector delta1, and dU from h without the transpose."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    h = np.maximum(z, 0)
    theta = U @ h + b2
    y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
    delta1 = (y_hat - y).T  # 1 x N_c
    delta2 = (delta1 @ U) * np.sign(h).T  # 1 x D_h
    return {
        "U": h @ delta1,  # D_h x N_c: transposed
        "b2": delta1.T,
        "W": delta2.T @ x.T,
        "b1": delta2.T,
        "x": (delta2 @ W).T,
    }
