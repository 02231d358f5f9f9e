"""Right: rows, weights stored input-major (scores = X @ W + b1)."""
import numpy as np


def gradients(X, y, W, b1, U, b2):
    N = len(y)
    Z = X @ W + b1
    H = np.maximum(Z, 0)
    S = H @ U + b2
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(N), y] -= 1
    D1 = P / N
    D2 = D1 @ U.T * (Z > 0)
    return {"W": X.T @ D2, "b1": D2.sum(0), "U": H.T @ D1, "b2": D1.sum(0), "x": D2 @ W.T}
