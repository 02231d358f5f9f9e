"""CS231n assignment 2 fc_net-style TwoLayerNet: keyword constructor, self.reg, 0.5*reg."""
import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        X2 = X.reshape(X.shape[0], -1)
        a = X2.dot(W1) + b1
        h = np.maximum(0, a)
        scores = h.dot(W2) + b2
        if y is None:
            return scores
        N = X.shape[0]
        s = scores - scores.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(N), y].mean() + 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = np.exp(logp)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W2": h.T.dot(dscores) + self.reg * W2, "b2": dscores.sum(0)}
        dh = dscores.dot(W2.T)
        da = dh * (a > 0)
        grads["W1"] = X2.T.dot(da) + self.reg * W1
        grads["b1"] = da.sum(0)
        return loss, grads
