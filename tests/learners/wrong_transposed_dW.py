"""Wrong: dW = x delta2 (denominator layout), one example as columns."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = np.dot(W, x) + b1
    h = np.maximum(0, z)
    t = np.dot(U, h) + b2
    p = np.exp(t - np.max(t))
    p /= np.sum(p)
    d1 = p - y  # N_c x 1
    d2 = np.dot(U.T, d1) * (z > 0)  # D_h x 1
    dW = np.dot(x, d2.T)  # D_x x D_h
    return np.dot(d1, h.T), d1, dW, d2, np.dot(W.T, d2)
