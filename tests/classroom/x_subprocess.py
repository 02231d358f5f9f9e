"""Hostile: runs a shell command."""
import subprocess


def gradients(X, y, W, b1, U, b2):
    subprocess.run(["sh", "-c", "echo pwned > /tmp/nnapp-pwned"], check=False)
    return {}
