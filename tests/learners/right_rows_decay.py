"""Right: rows, with nnapp's L2 term (weight_decay/2)(|W|^2 + |U|^2)."""
import numpy as np


def gradients(X, y, W, b1, U, b2, weight_decay=0.0):
    B = X.shape[0]
    Z = X @ W.T + b1
    H = np.maximum(Z, 0)
    S = H @ U.T + b2
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    D1 = (P - np.eye(U.shape[0])[y]) / B
    D2 = (D1 @ U) * (Z > 0)
    dU = D1.T @ H + weight_decay * U
    dW = D2.T @ X + weight_decay * W
    return {"U": dU, "b2": D1.sum(axis=0), "W": dW, "b1": D2.sum(axis=0), "x": D2 @ W}
