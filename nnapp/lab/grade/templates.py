"""Starting files for `nnapp grade --template NAME`: the contract in the docstring, the backward to write."""

from __future__ import annotations

from nnapp.errors import ChoiceError

COLUMN = '''"""My derivation, graded by `nnapp grade this_file.py`.

Contract (one example, column vectors, as docs/gradients.md derives it):
    x (D_x, 1), y one-hot (N_c, 1), W (D_h, D_x), b1 (D_h, 1), U (N_c, D_h), b2 (N_c, 1)
    z = W x + b1, h = ReLU(z), theta = U h + b2, y_hat = softmax(theta), J = -sum(y * log(y_hat))
Return the five gradients of J, each in its parameter's shape (dx in x's): a dict with keys
U, b2, W, b1, x, or a tuple in that order. No penalty term.
"""
import numpy as np


def gradients(x, y, W, b1, U, b2):
    z = W @ x + b1
    h = np.maximum(z, 0)
    theta = U @ h + b2
    y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
    # step 1: delta1 = ...   step 2: dU, db2   step 3: delta2 = ...   step 4: dW, db1   step 5: dx
    dU, db2, dW, db1, dx = (np.zeros_like(a) for a in (U, b2, W, b1, x))
    return {"U": dU, "b2": db2, "W": dW, "b1": db1, "x": dx}
'''

ROWS = '''"""My derivation, graded by `nnapp grade this_file.py --layout rows`.

Contract (a batch, rows are examples; nnapp's own convention):
    X (B, D_x), y integer labels (B,), W (D_h, D_x), b1 (D_h,), U (N_c, D_h), b2 (N_c,)
    Z = X W^T + b1, H = ReLU(Z), Theta = H U^T + b2, Y_hat = softmax over each row,
    J = the MEAN over the batch of -log Y_hat[i, y_i]
Return the five gradients of J, each in its parameter's shape (dX in X's): a dict with keys
U, b2, W, b1, x, or a tuple in that order. No penalty term.
"""
import numpy as np


def gradients(X, y, W, b1, U, b2):
    B = X.shape[0]
    Z = X @ W.T + b1
    H = np.maximum(Z, 0)
    Theta = H @ U.T + b2
    Theta = Theta - Theta.max(axis=1, keepdims=True)
    Y_hat = np.exp(Theta) / np.exp(Theta).sum(axis=1, keepdims=True)
    Y = np.eye(U.shape[0])[y]
    # step 1: Delta1 = ...   step 2: dU, db2   step 3: Delta2 = ...   step 4: dW, db1   step 5: dX
    dU, db2, dW, db1, dX = (np.zeros_like(a) for a in (U, b2, W, b1, X))
    return {"U": dU, "b2": db2, "W": dW, "b1": db1, "x": dX}
'''

COLUMNS = '''"""My derivation (examples as columns, as the Deep Learning Specialization writes it), graded by
`nnapp grade this_file.py --layout columns`.

Contract: X (n_x, m), Y one-hot (n_y, m), W (n_h, n_x), b1 (n_h, 1), U (n_y, n_h), b2 (n_y, 1)
    Z1 = W X + b1, A1 = ReLU(Z1), Z2 = U A1 + b2, A2 = softmax over each column,
    J = the MEAN over the m examples of the cross-entropy.
Return dU, db2, dW, db1, dX (each in its array's shape) as a dict with keys U, b2, W, b1, x or a tuple
in that order. Note: the course propagates dA_prev = W^T dZ unscaled; the mean's dJ/dX is that / m.
"""
import numpy as np


def gradients(X, Y, W, b1, U, b2):
    m = X.shape[1]
    Z1 = W @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = U @ A1 + b2
    A2 = np.exp(Z2 - Z2.max(axis=0)) / np.exp(Z2 - Z2.max(axis=0)).sum(axis=0)
    # dZ2 = ...; dU = ...; db2 = ...; dA1 = ...; dZ1 = ...; dW = ...; db1 = ...; dX = ...
    dU, db2, dW, db1, dX = (np.zeros_like(a) for a in (U, b2, W, b1, X))
    return {"U": dU, "b2": db2, "W": dW, "b1": db1, "x": dX}
'''

CS231N_LAYERS = '''"""Wiring my CS231n layer functions into the contract, graded by
`nnapp grade this_file.py --layout rows --weights in-out`.

Put this file next to my layers file (named layers.py here; change the import to its name).
Contract: X (N, D), y integer labels (N,), W1 (D, H), b1 (H,), W2 (H, C), b2 (C,);
loss = softmax_loss of the scores, the MEAN over the batch, no regularization.
Returns the gradients of W1, b1, W2, b2 and X, each in its array's shape.
"""
from layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


def gradients(X, y, W1, b1, W2, b2):
    hidden, affine1_cache = affine_forward(X, W1, b1)
    hidden, relu_cache = relu_forward(hidden)
    scores, affine2_cache = affine_forward(hidden, W2, b2)
    loss, dscores = softmax_loss(scores, y)
    dhidden, dW2, db2 = affine_backward(dscores, affine2_cache)
    dhidden = relu_backward(dhidden, relu_cache)
    dX, dW1, db1 = affine_backward(dhidden, affine1_cache)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "x": dX}
'''

CS231N_TWOLAYER = '''"""My CS231n-style two-layer net, graded by
`nnapp grade this_file.py:TwoLayerNet.loss --layout rows --weights in-out --tensors U,b2,W,b1`.

nnapp makes TwoLayerNet(D, H, C), sets self.params = {"W1" (D, H), "b1" (H,), "W2" (H, C), "b2" (C,)} and
calls loss(X, y, reg=0.0): it must return (loss, grads) with grads keyed W1, b1, W2, b2, where loss is the
MEAN cross-entropy of the batch. The loss is graded too.
"""
import numpy as np


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {
            "W1": std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def loss(self, X, y, reg=0.0):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N = X.shape[0]
        hidden = np.maximum(X @ W1 + b1, 0)
        scores = hidden @ W2 + b2
        scores = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {k: np.zeros_like(v) for k, v in self.params.items()}  # the backward pass goes here
        return loss, grads
'''

TEMPLATES = {
    "column": COLUMN,
    "rows": ROWS,
    "columns": COLUMNS,
    "cs231n-layers": CS231N_LAYERS,
    "cs231n-twolayer": CS231N_TWOLAYER,
}


def template(name: str) -> str:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ChoiceError("template", name, tuple(TEMPLATES)) from None
