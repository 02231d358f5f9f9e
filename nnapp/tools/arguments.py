"""The notebook API's argument check: what a caller passes to `import nnapp`'s functions, made typed.

Every public function and method of the notebook API (nnapp.tools.notebook) turns its arguments into
typed values here, at its first line, so that a wrong type, shape or path is one NnappError with a
one-line message naming the argument, never a TypeError from deep inside numpy or pathlib. Nothing
here reads a file: what a path points to is the reader's business (it names the file).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.errors import ArgumentError, DataError


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def path_argument(name: str, value: Any) -> Path:
    """A str or os.PathLike (pathlib.Path) as a Path; bytes, numbers, None, '' and NUL refused."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ArgumentError(f"{name}: expected a path (a str or pathlib.Path), got {_kind(value)}")
    if not value:
        raise ArgumentError(f"{name}: the empty string is not a path")
    if "\0" in value:
        raise ArgumentError(f"{name}: {value!r} holds a NUL character, which no path can")
    return Path(value)


def optional_path_argument(name: str, value: Any) -> Path | None:
    return None if value is None else path_argument(name, value)


def _is_sequence_cell(cell: Any) -> bool:
    return isinstance(cell, Iterable | np.ndarray) and not isinstance(cell, str | bytes)


def _by_column_names(name: str, X: Any, columns: list[str]) -> Any:
    """A table with column names (a pandas DataFrame) is read by name, not by position: its columns are
    put in the model's order, and a missing one is named. Anything else is returned as it is."""
    names = getattr(X, "columns", None)
    if names is None or not hasattr(X, "to_numpy"):
        return X
    given = [str(c) for c in names]
    if given == columns:
        return X.to_numpy()
    missing = [c for c in columns if c not in given]
    if missing:
        raise DataError(
            f"{name}: the table has no column(s) {', '.join(map(repr, missing))} (the model's inputs: "
            f"{', '.join(columns)})"
        )
    return X[columns].to_numpy()


def rows_argument(name: str, X: Any, width: int, columns: list[str], as_text: bool) -> np.ndarray:
    """Rows of `width` values: a (rows, width) array, of float64 or (`as_text`: categorical columns
    to encode) of objects; a single row may be flat. DataError naming the row on a ragged row, a
    cell that is a list, a value that is not a finite number."""
    expected = f"rows of {width} values ({', '.join(columns)})"
    if X is None or isinstance(X, str | bytes | Mapping) or np.isscalar(X):
        raise DataError(f"{name}: expected {expected} as a list of lists or a 2-D array, got {_kind(X)}")
    X = _by_column_names(name, X, columns)
    if isinstance(X, np.ma.MaskedArray) and np.ma.getmaskarray(X).any():  # masked: missing, not a value
        row = int(np.argwhere(np.ma.getmaskarray(X))[0][0]) if X.ndim > 1 else 0
        raise DataError(f"{name}: row {row} holds a masked (missing) value; give a number")
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        rows = X
    else:
        try:
            rows = np.array(X, dtype=object)
        except (TypeError, ValueError):
            raise DataError(f"{name}: expected {expected}, got {_kind(X)}") from None
    if rows.ndim == 0:  # a generator or another object numpy cannot see rows in
        raise DataError(f"{name}: expected {expected} as a list of lists or a 2-D array, got {_kind(X)}")
    if rows.ndim == 1:
        nested = [i for i, cell in enumerate(rows) if _is_sequence_cell(cell)]
        if nested:  # a list of rows of different lengths (numpy keeps them as objects)
            for i, row in enumerate(rows):
                n = len(row) if _is_sequence_cell(row) else 1
                if n != width:
                    raise DataError(f"{name}: row {i} has {n} values, expected {expected}")
        rows = rows.reshape(1, -1)
    if rows.ndim != 2 or rows.shape[1] != width:
        raise DataError(f"{name}: expected {expected}, got shape {rows.shape}")
    if rows.dtype == object:
        for (i, j), cell in np.ndenumerate(rows):
            if _is_sequence_cell(cell) or cell is None:
                raise DataError(f"{name}: row {i}, column {columns[j]!r}: {_kind(cell)} is not a value")
            if isinstance(cell, numbers.Complex) and not isinstance(cell, numbers.Real):
                raise DataError(f"{name}: row {i}, column {columns[j]!r}: {cell!r} is a complex number")
    if as_text:
        return rows
    try:
        numeric = rows.astype(np.float64)
    except OverflowError:
        raise DataError(f"{name}: a value is too large for a float (not a finite number)") from None
    except (TypeError, ValueError):
        raise DataError(f"{name}: every value must be a number") from None
    bad = ~np.isfinite(numeric).all(axis=1)
    if bad.any():
        raise DataError(f"{name}: row {int(np.argmax(bad))} holds a value that is not a finite number")
    return numeric


def numbers_argument(name: str, values: Any, example: str) -> list[float]:
    """A real number or a list (tuple, 1-D array) of them, as floats; strings, booleans, None and
    nested lists refused (`example`: what to write instead, e.g. '[0, 0.05, 0.1]')."""
    if isinstance(values, numbers.Real) and not isinstance(values, bool | np.bool_):
        values = [values]
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ArgumentError(f"{name}: expected a list of numbers, e.g. {example}, got {_kind(values)}")
    floats: list[float] = []
    for value in values:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ArgumentError(f"{name}: {value!r} is not a number (expected e.g. {example})")
        number: Any = value  # a Real: int, float, numpy's, Fraction, Decimal
        try:
            floats.append(float(number))
        except OverflowError:  # an int past float's range
            floats.append(math.inf if number > 0 else -math.inf)  # named "not finite" by the checker
    return floats
