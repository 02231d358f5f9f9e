"""Broken: a helper raises."""

import numpy as np


def softmax(theta):
    e = np.exp(theta - theta.max())
    return e / e.sum(axis=2)


def gradients(x, y, W, b1, U, b2):
    h = np.maximum(W @ x + b1, 0)
    y_hat = softmax(U @ h + b2)
    return y_hat
