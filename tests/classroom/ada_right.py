"""Right: rows are examples, J the batch mean (nnapp's own convention)."""

import numpy as np


def gradients(X, y, W, b1, U, b2):
    B = X.shape[0]
    Z = X @ W.T + b1
    H = np.maximum(Z, 0)
    theta = H @ U.T + b2
    theta = theta - theta.max(axis=1, keepdims=True)
    Y_hat = np.exp(theta) / np.exp(theta).sum(axis=1, keepdims=True)
    Y = np.zeros_like(Y_hat)
    Y[np.arange(B), y] = 1
    D1 = (Y_hat - Y) / B
    D2 = (D1 @ U) * (Z > 0)
    return D1.T @ H, D1.sum(axis=0), D2.T @ X, D2.sum(axis=0), D2 @ W
