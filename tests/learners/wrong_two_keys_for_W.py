"""Returns dict keys W (the gradient) and W1 (the parameter itself): two keys for one gradient."""
import numpy as np
def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1; h = np.maximum(z, 0); t = U @ h + b2
    p = np.exp(t - t.max()); p /= p.sum(); d1 = p - y; d2 = (U.T @ d1) * (z > 0)
    return {"U": d1 @ h.T, "b2": d1, "W": d2 @ x.T, "b1": d2, "x": W.T @ d2, "loss": 1.0, "cache": (z, h), "W1": W}
