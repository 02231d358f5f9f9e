"""Right gradients returned as a tuple in the forward order (W, b1, U, b2, x)."""
import numpy as np


def gradients(X, y, W, b1, U, b2):
    B = X.shape[0]
    Z = X @ W.T + b1
    H = np.maximum(Z, 0)
    T = H @ U.T + b2
    T = T - T.max(axis=1, keepdims=True)
    P = np.exp(T) / np.exp(T).sum(axis=1, keepdims=True)
    P[np.arange(B), y] -= 1
    D1 = P / B
    D2 = (D1 @ U) * (Z > 0)
    return D2.T @ X, D2.sum(0), D1.T @ H, D1.sum(0), D2 @ W
