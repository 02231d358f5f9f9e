"""Broken: Python 2."""
import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = np.dot(W, x) + b1
    print "z has shape", z.shape
    return z
