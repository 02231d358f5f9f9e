"""Calls itself forever: RecursionError, its frame said once and the repeats counted."""
import numpy as np
def gradients(x, y, W, b1, U, b2):
    return gradients(x, y, W, b1, U, b2)
