"""Per-class scores computed in numpy equal scikit-learn's."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.core.metrics import confusion, precision_recall_f1


@settings(max_examples=50, deadline=None)
@given(n_classes=st.integers(2, 6), rows=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_scores_equal_scikit_learns_with_zero_division_0(n_classes, rows, seed):
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, n_classes, rows), rng.integers(0, n_classes, rows)
    labels = list(range(n_classes))  # classes absent from both arrays still get a row
    matrix = confusion(y_true, y_pred, n_classes)
    np.testing.assert_array_equal(matrix, confusion_matrix(y_true, y_pred, labels=labels))
    expected = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    for got, want in zip(precision_recall_f1(matrix), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_a_perfect_prediction_scores_one_for_every_present_class():
    y = np.array([0, 1, 1, 2])
    precision, recall, f1, support = precision_recall_f1(confusion(y, y, 4))
    np.testing.assert_array_equal(precision, [1, 1, 1, 0])  # class 3 never appears: 0, not nan
    np.testing.assert_array_equal(recall, [1, 1, 1, 0])
    np.testing.assert_array_equal(f1, [1, 1, 1, 0])
    np.testing.assert_array_equal(support, [1, 2, 1, 0])
