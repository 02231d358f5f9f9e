"""Use a trained model: score it on a split or a CSV (evaluate) and label new rows (predict).

Pure functions over a loaded run (`runs.load_run`); nothing here prints or writes files. New rows go
through the model's saved encoding (one-hot categories) and scaler, never refit ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.core import network
from nnapp.data.csvcolumns import encode, read_column
from nnapp.data.csvfile import ROW_NAMES, CsvFrame, read_csv
from nnapp.data.csvtable import csv_options
from nnapp.errors import ChoiceError, DataError
from nnapp.rundir.artifacts import csv_text
from nnapp.rundir.runs import LoadedRun, rebuild_dataset, target_column
from nnapp.training.scoring import Scores, score

SPLITS = ("train", "val", "test")


def class_labels(run: LoadedRun) -> list[str]:
    return [str(c) for c in run.classes.tolist()]


def evaluate_run(run: LoadedRun, split: str | None = None, data_path: str | Path | None = None) -> Scores:
    """Score the run's model on one split (default test) of its rebuilt data, or on another CSV holding the
    model's columns and the label column (then no split: the whole CSV is scored, and a split given with it
    is refused). Columns the model does not use are ignored (`Scores.notes` names them)."""
    if data_path is not None:
        if split is not None:
            raise DataError(
                f"a split and another CSV ({data_path}) together: the CSV is scored whole; give one",
                option="split",
                value=split,
            )
        inputs = read_labelled_csv(run, data_path)
        evaluation = score(run.params, inputs.X, inputs.y, class_labels(run), str(data_path))
        return replace(evaluation, notes=inputs.notes)
    split = split or "test"
    if split not in SPLITS:
        raise ChoiceError("split", split, SPLITS)
    data = rebuild_dataset(run)
    X, y = data.split(split)
    return score(run.params, X, y, class_labels(run), f"{split} split")


@dataclass(frozen=True)
class Inputs:
    """A CSV's rows as the model sees them: scaled features of the rows scored (`rows`, indices into the
    file's data rows), the class indices when labelled, and notes for the user."""

    X: np.ndarray
    rows: np.ndarray
    n_rows: int  # data rows in the file
    raw: CsvFrame
    notes: list[str]
    y: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def _read_inputs(
    run: LoadedRun, path: str | Path, label: str | None, keep: Sequence[str] = (), scoring: bool = False
) -> Inputs:
    """The model's input columns of a CSV, encoded with its saved categories and scaled with its scaler.

    Other columns are ignored (a note names them). A missing cell is an error naming its line, or, when
    the run was trained with data.missing: drop, the row is left out (a note counts them).
    """
    source = str(path)
    columns = run.model.input_columns
    categories = run.model.categories
    text = (*([label] if label else []), *categories, *keep)
    raw = read_csv(path, csv_options(run.config.data), text_columns=text)
    header = [h for h in raw.header if not (raw.row_names and h == ROW_NAMES)]
    absent = [c for c in [*columns, *keep] if c not in header]
    if absent:
        needed = [c for c in absent if c in columns]
        why = "the model needs them" if needed else "--keep"
        raise DataError(f"{source}: missing column(s) {', '.join(map(repr, absent))} ({why})")
    notes = []
    unused = [c for c in header if c not in columns and c != label and c not in keep]
    if unused:
        notes.append(f"{source}: column(s) {', '.join(unused)} are not model inputs: ignored")
    missing = np.zeros(len(raw.frame), dtype=bool)
    for name in [*columns, *([label] if scoring and label in header else [])]:
        missing |= read_column(raw, name, as_text=name in categories or name == label).missing
    rows = np.arange(len(raw.frame))
    if missing.any() and run.config.data.missing == "drop":
        rows = np.flatnonzero(~missing)
        notes.append(
            f"{source}: {int(missing.sum())} row(s) with a missing value "
            + ("not scored" if scoring else "given an empty prediction")
            + " (data.missing: drop)"
        )
    X, _ = encode(raw, columns, categories, rows)
    if X.shape[1] != len(run.model.scaler_mean):
        raise DataError(
            f"{source}: the encoded columns do not match the model's {len(run.model.scaler_mean)} inputs"
        )
    model = run.model.as_model()
    X = model.scaled(X)  # (x - offset) / scale in the weights' dtype
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, by line
        proba = network.predict_proba(model.params, X)
    finite = np.isfinite(X).all(axis=1) & np.isfinite(proba).all(axis=1)
    if not finite.all():  # a NaN probability would silently read as the first class
        line = raw.line_of(int(rows[int(np.argmin(finite))]))
        raise DataError(
            f"{source}: line {line}: the model's output overflows a float for these values, "
            "which are far outside the training data"
        )
    return Inputs(X, rows, len(raw.frame), raw, notes)


