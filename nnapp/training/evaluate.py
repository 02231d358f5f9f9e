"""Loss and accuracy of given weights on given rows: what each epoch records and each run reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnapp.core import network
from nnapp.data.datasets import Dataset

# A forward pass over more rows than this goes in chunks of this many: its (rows, D_h) arrays would
# take 46 MB for 180,000 training rows and 32 hidden units, twice the data's own size at 10 columns.
# Up to it, one pass as always: BLAS may round a row differently in a product of other row counts, and
# every shipped config (at most 1,797 rows) keeps its bytes.
EVAL_CHUNK_ROWS = 16384


def predictions(
    params: network.Params, X: np.ndarray, y: np.ndarray, weight_decay: float = 0.0
) -> tuple[float, float, np.ndarray]:
    """(cross-entropy + L2, accuracy, the predicted classes) of params on (X, y), in one forward pass
    (by chunks of EVAL_CHUNK_ROWS rows above that many)."""
    l2 = network.l2_penalty(params, weight_decay)
    if len(X) <= EVAL_CHUNK_ROWS:
        fwd = network.forward(params, X)
        predicted = np.argmax(fwd.theta, axis=1)
        return network.cross_entropy(fwd, y) + l2, float(np.mean(predicted == y)), predicted
    row_loss, predicted = np.empty(len(X), np.result_type(X, params["W"])), np.empty(len(X), np.intp)
    for start in range(0, len(X), EVAL_CHUNK_ROWS):
        part = slice(start, start + EVAL_CHUNK_ROWS)
        fwd = network.forward(params, X[part])
        row_loss[part] = fwd.log_norm - fwd.theta[np.arange(len(fwd.theta)), y[part]]
        np.argmax(fwd.theta, axis=1, out=predicted[part])
    return float(np.mean(row_loss)) + l2, float(np.mean(predicted == y)), predicted


def evaluate(
    params: network.Params, X: np.ndarray, y: np.ndarray, weight_decay: float = 0.0
) -> tuple[float, float]:
    """(cross-entropy + L2, accuracy) of params on (X, y)."""
    loss, accuracy, _ = predictions(params, X, y, weight_decay)
    return loss, accuracy


def summary_metrics(params: network.Params, data: Dataset) -> dict[str, Any]:
    """Final cross-entropy loss (no L2 term) and accuracy on each split."""
    out: dict[str, Any] = {}
    for split in ("train", "val", "test"):
        X, y = data.split(split)
        loss, acc = evaluate(params, X.astype(params["W"].dtype, copy=False), y)
        out[f"{split}_loss"], out[f"{split}_acc"] = loss, acc
    return out
