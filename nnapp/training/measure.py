"""Each epoch's record at its end weights, measured in buffers allocated once per run.

One forward pass over the training rows and the validation rows together (one Workspace, stacked
rows) serves both splits' loss and accuracy; one backward pass over the training rows gives the
full-data gradient, its per-tensor norms and, in `Workspace.active` (z > 0), the dead and active
hidden units. After construction the only arrays allocated per epoch that grow with the data are the
two (rows, 1) row maxima and sums inside network.softmax, which backward (the derivation's code) calls.
"""

from __future__ import annotations

import math

import numpy as np

from nnapp.core import network
from nnapp.training.records import EpochRecord


def unit_activity(active: np.ndarray) -> tuple[float, float]:
    """(dead_frac, active_frac) of a (rows, D_h) boolean array of z > 0: the fraction of hidden units
    active on no row, and the mean over rows of the fraction of units active."""
    rows, units = active.shape
    dead = units - int(np.count_nonzero(active.any(axis=0)))
    return dead / units, int(np.count_nonzero(active)) / (rows * units)


def update_ratio(after: np.ndarray, before: np.ndarray, out: np.ndarray | None = None) -> float:
    """||after - before|| / ||after||: how far one step moved a tensor, relative to its size
    (`out`, of their shape, receives the difference)."""
    delta = np.subtract(after, before, out=out)
    norm = math.sqrt(float(np.vdot(after, after)))
    return math.sqrt(float(np.vdot(delta, delta))) / norm if norm > 0 else math.inf


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
        self.row_loss = np.empty(rows, dtype)
        self.picked = np.empty(rows, dtype)
        self.predicted = np.empty(rows, np.intp)
        self.correct = np.empty(rows, bool)
        self.delta = {name: np.empty(shape, dtype) for name, shape in network.param_shapes(*dims).items()}

    def losses(self, params: network.Params) -> tuple[float, float, float, float]:
        """(train cross-entropy, train accuracy, val cross-entropy, val accuracy) from one forward
        pass over both splits: CE_i = logsumexp(theta_i) - theta[i, y_i], never log(y_hat)."""
        n, ws = self.n, self.ws
        network.forward(params, self.X_all, ws)
        theta, scratch, row = ws.theta, ws.delta1, self.row_loss
        np.max(theta, axis=1, out=self.row_max)
        np.subtract(theta, self.row_max[:, None], out=scratch)
        np.exp(scratch, out=scratch)
        np.sum(scratch, axis=1, out=row)
        np.log(row, out=row)
        row += self.row_max
        np.take(theta.reshape(-1), self.target, out=self.picked)
        row -= self.picked
        np.argmax(theta, axis=1, out=self.predicted)
        np.equal(self.predicted, self.y_all, out=self.correct)
        train_ce = float(np.mean(row[:n]))
        train_acc = int(np.count_nonzero(self.correct[:n])) / n
        if self.n_val == 0:
            return train_ce, train_acc, math.nan, math.nan
        val_ce = float(np.mean(row[n:]))
        return train_ce, train_acc, val_ce, int(np.count_nonzero(self.correct[n:])) / self.n_val

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
        network.backward(params, self.train_fwd, self.Y_train, self.weight_decay, input_grad=False, out=grads)
        squares = {name: float(np.vdot(g, g)) for name, g in grads.items()}
        # backward wrote z > 0 over the training rows into the Workspace
        dead_frac, active_frac = unit_activity(self.train_fwd.ws.active)
        ratios = (0.0, 0.0)  # epoch 0: no step has moved the weights yet
        if before_last_step is not None:
            ratios = (
                update_ratio(params["W"], before_last_step["W"], self.delta["W"]),
                update_ratio(params["U"], before_last_step["U"], self.delta["U"]),
            )
        return EpochRecord(
            epoch,
            train_ce + l2,
            train_acc,
            val_ce,
            val_acc,
            train_ce,
            l2,
            lr,
            math.sqrt(sum(squares.values())),
            seconds,
            dead_frac=dead_frac,
            active_frac=active_frac,
            grad_norm_W=math.sqrt(squares["W"]),
            grad_norm_b1=math.sqrt(squares["b1"]),
            grad_norm_U=math.sqrt(squares["U"]),
            grad_norm_b2=math.sqrt(squares["b2"]),
            update_ratio_W=ratios[0],
            update_ratio_U=ratios[1],
        )