def read_labelled_csv(run: LoadedRun, path: str | Path) -> Inputs:
    """Scaled features and class indices of a CSV holding the model's columns and the label column."""
    label = target_column(run.config)
    source = str(path)
    inputs = _read_inputs(run, path, label, scoring=True)
    raw = inputs.raw
    if label not in raw.header:
        raise DataError(f"{source}: no label column {label!r} (needed to score the model)")
    index = {name: k for k, name in enumerate(class_labels(run))}
    cells = read_column(raw, label, as_text=True).texts
    assert cells is not None
    y = np.empty(len(inputs.rows), dtype=np.int64)
    for r, row in enumerate(inputs.rows.tolist()):
        if cells[row] not in index:
            raise DataError(
                f"{source}: line {raw.line_of(row)}, column {label!r}: unknown class {cells[row]!r} "
                f"(known: {', '.join(index)})"
            )
        y[r] = index[cells[row]]
    return replace(inputs, y=y)


@dataclass(frozen=True)
class Predictions:
    labels: list[str]  # original class labels, one per input row ("" for a row left out)
    proba: np.ndarray  # (rows, N_c); NaN for a row left out
    classes: list[str]
    kept: dict[str, list[str]] = field(default_factory=dict)  # --keep columns, as written
    notes: list[str] = field(default_factory=list)
    left_out: int = 0  # rows with a missing value (data.missing: drop)

    def csv(self, with_proba: bool = False) -> str:
        columns = [*self.kept, "predicted"] + ([f"proba_{c}" for c in self.classes] if with_proba else [])
        rows: list[dict[str, Any]] = []
        for r, (label, p) in enumerate(zip(self.labels, self.proba, strict=True)):
            row: dict[str, Any] = {name: cells[r] for name, cells in self.kept.items()}
            row["predicted"] = label
            if with_proba:
                row.update(
                    {
                        f"proba_{c}": "" if label == "" else float(v)
                        for c, v in zip(self.classes, p, strict=True)
                    }
                )
            rows.append(row)
        return csv_text(columns, rows)


def predict_csv(run: LoadedRun, path: str | Path, keep: Sequence[str] = ()) -> Predictions:
    """Predicted labels and class probabilities for each data row of a CSV holding the model's input
    columns, in the file's order; `keep` columns are copied into the output as written.

    The label column (data.target, or 'target') and other columns are ignored. A row with a missing cell
    is an error naming it, or (data.missing: drop) gets an empty prediction: never a shifted row.
    """
    twice = sorted({c for c in keep if list(keep).count(c) > 1} | ({"predicted"} & set(keep)))
    if twice:
        raise DataError(f"--keep {twice[0]}: given twice, or the name of the output's own column")
    inputs = _read_inputs(run, path, target_column(run.config), keep)
    params = run.params
    proba = np.full((inputs.n_rows, len(run.classes)), np.nan)
    proba[inputs.rows] = network.predict_proba(params, inputs.X.astype(params["W"].dtype, copy=False))
    classes = class_labels(run)
    labels = [""] * inputs.n_rows
    for row, k in zip(inputs.rows.tolist(), np.argmax(proba[inputs.rows], axis=1).tolist(), strict=True):
        labels[row] = classes[k]
    kept = {}
    for name in keep:
        cells = read_column(inputs.raw, name, as_text=True).texts
        assert cells is not None
        kept[name] = ["" if cell is None else str(cell) for cell in cells]
    left_out = inputs.n_rows - len(inputs.rows)
    return Predictions(labels, proba, classes, kept, inputs.notes, left_out)
