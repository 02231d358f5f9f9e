"""Each epoch's record at its end weights, measured in buffers allocated once per run.

One forward pass over the training rows and the validation rows together (one Workspace, stacked
rows) serves both splits' loss and accuracy; one backward pass over the training rows gives the
full-data gradient, its per-tensor norms and, in `Workspace.active` (z > 0), the dead and active
hidden units. After construction nothing that grows with the data is allocated per epoch.

The backward pass is network.backward, given the softmax that the loss's exponentials and row sums
already make (a test holds it equal bit for bit to network.backward computing it): the softmax is not
evaluated twice. The per-epoch record costs as much as an
epoch's steps over the training rows plus a forward pass over the validation rows (the steps'
per-call overhead aside), so this arithmetic, not its Python, is what remains of it.
"""

from __future__ import annotations

import math

import numpy as np

from nnapp.core import network
from nnapp.training.records import EpochRecord


def unit_activity(active: np.ndarray, column: np.ndarray | None = None) -> tuple[float, float]:
    """(dead_frac, active_frac) of a (rows, D_h) boolean array of z > 0: the fraction of hidden units
    active on no row, and the mean over rows of the fraction of units active (`column`, a (D_h,)
    boolean array, receives which units are active on some row)."""
    rows, units = active.shape
    # logical_or.reduce is np.any without its Python wrapper (a quarter of its cost at iris's sizes)
    dead = units - int(np.count_nonzero(np.logical_or.reduce(active, axis=0, out=column)))
    return dead / units, int(np.count_nonzero(active)) / (rows * units)


def update_ratio(after: np.ndarray, before: np.ndarray, out: np.ndarray | None = None) -> float:
    """||after - before|| / ||after||: how far one step moved a tensor, relative to its size
    (`out`, of their shape, receives the difference)."""
    delta = np.subtract(after, before, out=out)
    norm = math.sqrt(np.vdot(after, after))
    return math.sqrt(np.vdot(delta, delta)) / norm if norm > 0 else math.inf


def mean(x: np.ndarray) -> float:
    """np.mean of a 1-D float array, by np.mean's own arithmetic (numpy/_core/_methods.py: the sum,
    divided by the count as an intp, cast back to the array's dtype) without its Python layers."""
    total = np.add.reduce(x)
    return float(total.dtype.type(total / np.intp(len(x))))


# Up to this many classes the row maxima are taken column by column: np.max along a short last axis
# runs numpy's inner loop once per row (58 us for digits' 1437 x 10 logits, 15 us by columns).
ROW_MAX_BY_COLUMNS = 32


def row_max(theta: np.ndarray, out: np.ndarray) -> np.ndarray:
    """np.max(theta, axis=1, out=out): a maximum is exact in any order, and np.maximum propagates NaN
    as np.max does."""
    classes = theta.shape[1]
    if classes > ROW_MAX_BY_COLUMNS or classes < 2:
        return np.max(theta, axis=1, out=out)
    np.maximum(theta[:, 0], theta[:, 1], out=out)
    for k in range(2, classes):
        np.maximum(out, theta[:, k], out=out)
    return out


