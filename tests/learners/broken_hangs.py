"""Broken: never returns."""


def gradients(x, y, W, b1, U, b2):
    while True:
        pass
