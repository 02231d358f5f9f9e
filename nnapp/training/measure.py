"""Each epoch's record at its end weights, measured in buffers allocated once per run (the loss's
log-normaliser apart: the objective's cross-entropy allocates its own).

One forward pass over the training rows and the validation rows together (one Workspace, stacked
rows) serves both splits' loss and accuracy; one backward pass over the training rows gives the
full-data gradient, its per-tensor norms and, in `Workspace.active` (z > 0), the dead and active
hidden units. The loss and the backward pass are the run's `network.Objective`: the same cross-entropy
and penalty the gradient check differentiates, and the backward pass the steps take.

With the derived objective (network.DERIVED), the training rows' cross-entropy and the backward pass share
one softmax (network.cross_entropy_softmax): the same numbers as each computing its own.

Validation rows that are the training rows themselves (the very arrays: nnapp.Classifier without early
stopping validates on every training row) are measured once: their loss and accuracy are the training
rows', which the same pass over the same rows would give again, at twice the cost.
"""

from __future__ import annotations

import math

import numpy as np

from nnapp.core import network
from nnapp.training.records import EpochRecord


def validates_on_training_rows(
    X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray
) -> bool:
    """Whether the validation rows are the training rows themselves: the same arrays, not equal copies."""
    return X_val is X_train and y_val is y_train


def unit_activity(active: np.ndarray, column: np.ndarray | None = None) -> tuple[float, float]:
    """(dead_frac, active_frac) of a (rows, D_h) boolean array of z > 0: the fraction of hidden units
    active on no row, and the mean over rows of the fraction of units active (`column`, a (D_h,)
    boolean array, receives which units are active on some row)."""
    rows, units = active.shape
    # logical_or.reduce, not np.any: np.any's Python wrapper costs per epoch (benchmarks/hot_path.md)
    dead = units - int(np.count_nonzero(np.logical_or.reduce(active, axis=0, out=column)))
    return dead / units, int(np.count_nonzero(active)) / (rows * units)


def update_ratio(after: np.ndarray, before: np.ndarray, out: np.ndarray | None = None) -> float:
    """||after - before|| / ||after||: how far one step moved a tensor, relative to its size
    (`out`, of their shape, receives the difference)."""
    delta = np.subtract(after, before, out=out)
    norm = math.sqrt(np.vdot(after, after))
    return math.sqrt(np.vdot(delta, delta)) / norm if norm > 0 else math.inf


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
        objective: network.Objective = network.DERIVED,
    ) -> None:
        d_in, d_hidden, n_classes = dims
        dtype = X_train.dtype
        self.val_is_train = validates_on_training_rows(X_train, y_train, X_val, y_val)
        if self.val_is_train:
            X_val, y_val = X_train[:0], y_train[:0]  # measured once, as the training rows
        self.n, self.n_val, self.weight_decay = len(y_train), len(y_val), weight_decay
        self.objective = objective
        self.one_softmax = objective == network.DERIVED  # the derived loss and backward: one softmax for both
        rows, n = self.n + self.n_val, self.n
        self.X_all = np.concatenate([X_train, X_val.astype(dtype, copy=False)]).reshape(rows, d_in)
        self.y_all = np.concatenate([y_train, y_val]).astype(np.intp)
        self.y_train, self.y_val = self.y_all[:n], self.y_all[n:]
        ws = self.ws = network.Workspace.new(rows, d_hidden, n_classes, dtype)
        train_ws = ws.first(n)
        self.train_fwd = network.Forward(self.X_all[:n], train_ws.z, train_ws.h, train_ws.theta, train_ws)
        self.val_fwd = network.Forward(self.X_all[n:], ws.z[n:], ws.h[n:], ws.theta[n:], ws)
        self.Y_train = Y_train
        self.predicted = np.empty(rows, np.intp)
        self.correct = np.empty(rows, bool)
        self.correct_train, self.correct_val = self.correct[:n], self.correct[n:]
        self.unit_seen = np.empty(d_hidden, bool)
        shapes = network.param_shapes(*dims)
        self.delta = {name: np.empty(shapes[name], dtype) for name in ("W", "U")}

    def losses(self, params: network.Params) -> tuple[float, float, float, float]:
        """(train cross-entropy, train accuracy, val cross-entropy, val accuracy) from one forward
        pass over both splits, by the objective's cross-entropy."""
        network.forward(params, self.X_all, self.ws)
        cross_entropy = self.objective.cross_entropy
        if self.one_softmax:  # the training rows' softmax, into delta1, for record's backward pass
            train_ce = network.cross_entropy_softmax(self.train_fwd, self.y_train, self.train_fwd.ws.delta1)
        else:
            train_ce = cross_entropy(self.train_fwd, self.y_train)
        self.ws.theta.argmax(axis=1, out=self.predicted)
        np.equal(self.predicted, self.y_all, out=self.correct)
        train_acc = int(np.count_nonzero(self.correct_train)) / self.n
        if self.val_is_train:
            return train_ce, train_acc, train_ce, train_acc
        if self.n_val == 0:
            return train_ce, train_acc, math.nan, math.nan
        val_acc = int(np.count_nonzero(self.correct_val)) / self.n_val
        return train_ce, train_acc, cross_entropy(self.val_fwd, self.y_val), val_acc

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
        l2 = self.objective.l2_penalty(params, self.weight_decay)
        fwd = self.train_fwd
        y_hat = fwd.ws.delta1 if self.one_softmax else None  # the softmax `losses` computed
        self.objective.backward(params, fwd, self.Y_train, self.weight_decay, False, grads, y_hat=y_hat)
        # backward wrote z > 0 over the training rows into the Workspace
        dead_frac, active_frac = unit_activity(fwd.ws.active, self.unit_seen)
        losses = (train_ce, train_acc, val_ce, val_acc, l2)
        return finish_record(
            epoch, lr, seconds, losses, (dead_frac, active_frac), params, grads, before_last_step, self.delta
        )


def finish_record(
    epoch: int,
    lr: float,
    seconds: float,
    losses: tuple[float, float, float, float, float],
    units: tuple[float, float],
    params: network.Params,
    grads: network.Params,
    before_last_step: network.Params | None,
    delta: dict[str, np.ndarray],
) -> EpochRecord:
    """The EpochRecord of measured `losses` (train CE, train accuracy, val CE, val accuracy, L2) and
    `units` (dead, active fractions), with the full-data gradient's norms and the last step's update
    ratios (`delta`: scratch arrays for W and U); both epoch meters end here."""
    train_ce, train_acc, val_ce, val_acc, l2 = losses
    sq_W, sq_b1 = float(np.vdot(grads["W"], grads["W"])), float(np.vdot(grads["b1"], grads["b1"]))
    sq_U, sq_b2 = float(np.vdot(grads["U"], grads["U"])), float(np.vdot(grads["b2"], grads["b2"]))
    ratio_W = ratio_U = 0.0  # epoch 0: no step has moved the weights yet
    if before_last_step is not None:
        ratio_W = update_ratio(params["W"], before_last_step["W"], delta["W"])
        ratio_U = update_ratio(params["U"], before_last_step["U"], delta["U"])
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
        *units,
        math.sqrt(sq_W),
        math.sqrt(sq_b1),
        math.sqrt(sq_U),
        math.sqrt(sq_b2),
        ratio_W,
        ratio_U,
    )
