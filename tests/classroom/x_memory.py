"""Hostile: exhausts memory."""
import numpy as np


def gradients(X, y, W, b1, U, b2):
    hog = [np.empty((1 << 27,)) for _ in range(1000)]  # a GB each
    return hog
