"""A student who writes everything with np.einsum."""
import numpy as np


def gradients(X, y, W, b1, U, b2):
    B = X.shape[0]
    Z = np.einsum("hd,bd->bh", W, X) + b1
    H = np.maximum(Z, 0)
    T = np.einsum("ch,bh->bc", U, H) + b2
    T = T - T.max(axis=1, keepdims=True)
    P = np.exp(T) / np.exp(T).sum(axis=1, keepdims=True)
    Y = np.eye(U.shape[0])[y]
    D1 = (P - Y) / B
    D2 = np.einsum("bc,ch->bh", D1, U) * (Z > 0)
    return {
        "U": np.einsum("bc,bh->ch", D1, H),
        "b2": np.einsum("bc->c", D1),
        "W": np.einsum("bh,bd->hd", D2, X),
        "b1": np.einsum("bh->h", D2),
        "x": np.einsum("bh,hd->bd", D2, W),
    }
