"""A trained model as one value: its weights and the encoding that turns raw rows into its inputs.

`predict`, `evaluate`, the notebook API and the scikit-learn estimator all label rows through a `Model`:
one-hot categories (a CSV's categorical columns), then the scaler (x - offset) / scale, then the network.
The run directory stores it as model.npz (nnapp.rundir.model_file.SavedModel); nothing here reads or
writes files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnapp.core import network
from nnapp.data.csvcolumns import encode, frame_of_rows
from nnapp.data.tables import Dataset
from nnapp.errors import DataError


@dataclass(frozen=True)
class Model:
    """Weights W, b1, U, b2 and what maps raw rows to their inputs and their outputs to labels."""

    params: network.Params
    classes: np.ndarray  # original label of each class index (predict_proba's column order)
    offset: np.ndarray  # (D_x,) float64: inputs are (x - offset) / scale
    scale: np.ndarray  # (D_x,) float64, positive
    feature_names: list[str]  # (D_x,) encoded input names ("garden=a" for a one-hot column)
    columns: list[str] = field(default_factory=list)  # a CSV's input columns ([]: the features themselves)
    categories: dict[str, list[str]] = field(default_factory=dict)  # one-hot columns and their categories
    scaling: str = "standard"  # data.scaling's kind that fit offset and scale (shown, never re-applied)

    @classmethod
    def trained(cls, params: network.Params, data: Dataset) -> Model:
        """The model of `params` trained on `data` (its classes, scaler and encoding)."""
        return cls(
            params=dict(params),
            classes=data.classes,
            offset=np.asarray(data.scaler_mean, dtype=np.float64),
            scale=np.asarray(data.scaler_scale, dtype=np.float64),
            feature_names=list(data.feature_names),
            columns=list(data.columns),
            categories=dict(data.categories),
            scaling=data.scaling,
        )

    @property
    def input_columns(self) -> list[str]:
        """The raw columns a row must give, in order: a CSV's input columns, or the features."""
        return self.columns or self.feature_names

    @property
    def dtype(self) -> np.dtype:
        return self.params["W"].dtype

    def scaled(self, encoded: np.ndarray) -> np.ndarray:
        """Encoded rows (float64, original units) -> what the network sees, in the weights' dtype."""
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: see `probabilities`
            return ((encoded - self.offset) / self.scale).astype(self.dtype, copy=False)

    def encode(self, X: Any, source: str = "X") -> np.ndarray:
        """Raw rows (the input columns in order; one row may be flat) -> encoded float64 rows."""
        columns = self.input_columns
        rows = np.asarray(X, dtype=object if self.categories else None)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(columns):
            raise DataError(
                f"{source}: expected rows of {len(columns)} values ({', '.join(columns)}), "
                f"got shape {rows.shape}"
            )
        if self.categories:  # as `nnapp predict` encodes a CSV's cells
            raw = frame_of_rows(columns, rows.tolist(), source)
            encoded, _ = encode(raw, columns, self.categories, np.arange(len(rows)))
        else:
            try:
                encoded = rows.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError(f"{source}: every value must be a number") from None
        bad = ~np.isfinite(encoded).all(axis=1)
        if bad.any():
            raise DataError(f"{source}: row {int(np.argmax(bad))} holds a value that is not a finite number")
        return encoded

    def probabilities(
        self, inputs: np.ndarray, rows: Sequence[Any] | None = None, source: str = "X"
    ) -> np.ndarray:
        """Class probabilities of scaled inputs; a row the model cannot score (its values overflow a
        float: far outside the training data) is a DataError naming it (`rows`: its names, e.g. lines)."""
        with np.errstate(over="ignore", invalid="ignore"):
            proba = network.predict_proba(self.params, inputs)
        finite = np.isfinite(inputs).all(axis=1) & np.isfinite(proba).all(axis=1)
        if not finite.all():  # a NaN probability would silently read as the first class
            bad = int(np.argmin(finite))
            where = f"line {rows[bad]}" if rows is not None else f"row {bad}"
            raise DataError(
                f"{source}: {where}: the model's output overflows a float for these values, "
                "which are far outside the training data"
            )
        return proba

    def predict_proba(self, X: Any, source: str = "X") -> np.ndarray:
        """Class probabilities (rows, N_c) of raw rows in the data's ORIGINAL units."""
        return self.probabilities(self.scaled(self.encode(X, source)), source=source)

    def predict(self, X: Any, source: str = "X") -> np.ndarray:
        """The original class label of each raw row."""
        return self.classes[np.argmax(self.predict_proba(X, source), axis=1)]
