"""Broken: the function has another name."""

import numpy as np


def grads(x, y, W, b1, U, b2):
    return np.zeros(3)