class EpochMeter:
    """Measures EpochRecords for one run's training and validation rows (see the module docstring)."""

    def __init__(
        self,
        dims: tuple[int, int, int],
        X_train: np.ndarray,
        Y_train: np.ndarray,
        y_train: np.ndarray,
        X_val: np.ndarray,
        y_val: np.ndarray,
        weight_decay: float,
    ) -> None:
        d_in, d_hidden, n_classes = dims
        dtype = X_train.dtype
        self.n, self.n_val, self.weight_decay = len(y_train), len(y_val), weight_decay
        rows = self.n + self.n_val
        self.X_all = np.concatenate([X_train, X_val.astype(dtype, copy=False)]).reshape(rows, d_in)
        self.y_all = np.concatenate([y_train, y_val]).astype(np.intp)
        self.ws = network.Workspace.new(rows, d_hidden, n_classes, dtype)
        train_ws = self.ws.first(self.n)
        self.train_fwd = network.Forward(
            self.X_all[: self.n], train_ws.z, train_ws.h, train_ws.theta, train_ws
        )
        self.Y_train = Y_train
        self.target = np.arange(rows) * n_classes + self.y_all  # theta.ravel()[target] = theta[i, y_i]
        self.row_max = np.empty(rows, dtype)
        self.row_sum = np.empty(rows, dtype)
        self.row_loss = np.empty(rows, dtype)
        self.picked = np.empty(rows, dtype)
        self.predicted = np.empty(rows, np.intp)
        self.correct = np.empty(rows, bool)
        self.unit_seen = np.empty(d_hidden, bool)
        # views taken once: each slice or [:, None] costs a Python-level call per epoch
        n = self.n
        self.theta_flat, self.exp_train = self.ws.theta.reshape(-1), self.ws.delta1[:n]
        self.row_max_col, self.sum_train_col = self.row_max[:, None], self.row_sum[:n, None]
        self.loss_train, self.loss_val = self.row_loss[:n], self.row_loss[n:]
        self.correct_train, self.correct_val = self.correct[:n], self.correct[n:]
        shapes = network.param_shapes(*dims)
        self.delta = {name: np.empty(shapes[name], dtype) for name in ("W", "U")}

    def losses(self, params: network.Params) -> tuple[float, float, float, float]:
        """(train cross-entropy, train accuracy, val cross-entropy, val accuracy) from one forward
        pass over both splits: CE_i = logsumexp(theta_i) - theta[i, y_i], never log(y_hat).
        Leaves exp(theta - rowmax) in ws.delta1 and its row sums in row_sum, for the backward pass."""
        ws = self.ws
        network.forward(params, self.X_all, ws)
        theta, scratch, row = ws.theta, ws.delta1, self.row_loss
        row_max(theta, self.row_max)
        np.subtract(theta, self.row_max_col, out=scratch)
        np.exp(scratch, out=scratch)
        np.add.reduce(scratch, axis=1, out=self.row_sum)  # np.sum without its Python layer
        np.log(self.row_sum, out=row)
        row += self.row_max
        # mode='clip' (the targets are in range): take's default mode='raise' buffers `out`, a new array
        self.theta_flat.take(self.target, out=self.picked, mode="clip")
        row -= self.picked
        theta.argmax(axis=1, out=self.predicted)
        np.equal(self.predicted, self.y_all, out=self.correct)
        train_ce = mean(self.loss_train)
        train_acc = int(np.count_nonzero(self.correct_train)) / self.n
        if self.n_val == 0:
            return train_ce, train_acc, math.nan, math.nan
        val_acc = int(np.count_nonzero(self.correct_val)) / self.n_val
        return train_ce, train_acc, mean(self.loss_val), val_acc

    def record(
        self,
        params: network.Params,
        grads: network.Params,
        before_last_step: network.Params | None,
        epoch: int,
        lr: float,
        seconds: float,
    ) -> EpochRecord:
        """The record of `params` (the epoch's end weights); `grads` receives the full-data gradient;
        `before_last_step`: the weights before the epoch's last step (None at epoch 0: ratios 0)."""
        train_ce, train_acc, val_ce, val_acc = self.losses(params)
        l2 = network.l2_penalty(params, self.weight_decay)
        fwd = self.train_fwd
        # y_hat = exp(theta - rowmax) / its row sums, from the loss's own, in place in ws.delta1
        y_hat = np.divide(self.exp_train, self.sum_train_col, out=self.exp_train)
        network.backward(params, fwd, self.Y_train, self.weight_decay, False, grads, y_hat=y_hat)
        sq_W, sq_b1 = float(np.vdot(grads["W"], grads["W"])), float(np.vdot(grads["b1"], grads["b1"]))
        sq_U, sq_b2 = float(np.vdot(grads["U"], grads["U"])), float(np.vdot(grads["b2"], grads["b2"]))
        # backward wrote z > 0 over the training rows into the Workspace
        dead_frac, active_frac = unit_activity(fwd.ws.active, self.unit_seen)
        ratio_W = ratio_U = 0.0  # epoch 0: no step has moved the weights yet
        if before_last_step is not None:
            ratio_W = update_ratio(params["W"], before_last_step["W"], self.delta["W"])
            ratio_U = update_ratio(params["U"], before_last_step["U"], self.delta["U"])
        return EpochRecord(
            epoch,
            train_ce + l2,
            train_acc,
            val_ce,
            val_acc,
            train_ce,
            l2,
            lr,
            math.sqrt(sq_W + sq_b1 + sq_U + sq_b2),
            seconds,
            dead_frac,
            active_frac,
            math.sqrt(sq_W),
            math.sqrt(sq_b1),
            math.sqrt(sq_U),
            math.sqrt(sq_b2),
            ratio_W,
            ratio_U,
        )
