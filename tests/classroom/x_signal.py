"""Hostile: signals the grader (its parent)."""
import os
import signal


def gradients(X, y, W, b1, U, b2):
    os.kill(os.getppid(), signal.SIGTERM)
    return {}
