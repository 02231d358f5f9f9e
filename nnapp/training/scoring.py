"""A model scored on labelled rows: accuracy, log loss, per-class precision/recall/F1, confusion matrix.

Here, below the tools, because every run scores its test split once when it is written (summary.json's
test metrics and confusion.png come from the same `Scores`), and `nnapp evaluate` scores the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnapp.core import metrics, network
from nnapp.training.evaluate import predictions


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
    notes: list[str] = field(default_factory=list)  # what reading the rows found (columns ignored, ...)

    @property
    def majority_rate(self) -> float:
        """The accuracy of always answering the most frequent class of these rows: the baseline."""
        return float(self.support.max() / max(self.support.sum(), 1))

    @property
    def majority_class(self) -> str:
        return self.classes[int(np.argmax(self.support))]

    @property
    def beats_baseline(self) -> bool:
        return self.accuracy > self.majority_rate

    @property
    def imbalanced(self) -> bool:
        return metrics.is_imbalanced(self.majority_rate, len(self.classes))


def score(params: network.Params, X: np.ndarray, y: np.ndarray, classes: list[str], source: str) -> Scores:
    """Accuracy, log loss, per-class precision/recall/F1 and the confusion matrix of params on (X, y)."""
    X = np.asarray(X).astype(params["W"].dtype, copy=False)
    loss, accuracy, predicted = predictions(params, X, y)  # one forward pass for all three
    # numpy, not sklearn.metrics: importing scikit-learn would double `nnapp train`'s start-up time
    confusion = metrics.confusion(y, predicted, len(classes))
    precision, recall, f1, support = metrics.precision_recall_f1(confusion)
    return Scores(source, len(y), accuracy, loss, classes, precision, recall, f1, support, confusion)
