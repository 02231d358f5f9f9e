"""Wrong: a stray factor 2 in dW (as if J were squared)."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    h = np.maximum(z, 0)
    theta = U @ h + b2
    y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
    g = y_hat - y
    dz = (U.T @ g) * (z > 0)
    return dict(U=g @ h.T, b2=g, W=2 * dz @ x.T, b1=dz, x=W.T @ dz)
