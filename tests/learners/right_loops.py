"""Right: explicit loops over every index, one example as columns."""

import math

import numpy as np


def gradients(x, y, W, b1, U, b2):
    D_h, D_x = W.shape
    N_c = U.shape[0]
    z = [sum(W[i, j] * x[j, 0] for j in range(D_x)) + b1[i, 0] for i in range(D_h)]
    h = [max(v, 0.0) for v in z]
    theta = [sum(U[k, i] * h[i] for i in range(D_h)) + b2[k, 0] for k in range(N_c)]
    top = max(theta)
    total = sum(math.exp(t - top) for t in theta)
    y_hat = [math.exp(t - top) / total for t in theta]
    d1 = [y_hat[k] - y[k, 0] for k in range(N_c)]
    dU = np.zeros_like(U)
    db2 = np.zeros_like(b2)
    for k in range(N_c):
        db2[k, 0] = d1[k]
        for i in range(D_h):
            dU[k, i] = d1[k] * h[i]
    d2 = [sum(d1[k] * U[k, i] for k in range(N_c)) * (1.0 if z[i] > 0 else 0.0) for i in range(D_h)]
    dW = np.zeros_like(W)
    db1 = np.zeros_like(b1)
    dx = np.zeros_like(x)
    for i in range(D_h):
        db1[i, 0] = d2[i]
        for j in range(D_x):
            dW[i, j] = d2[i] * x[j, 0]
            dx[j, 0] += d2[i] * W[i, j]
    return dU, db2, dW, db1, dx
