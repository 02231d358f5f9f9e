"""Broken: numpy used, never imported."""


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    return np.maximum(z, 0)
