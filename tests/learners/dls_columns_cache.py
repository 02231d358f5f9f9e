"""Deep Learning Specialization style, examples as columns, forward/backward with cache."""
import numpy as np


def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def forward_propagation(X, parameters):
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
    Z1 = np.dot(W1, X) + b1
    A1 = np.maximum(0, Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = softmax(Z2)
    return A2, (Z1, A1, Z2, A2)


def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    W1, W2 = parameters["W1"], parameters["W2"]
    Z1, A1, Z2, A2 = cache
    dZ2 = A2 - Y
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = dA1 * (Z1 > 0)
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    dA0 = np.dot(W1.T, dZ1)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dA0": dA0}


def gradients(X, Y, W, b1, U, b2):
    parameters = {"W1": W, "b1": b1, "W2": U, "b2": b2}
    A2, cache = forward_propagation(X, parameters)
    g = backward_propagation(parameters, cache, X, Y)
    return g["dW2"], g["db2"], g["dW1"], g["db1"], g["dA0"]
