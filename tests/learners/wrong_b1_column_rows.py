"""Rows layout, but returns b1 as (H, 1) (and b2 right)."""
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
    db1 = D2.sum(axis=0).reshape(-1, 1)
    return D1.T @ H, D1.sum(0), D2.T @ X, db1, D2 @ W
