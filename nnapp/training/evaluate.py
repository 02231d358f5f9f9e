"""Loss and accuracy of given weights on given rows: what each epoch records and each run reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnapp.core import network
from nnapp.data.datasets import Dataset


def evaluate(
    params: network.Params, X: np.ndarray, y: np.ndarray, weight_decay: float = 0.0
) -> tuple[float, float]:
    """(cross-entropy + L2, accuracy) of params on (X, y)."""
    fwd = network.forward(params, X)
    loss = network.cross_entropy(fwd, y) + network.l2_penalty(params, weight_decay)
    return loss, float(np.mean(np.argmax(fwd.theta, axis=1) == y))


def summary_metrics(params: network.Params, data: Dataset) -> dict[str, Any]:
    """Final cross-entropy loss (no L2 term) and accuracy on each split."""
    out: dict[str, Any] = {}
    for split in ("train", "val", "test"):
        X, y = data.split(split)
        loss, acc = evaluate(params, X.astype(params["W"].dtype, copy=False), y)
        out[f"{split}_loss"], out[f"{split}_acc"] = loss, acc
    return out
