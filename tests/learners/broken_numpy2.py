"""Broken: np.product is gone in NumPy 2."""

import numpy as np


def gradients(x, y, W, b1, U, b2):
    n = np.product(x.shape)
    return n
