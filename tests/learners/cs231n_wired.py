"""Wiring my CS231n layer functions into the contract, graded by
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
