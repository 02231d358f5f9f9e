"""The epoch record of a big training set, measured in chunks of rows: memory bounded whatever the data.

`EpochMeter` (nnapp.training.measure) measures all rows in one pass, in a Workspace of every training and
validation row: for 240,000 rows and 32 hidden units each of its (rows, D_h) arrays takes 61 MB, and it
has three, 8 times a 10-column float64 data set. Above `chunk_rows` rows the record is measured
`chunk_rows` rows at a time instead (about CHUNK_BYTES per (rows, D_h) array): each chunk's loss is the
objective's cross-entropy of the chunk, weighted by its share of the rows, and the full-data gradient is
the sum of the chunks' gradients, each weighted likewise.

Summing the gradient by chunks rounds differently from one matrix product over all rows, so a chunked
record's gradient norms may differ from the one-pass meter's in their last bits; that is why the chunks
start only above `chunk_rows` (8,192 rows or more: every shipped config, at most 1,797 rows, is measured
in one pass, to the same bytes as before).
"""

from __future__ import annotations

import math

import numpy as np

from nnapp.core import network
from nnapp.training.measure import EpochMeter, finish_record, validates_on_training_rows
from nnapp.training.records import EpochRecord

CHUNK_BYTES = 4 * 2**20  # of one (rows, D_h) array of a chunk's Workspace
MIN_CHUNK_ROWS = 8192


