"""Use a trained model: score it on a split or a CSV (evaluate) and label new rows (predict).

Pure functions over a loaded run (`runs.load_run`); nothing here prints or writes files. New rows go
through the model's saved encoding (one-hot categories) and scaler, never refit ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.core import network
from nnapp.data.csvfile import MISSING_TOKENS, CsvRows, encode_features, read_csv
from nnapp.errors import ChoiceError, DataError
from nnapp.rundir.artifacts import csv_text
from nnapp.rundir.runs import LoadedRun, rebuild_dataset, target_column
from nnapp.training.scoring import Scores, score

SPLITS = ("train", "val", "test")


def class_labels(run: LoadedRun) -> list[str]:
    return [str(c) for c in run.classes.tolist()]


def evaluate_run(run: LoadedRun, split: str | None = None, data_path: str | Path | None = None) -> Scores:
    """Score the run's model on one split (default test) of its rebuilt data, or on another CSV with the
    same columns (then no split: the whole CSV is scored, and a split given with it is refused)."""
    if data_path is not None:
        if split is not None:
            raise DataError(
                f"a split and another CSV ({data_path}) together: the CSV is scored whole; give one",
                option="split",
                value=split,
            )
        X, y = read_labelled_csv(run, data_path)
        return score(run.params, X, y, class_labels(run), str(data_path))
    split = split or "test"
    if split not in SPLITS:
        raise ChoiceError("split", split, SPLITS)
    data = rebuild_dataset(run)
    X, y = data.split(split)
    return score(run.params, X, y, class_labels(run), f"{split} split")


def _read_inputs(run: LoadedRun, path: str | Path, label: str | None) -> tuple[np.ndarray, CsvRows]:
    """Scaled features of a CSV with exactly the model's input columns (plus, optionally, `label`)."""
    source = str(path)
    table = read_csv(path)
    header, rows = table.header, table.rows
    columns = run.model.input_columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(map(repr, missing))} (the model needs them)")
    extra = [c for c in header if c not in columns and c != label]
    if extra:
        raise DataError(
            f"{source}: extra column(s) {', '.join(map(repr, extra))} the model was not trained on "
            f"(expected: {', '.join(columns)})"
        )
    categories = run.model.categories
    for line, row in zip(table.lines, rows, strict=True):
        for column in columns:
            cell = row[header.index(column)]
            if cell.lower() in MISSING_TOKENS:
                raise DataError(f"{source}: line {line}, column {column!r}: missing value")
    X, _ = encode_features(header, rows, columns, categories, source, table.lines)
    if X.shape[1] != len(run.model.scaler_mean):
        raise DataError(
            f"{source}: the encoded columns do not match the model's {len(run.model.scaler_mean)} inputs"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, by line
        X = (X - run.model.scaler_mean) / run.model.scaler_scale
        params = run.params
        proba = network.predict_proba(params, X.astype(params["W"].dtype, copy=False))
    finite = np.isfinite(X).all(axis=1) & np.isfinite(proba).all(axis=1)
    if not finite.all():  # a NaN probability would silently read as the first class
        line = table.lines[int(np.argmin(finite))]
        raise DataError(
            f"{source}: line {line}: the model's output overflows a float for these values, "
            "which are far outside the training data"
        )
    return X, table


def read_labelled_csv(run: LoadedRun, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Scaled features and class indices of a CSV holding the model's columns and the label column."""
    label = target_column(run.config)
    source = str(path)
    X, table = _read_inputs(run, path, label)
    header, rows = table.header, table.rows
    if label not in header:
        raise DataError(f"{source}: no label column {label!r} (needed to score the model)")
    index = {name: k for k, name in enumerate(class_labels(run))}
    y = np.empty(len(rows), dtype=np.int64)
    column = header.index(label)
    for r, (line, row) in enumerate(zip(table.lines, rows, strict=True)):
        if row[column] not in index:
            raise DataError(
                f"{source}: line {line}, column {label!r}: unknown class {row[column]!r} "
                f"(known: {', '.join(index)})"
            )
        y[r] = index[row[column]]
    return X, y


@dataclass(frozen=True)
class Predictions:
    labels: list[str]  # original class labels, one per input row
    proba: np.ndarray  # (rows, N_c)
    classes: list[str]

    def csv(self, with_proba: bool = False) -> str:
        columns = ["predicted"] + ([f"proba_{c}" for c in self.classes] if with_proba else [])
        rows: list[dict[str, Any]] = []
        for label, p in zip(self.labels, self.proba, strict=True):
            row: dict[str, Any] = {"predicted": label}
            if with_proba:
                row.update({f"proba_{c}": float(v) for c, v in zip(self.classes, p, strict=True)})
            rows.append(row)
        return csv_text(columns, rows)


def predict_csv(run: LoadedRun, path: str | Path) -> Predictions:
    """Predicted labels and class probabilities for each row of a CSV with the model's input columns.

    The label column (data.target, or 'target'), if present, is ignored.
    """
    X, _ = _read_inputs(run, path, target_column(run.config))
    params = run.params
    proba = network.predict_proba(params, X.astype(params["W"].dtype, copy=False))
    classes = class_labels(run)
    return Predictions([classes[k] for k in np.argmax(proba, axis=1)], proba, classes)
