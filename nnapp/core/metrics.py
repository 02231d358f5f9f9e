"""The confusion matrix and per-class precision, recall and F1, in numpy alone.

They equal scikit-learn's confusion_matrix and precision_recall_fscore_support(zero_division=0)
(tests compare them); they are written out because `import sklearn` costs about a second, and
`nnapp train` scores every run it writes.
"""

from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(N_c, N_c) counts: row = true class, column = predicted class."""
    cells = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(cells, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def majority_rate(y: np.ndarray, n_classes: int) -> float:
    """The share of the most frequent class in y: the accuracy of always answering that class."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    return float(counts.max() / max(len(y), 1))


# classes are "imbalanced" (per-class recall is shown beside accuracy) when the most frequent one holds at
# least this many times an even share of the rows (2 classes: 75%; 3: 50%; 10: 15%)
IMBALANCED_SHARE = 1.5


def is_imbalanced(majority: float, n_classes: int) -> bool:
    return n_classes > 1 and majority >= IMBALANCED_SHARE / n_classes


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def precision_recall_f1(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, F1, support) per class from a confusion matrix."""
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)  # tp + fp
    support = matrix.sum(axis=1)  # tp + fn
    f1 = _ratio(2 * tp, predicted + support)  # 2 tp / (2 tp + fp + fn)
    return _ratio(tp, predicted), _ratio(tp, support), f1, support
