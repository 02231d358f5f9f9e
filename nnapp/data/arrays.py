"""A Dataset from arrays in memory (a notebook's, scikit-learn's): labels encoded, rows split, then scaled.

The three steps are separate functions the config path shares (splits.encode_labels, `split_rows`,
datasets.scale_features); a test split is optional here (an estimator is scored by its caller), and so is
the validation split (without early stopping every row trains).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnapp.data import splits
from nnapp.data.datasets import scale_features
from nnapp.data.tables import Dataset
from nnapp.errors import DataError


def split_rows(
    y: np.ndarray, val_size: float, test_size: float, seed: int, source: str = "y"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val, test), stratified by the class codes `y` and seeded as `nnapp train`
    splits (test first, then validation from the rest); a size of 0 leaves that part empty."""
    if not (0 <= test_size < 1 and 0 <= val_size < 1 and test_size + val_size < 1):
        raise DataError(f"{source}: test and validation fractions must be in [0, 1) with a sum below 1")
    rest, test = np.arange(len(y)), np.arange(0)
    try:
        if test_size > 0:
            rest, test = splits.stratified_split(rest, y, test_size, seed)
        if val_size == 0:
            return rest, np.arange(0), test
        train, val = splits.stratified_split(rest, y[rest], val_size / (1 - test_size), seed)
    except ValueError as exc:
        raise DataError(f"{source}: cannot split the rows stratified: {exc}") from None
    return train, val, test


def from_arrays(
    X: np.ndarray,
    y: np.ndarray,
    *,
    val_size: float = 0.2,
    test_size: float = 0.0,
    scaling: str = "standard",
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
    name: str = "arrays",
) -> Dataset:
    """A Dataset of raw rows X (n, d) and labels y (n,) of any kind (strings, integers, ...):
    `classes` keeps the original labels (sorted), the scaler is fit on the training rows only."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise DataError(f"X, y: expected X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}")
    if not np.isfinite(X).all():
        raise DataError("X: holds a value that is not a finite number")
    classes, codes = splits.encode_labels(y)
    if len(classes) < 2:
        raise DataError(f"y: the target has only one class ({classes[0]!r}); need at least two")
    train, val, test = split_rows(codes, val_size, test_size, seed)
    names = [f"x{j + 1}" for j in range(X.shape[1])] if feature_names is None else list(feature_names)
    if len(names) != X.shape[1]:
        raise DataError(f"feature_names: {len(names)} names for {X.shape[1]} columns")
    Xs, offset, scale = scale_features(X, train, scaling, names, "X")
    return Dataset(
        X_train=Xs[train],
        y_train=codes[train],
        X_val=Xs[val],
        y_val=codes[val],
        X_test=Xs[test],
        y_test=codes[test],
        classes=classes,
        feature_names=names,
        scaler_mean=offset,
        scaler_scale=scale,
        name=name,
        scaling=scaling,
    )