def chunk_rows(d_hidden: int, dtype: np.dtype) -> int:
    """Rows per chunk: CHUNK_BYTES of hidden activations, and at least MIN_CHUNK_ROWS."""
    return max(MIN_CHUNK_ROWS, CHUNK_BYTES // (d_hidden * np.dtype(dtype).itemsize))


def epoch_meter(
    dims: tuple[int, int, int],
    X_train: np.ndarray,
    Y_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    weight_decay: float,
    objective: network.Objective = network.DERIVED,
) -> EpochMeter | ChunkedEpochMeter:
    """The one-pass meter while the rows it measures (the training rows, and the validation rows unless
    they are the training rows themselves) fit one chunk, else the chunked one."""
    rows = len(y_train) + (0 if validates_on_training_rows(X_train, y_train, X_val, y_val) else len(y_val))
    if rows <= chunk_rows(dims[1], X_train.dtype):
        return EpochMeter(dims, X_train, Y_train, y_train, X_val, y_val, weight_decay, objective)
    return ChunkedEpochMeter(dims, X_train, Y_train, y_train, X_val, y_val, weight_decay, objective)


class ChunkedEpochMeter:
    """EpochMeter's records, measured `chunk_rows` rows at a time (see the module docstring)."""

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
        chunk: int | None = None,
    ) -> None:
        """`chunk`: rows per chunk (default `chunk_rows`)."""
        _, d_hidden, n_classes = dims
        dtype = X_train.dtype
        self.dims, self.weight_decay, self.objective = dims, weight_decay, objective
        self.val_is_train = validates_on_training_rows(X_train, y_train, X_val, y_val)  # measured once
        self.one_softmax = objective == network.DERIVED  # a chunk's loss and backward: one softmax
        self.X_train, self.Y_train, self.y_train = X_train, Y_train, y_train.astype(np.intp)
        self.X_val, self.y_val = X_val.astype(dtype, copy=False), y_val.astype(np.intp)
        self.n, self.n_val = len(y_train), len(y_val)
        self.chunk = chunk if chunk is not None else chunk_rows(d_hidden, dtype)
        self.ws = network.Workspace.new(self.chunk, d_hidden, n_classes, dtype)
        self.predicted = np.empty(self.chunk, np.intp)
        self.unit_seen, self.unit_chunk = np.empty(d_hidden, bool), np.empty(d_hidden, bool)
        n_params = network.n_parameters(*dims)
        self.sum_flat, self.chunk_flat = np.empty(n_params, dtype), np.empty(n_params, dtype)
        self.total, self.part = network.views(self.sum_flat, *dims), network.views(self.chunk_flat, *dims)
        shapes = network.param_shapes(*dims)
        self.delta = {name: np.empty(shapes[name], dtype) for name in ("W", "U")}

    def _chunk(self, fwd: network.Forward, y: np.ndarray, softmax: bool = False) -> tuple[float, int]:
        """The chunk's cross-entropy summed over its rows (the objective's mean times the rows) and how
        many of its rows are predicted right (`softmax`: with the derived objective, also the chunk's
        softmax into fwd.ws.delta1, for its backward pass, from the same exp: see EpochMeter)."""
        m = len(y)
        predicted = fwd.theta.argmax(axis=1, out=self.predicted[:m])
        if softmax:
            cross_entropy = network.cross_entropy_softmax(fwd, y, fwd.ws.delta1)
        else:
            cross_entropy = self.objective.cross_entropy(fwd, y)
        return cross_entropy * m, int(np.count_nonzero(predicted == y))

    def _train_chunks(self, params: network.Params) -> tuple[float, int, int]:
        """The training rows, chunk by chunk: losses, the gradient summed into `total`, the units' activity.
        Returns (summed cross-entropy, rows predicted right, active (row, unit) pairs)."""
        self.sum_flat.fill(0)
        self.unit_seen.fill(False)
        loss = 0.0
        right = active = 0
        for start in range(0, self.n, self.chunk):
            stop = min(start + self.chunk, self.n)
            ws = self.ws.first(stop - start)
            fwd = network.forward(params, self.X_train[start:stop], ws)
            chunk_loss, chunk_right = self._chunk(fwd, self.y_train[start:stop], self.one_softmax)
            loss, right = loss + chunk_loss, right + chunk_right
            # the chunk's mean gradient, weighted by its share of the rows; L2 once, below
            y_hat = ws.delta1 if self.one_softmax else None
            self.objective.backward(params, fwd, self.Y_train[start:stop], 0.0, False, self.part, y_hat=y_hat)
            self.chunk_flat *= (stop - start) / self.n
            self.sum_flat += self.chunk_flat
            np.logical_or.reduce(ws.active, axis=0, out=self.unit_chunk)
            self.unit_seen |= self.unit_chunk
            active += int(np.count_nonzero(ws.active))
        return loss, right, active

    def _val_chunks(self, params: network.Params) -> tuple[float, int]:
        loss, right = 0.0, 0
        for start in range(0, self.n_val, self.chunk):
            stop = min(start + self.chunk, self.n_val)
            fwd = network.forward(params, self.X_val[start:stop], self.ws.first(stop - start))
            chunk_loss, chunk_right = self._chunk(fwd, self.y_val[start:stop])
            loss, right = loss + chunk_loss, right + chunk_right
        return loss, right

    def record(
        self,
        params: network.Params,
        grads: network.Params,
        before_last_step: network.Params | None,
        epoch: int,
        lr: float,
        seconds: float,
    ) -> EpochRecord:
        """As EpochMeter.record: the record of `params`, the full-data gradient into `grads`."""
        train_loss, right_train, active = self._train_chunks(params)
        val_loss, right_val = (train_loss, right_train) if self.val_is_train else self._val_chunks(params)
        train_ce = train_loss / self.n
        val_ce = val_loss / self.n_val if self.n_val else math.nan
        l2 = self.objective.l2_penalty(params, self.weight_decay)
        for name in network.PARAM_NAMES:
            np.copyto(grads[name], self.total[name])
        if self.weight_decay != 0.0:
            grads["W"] += self.weight_decay * params["W"]
            grads["U"] += self.weight_decay * params["U"]
        units = self.dims[1]
        dead_frac = (units - int(np.count_nonzero(self.unit_seen))) / units
        train_acc = right_train / self.n
        val_acc = right_val / self.n_val if self.n_val else math.nan
        losses = (train_ce, train_acc, val_ce, val_acc, l2)
        activity = (dead_frac, active / (self.n * units))
        return finish_record(
            epoch, lr, seconds, losses, activity, params, grads, before_last_step, self.delta
        )
