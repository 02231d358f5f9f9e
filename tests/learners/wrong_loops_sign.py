"""Wrong: loops, with y_hat - y written the other way round."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    h = np.where(z > 0, z, 0.0)
    theta = U @ h + b2
    y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
    dU, db2 = np.zeros_like(U), np.zeros_like(b2)
    delta1 = [y[k, 0] - y_hat[k, 0] for k in range(len(b2))]
    for k in range(U.shape[0]):
        db2[k, 0] = delta1[k]
        for i in range(U.shape[1]):
            dU[k, i] = delta1[k] * h[i, 0]
    delta2 = (U.T @ np.array(delta1).reshape(-1, 1)) * (z > 0)
    return dU, db2, delta2 @ x.T, delta2, W.T @ delta2
