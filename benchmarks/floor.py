"""The lean floor: the simplest honest numpy loop doing the arithmetic of nnapp's training step.

What a careful engineer would write inline for this one network, with nothing but the math:

    per epoch   a permutation of the rows (the same Generator call as nnapp's), gathered into
                preallocated X and Y arrays (np.take out=), so every batch is a view made once
    per step    z = X W^T + b1, h = relu(z), theta = h U^T + b2, softmax, delta1 = (y_hat - Y) / B,
                dJ/dU = delta1^T h, dJ/db2 = 1^T delta1, delta2 = delta1 U * [z > 0], dJ/dW = delta2^T X,
                dJ/db1 = 1^T delta2, + lambda W and lambda U with weight decay, then heavy-ball momentum
                on one flat vector (g <- lr g, v <- mu v - g, p <- p + v), as nnapp.core.optim does

No divergence check, no clipping, no stop request, no records: the floor is what the steps cost with
none of nnapp's safety. Each operation is the one nnapp's step uses, in the same order, into the same
dtype, so that from the same initial weights and shuffle stream the floor ends at nnapp's weights bit
for bit (bench.py checks this): it does the same arithmetic, and only the overhead around it differs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnapp.config import Config
from nnapp.data.datasets import Dataset
from nnapp.training.start import dimensions, init_state


@dataclass
class FloorRun:
    epoch_seconds: list[float]  # each epoch's shuffle, gather and steps, as EpochRecord.seconds
    flat: np.ndarray  # the last weights W, b1, U, b2 (nnapp's flat order)


def _batches(X: np.ndarray, Y: np.ndarray, batch: int, d_hidden: int) -> list[tuple[Any, ...]]:
    """Per step: views of the epoch's X and Y and of the work arrays, made once for every epoch."""
    n, n_classes, dtype = len(X), Y.shape[1], X.dtype
    z, h, d2 = (np.empty((batch, d_hidden), dtype) for _ in range(3))
    mask = np.empty((batch, d_hidden), bool)
    theta, d1 = np.empty((batch, n_classes), dtype), np.empty((batch, n_classes), dtype)
    ones = np.ones(batch, dtype)
    out = []
    for start in range(0, n, batch):
        rows = min(batch, n - start)
        step = (X[start : start + rows], Y[start : start + rows], z[:rows], h[:rows], theta[:rows])
        out.append((*step, d1[:rows], d2[:rows], mask[:rows], ones[:rows], rows))
    return out


def run_floor(cfg: Config, data: Dataset) -> FloorRun:
    o = cfg.optim
    assert o.schedule == "constant" and o.clip_norm is None and o.momentum > 0 and not o.nesterov, o
    d_in, d_hidden, n_classes = dimensions(data, cfg)
    state = init_state(cfg, data)  # nnapp's initial weights and shuffle stream: the same numbers
    flat, v, rng = state.flat, state.sgd.velocity, state.shuffle_rng
    g = np.zeros_like(flat)
    sizes = np.cumsum([d_hidden * d_in, d_hidden, n_classes * d_hidden])
    W, b1, U, b2 = np.split(flat, sizes)  # views of the flat vector the update works on
    W, U = W.reshape(d_hidden, d_in), U.reshape(n_classes, d_hidden)
    gW, gb1, gU, gb2 = np.split(g, sizes)
    gW, gU = gW.reshape(W.shape), gU.reshape(U.shape)
    X_train = np.ascontiguousarray(data.X_train, dtype=cfg.model.dtype)
    Y_train = np.eye(n_classes, dtype=cfg.model.dtype)[data.y_train]
    X, Y = np.empty_like(X_train), np.empty_like(Y_train)
    batches = _batches(X, Y, min(cfg.train.batch_size, len(X)), d_hidden)
    lr, mu, wd, n = o.lr, o.momentum, o.weight_decay, len(X)
    seconds = []
    for _ in range(cfg.train.epochs):
        started = time.perf_counter()
        order = rng.permutation(n) if cfg.train.shuffle else np.arange(n)
        np.take(X_train, order, axis=0, out=X)
        np.take(Y_train, order, axis=0, out=Y)
        for Xb, Yb, z, h, theta, d1, d2, mask, ones, B in batches:
            np.matmul(Xb, W.T, out=z)
            z += b1
            np.maximum(z, 0, out=h)
            np.matmul(h, U.T, out=theta)
            theta += b2
            np.subtract(theta, theta.max(axis=1, keepdims=True), out=d1)
            np.exp(d1, out=d1)
            d1 /= d1.sum(axis=1, keepdims=True)
            d1 -= Yb
            d1 /= B
            np.matmul(d1.T, h, out=gU)
            np.matmul(ones, d1, out=gb2)
            np.matmul(d1, U, out=d2)
            d2 *= np.greater(z, 0, out=mask)
            np.matmul(d2.T, Xb, out=gW)
            np.matmul(ones, d2, out=gb1)
            if wd:
                gW += wd * W
                gU += wd * U
            np.multiply(g, lr, out=g)
            v *= mu
            v -= g
            flat += v
        seconds.append(time.perf_counter() - started)
    return FloorRun(seconds, flat)
