"""Broken: never returns."""


def gradients(X, y, W, b1, U, b2):
    while True:
        pass
