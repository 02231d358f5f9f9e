"""Broken contract: returns three values."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    h = np.maximum(z, 0)
    theta = U @ h + b2
    y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
    g = y_hat - y
    dz = (U.T @ g) * (z > 0)
    return g @ h.T, dz @ x.T, W.T @ dz
