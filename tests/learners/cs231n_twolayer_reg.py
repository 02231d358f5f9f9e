"""CS231n TwoLayerNet with reg in loss and gradients (reg * sum W^2, 2 reg W)."""
import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {
            "W1": std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N = X.shape[0]
        a1 = X.dot(W1) + b1
        hidden = np.maximum(0, a1)
        scores = hidden.dot(W2) + b2
        if y is None:
            return scores
        shifted = scores - np.max(scores, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        probs = np.exp(log_probs)
        loss = -np.mean(log_probs[np.arange(N), y]) + reg * (np.sum(W1**2) + np.sum(W2**2))
        dscores = probs
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {}
        grads["W2"] = hidden.T.dot(dscores) + 2 * reg * W2
        grads["b2"] = dscores.sum(axis=0)
        dh = dscores.dot(W2.T) * (a1 > 0)
        grads["W1"] = X.T.dot(dh) + 2 * reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads
