"""A model scored on labelled rows: accuracy, log loss, per-class precision/recall/F1, confusion matrix.

Here, below the tools, because every run scores its test split once when it is written (summary.json's
test metrics and confusion.png come from the same `Scores`), and `nnapp evaluate` scores the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnapp.core import metrics, network
from nnapp.training.evaluate import evaluate as loss_and_accuracy


@dataclass(frozen=True)
class Scores:
    source: str  # "test split" or the CSV's path
    n_rows: int
    accuracy: float
    log_loss: float  # mean cross-entropy, as in summary.json (no L2 term)
    classes: list[str]  # original labels, in class-index order
    precision: np.ndarray  # per class
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray  # true rows per class
    confusion: np.ndarray  # (N_c, N_c): rows are true classes, columns predicted ones


def score(params: network.Params, X: np.ndarray, y: np.ndarray, classes: list[str], source: str) -> Scores:
    """Accuracy, log loss, per-class precision/recall/F1 and the confusion matrix of params on (X, y)."""
    X = np.asarray(X).astype(params["W"].dtype, copy=False)
    loss, accuracy = loss_and_accuracy(params, X, y)
    predicted = network.predict(params, X)
    # numpy, not sklearn.metrics: importing scikit-learn would double `nnapp train`'s start-up time
    confusion = metrics.confusion(y, predicted, len(classes))
    precision, recall, f1, support = metrics.precision_recall_f1(confusion)
    return Scores(source, len(y), accuracy, loss, classes, precision, recall, f1, support, confusion)
