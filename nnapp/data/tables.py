"""The data's typed values: a raw Table (before scaling) and a split, scaled Dataset.

Their own module so that readers (datasets, csvtable) and checks (preflight) share them without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Table:
    """Raw features before scaling: X (n, d) float64, y (n,) original labels."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)  # one-hot encoded columns
    columns: list[str] = field(default_factory=list)  # the CSV's input columns, in order
    dropped_rows: int = 0
    notes: list[str] = field(default_factory=list)  # what reading the data found (printed before training)


@dataclass
class Dataset:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray  # original label of each class index
    feature_names: list[str]
    scaler_mean: np.ndarray  # the offset of (x - offset) / scale: the mean for data.scaling standard
    scaler_scale: np.ndarray
    categories: dict[str, list[str]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    dropped_rows: int = 0
    name: str = ""
    scaling: str = "standard"  # data.scaling's kind, which fit scaler_mean and scaler_scale
    notes: list[str] = field(default_factory=list)  # the Table's notes

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"X_{which}"), getattr(self, f"y_{which}")
