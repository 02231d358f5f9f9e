"""Right: examples as columns, dX of the mean loss (divided by m)."""
import numpy as np


def linear_backward(dZ, A_prev, W):
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def gradients(X, Y, W, b1, U, b2):
    Z1 = np.dot(W, X) + b1
    A1 = np.maximum(0, Z1)
    Z2 = np.dot(U, A1) + b2
    A2 = np.exp(Z2 - Z2.max(axis=0)) / np.sum(np.exp(Z2 - Z2.max(axis=0)), axis=0)
    m = X.shape[1]
    dZ2 = A2 - Y  # the mean loss's 1/m comes in linear_backward
    dA1, dU, db2 = linear_backward(dZ2, A1, U)
    dZ1 = dA1 * (Z1 > 0)
    dX, dW, db1 = linear_backward(dZ1, X, W)
    return dU, db2, dW, db1, dX / m  # the mean loss divides by m
