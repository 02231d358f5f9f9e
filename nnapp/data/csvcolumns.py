"""A CSV's columns as values: numbers or text, missing cells, and the one-hot encoding of categories.

Shared by training (csvtable) and by the commands that feed a model new rows (predict, evaluate, the
notebook API), so a cell means the same thing everywhere. Messages name the file, the line and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nnapp.data.csvfile import MISSING_TOKENS, CsvFrame, CsvOptions
from nnapp.errors import DataError


@dataclass(frozen=True)
class Column:
    """One column's cells: `numbers` (float64; NaN where missing or not a number), `texts` the stripped
    cells as written (None where missing; None for a column pandas read as numbers) and where a present
    cell is not a number (`bad`)."""

    name: str
    numbers: np.ndarray
    texts: np.ndarray | None
    missing: np.ndarray  # bool per row
    bad: np.ndarray  # bool per row: present, and not a number

    @property
    def numeric(self) -> bool:
        return not self.bad.any()

    def cell(self, row: int) -> str:
        """The cell as the file writes it (for messages)."""
        if self.texts is not None:
            return str(self.texts[row])
        return repr(float(self.numbers[row]))


def read_column(raw: CsvFrame, name: str, as_text: bool = False) -> Column:
    """The values of column `name`; `as_text` keeps a column of numbers as written (labels, categories)."""
    import pandas as pd

    series = raw.frame[name]
    if series.dtype.kind in "biuf" and not as_text:
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(numbers)
        return Column(name, numbers, None, missing, np.zeros_like(missing))
    # each distinct cell is stripped, checked and converted once: a label column repeats a few values
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = np.array([str(value).strip() for value in uniques], dtype=object)
    gone = np.array([value.lower() in MISSING_TOKENS for value in distinct], dtype=bool)
    missing = (codes < 0) | np.append(gone, True)[codes]  # code -1 (pandas' NaN) picks the appended True
    cells = np.append(distinct, np.array([None], dtype=object))[codes]
    cells[missing] = None
    if as_text:
        return Column(name, np.full(len(cells), np.nan), cells, missing, np.zeros_like(missing))
    numbers = _as_numbers(distinct, gone, raw.options)
    if np.isnan(numbers[~gone]).any() and raw.options.decimal is None and raw.delimiter != ",":
        commas = _as_numbers(distinct, gone, replace(raw.options, decimal=","))  # "0,5" in a ;-file
        if not np.isnan(commas[~gone]).any():
            numbers = commas
    values = np.append(numbers, np.nan)[codes]
    values[missing] = np.nan
    return Column(name, values, cells, missing, ~missing & np.isnan(values))


def first(mask: np.ndarray, rows: np.ndarray) -> int | None:
    """The first of `rows` where `mask` holds, or None."""
    if not mask.any():
        return None
    hits = mask[rows]
    return int(rows[int(np.argmax(hits))]) if hits.any() else None


def _as_numbers(cells: np.ndarray, missing: np.ndarray, options: CsvOptions) -> np.ndarray:
    """Text cells as numbers (NaN where not one), with the file's decimal mark and thousands separator."""
    import pandas as pd

    values = np.where(missing, "", cells).astype(str)
    if options.thousands:
        values = np.char.replace(values, options.thousands, "")
    if options.decimal not in (None, "."):
        values = np.char.replace(values, options.decimal, ".")
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, copy=True
    )
    numbers[missing] = np.nan
    return numbers


def check_finite(raw: CsvFrame, column: Column, rows: np.ndarray) -> None:
    """DataError naming the line of the first infinite (or overflowing) value among `rows`."""
    values = column.numbers[rows]
    if not np.isfinite(values).all():
        row = int(rows[int(np.argmax(~np.isfinite(values)))])
        raise DataError(
            f"{raw.path}: line {raw.line_of(row)}, column {column.name!r}: {column.cell(row)!r} is not finite"
        )


def one_hot(raw: CsvFrame, column: Column, known: Sequence[str], rows: np.ndarray) -> np.ndarray:
    """The (rows, len(known)) one-hot block of a category column; DataError naming an unknown category."""
    assert column.texts is not None
    cells = column.texts[rows]
    position = {value: k for k, value in enumerate(known)}
    codes = np.fromiter((position.get(cell, -1) for cell in cells), dtype=np.int64, count=len(cells))
    if (codes < 0).any():
        row = int(rows[int(np.argmax(codes < 0))])
        raise DataError(
            f"{raw.path}: line {raw.line_of(row)}, column {column.name!r}: unknown category "
            f"{column.texts[row]!r} (known: {', '.join(known)})"
        )
    return (codes[:, None] == np.arange(len(known))).astype(np.float64)


def not_a_number(raw: CsvFrame, column: Column, row: int) -> str:
    """'line L, column 'c': 'x' is not a number' for a cell."""
    return f"line {raw.line_of(row)}, column {column.name!r}: {column.cell(row)!r} is not a number"


def encode(
    raw: CsvFrame,
    columns: Sequence[str],
    categories: dict[str, list[str]],
    rows: np.ndarray,
    read: dict[str, Column] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix of `rows` from the named columns, `categories` one-hot encoded with their known
    values; DataError naming file, line and column of a missing, non-numeric or infinite cell. `read`:
    columns already read (as text for the categories)."""
    widths = [len(categories[name]) if name in categories else 1 for name in columns]
    X = np.empty((len(rows), sum(widths)))  # filled in place: one copy of the data, not two
    whole = len(rows) == len(raw.frame)  # every row (then no row index is applied)
    names: list[str] = []
    start = 0
    for name, width in zip(columns, widths, strict=True):
        column = (read or {}).get(name) or read_column(raw, name, as_text=name in categories)
        row = first(column.missing, rows)
        if row is not None:
            raise DataError(f"{raw.path}: line {raw.line_of(row)}, column {name!r}: missing value")
        if name in categories:
            X[:, start : start + width] = one_hot(raw, column, categories[name], rows)
            names.extend(f"{name}={value}" for value in categories[name])
        else:
            row = first(column.bad, rows)
            if row is not None:
                raise DataError(f"{raw.path}: {not_a_number(raw, column, row)}")
            X[:, start] = column.numbers if whole else column.numbers[rows]
            if not np.isfinite(X[:, start]).all():
                check_finite(raw, column, rows)  # names the line
            names.append(name)
        start += width
    return X, names


def frame_of_rows(header: Sequence[str], rows: Sequence[Sequence[object]], source: str) -> CsvFrame:
    """Rows given in memory (the notebook API) as a CsvFrame, so they are encoded exactly as a file is."""
    import pandas as pd

    frame = pd.DataFrame([[str(v) for v in row] for row in rows], columns=list(header), dtype=object)
    raw = CsvFrame(Path(source), list(header), frame, ",", CsvOptions())
    raw._lines = list(range(len(rows)))
    return raw
