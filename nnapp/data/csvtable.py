"""A CSV file as a numeric Table: which columns are features, which are categories, missing rows, encoding.

Every problem of one kind is named at once: all the non-numeric feature columns in one message, with the
line to paste into the config. `data.categorical: auto` one-hot encodes the text columns with at most
AUTO_MAX_CATEGORIES distinct values and refuses identifier-like ones (a value per row, or dates) by name.
What the run should know but need not stop for (R's row names, a row-index column, a category column with
a value per row) becomes a note, printed before training and kept in summary.json.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nnapp.config import DataConfig
from nnapp.data import preflight
from nnapp.data.csvcolumns import Column, encode, first, not_a_number, read_column
from nnapp.data.csvfile import ROW_NAMES, CsvFrame, CsvOptions, ReadProgress, likely_delimiter, read_csv
from nnapp.data.tables import Table
from nnapp.errors import DataError

__all__ = ["AUTO_MAX_CATEGORIES", "ReadProgress", "csv_options", "csv_path", "csv_table", "select_columns"]

AUTO_MAX_CATEGORIES = 50  # data.categorical: auto encodes a text column with at most this many values
MIN_ROWS_FOR_IDENTIFIER = 20  # below this, a column of distinct values may just be a small table
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}([ T].*)?$")


def csv_options(cfg: DataConfig) -> CsvOptions:
    return CsvOptions(cfg.delimiter, cfg.decimal, cfg.thousands)


def csv_path(path_text: str, base_dir: Path | None = None) -> Path:
    """The file data.path names: from the working directory, else from the config's folder; DataError
    naming every place looked when it is in neither."""
    path = Path(path_text)
    if path.is_absolute() or path.exists() or base_dir is None:
        return path
    fallback = base_dir / path
    if fallback.exists() or fallback.is_symlink():
        return fallback
    raise DataError(
        f"{path}: no such CSV file (looked in {Path.cwd() / path} and {fallback.absolute()}; "
        "data.path is relative to the working directory or to the config's folder)"
    )


def csv_table(cfg: DataConfig, base_dir: Path | None = None, progress: ReadProgress | None = None) -> Table:
    """Read, check and encode the CSV a config names (a relative path falls back to `base_dir`)."""
    assert cfg.path is not None and cfg.target is not None  # guaranteed by config validation
    path = csv_path(cfg.path, base_dir)
    listed = [] if cfg.categorical == "auto" else list(cfg.categorical)
    raw = read_csv(path, csv_options(cfg), progress, text_columns=(cfg.target, *listed))
    source = str(path)
    features = select_columns(source, raw.header, cfg)
    notes: list[str] = []
    if raw.row_names:
        notes.append(
            f"{source}: the first column has no header (row names, as R's write.csv writes them): "
            "it is not a feature"
        )
    columns = {name: read_column(raw, name, as_text=name in listed) for name in features}
    target = read_column(raw, cfg.target, as_text=True)
    categorical = _categorical(raw, cfg, columns, notes)
    if cfg.categorical == "auto":
        features = [f for f in features if f not in categorical] + categorical  # categories last, as listed
    rows = _kept_rows(raw, cfg, [*features, cfg.target], [*columns.values(), target])
    for name in features:
        if name not in categorical:
            _note_row_index(source, columns[name], rows, notes)
    categories = {c: sorted(set(columns[c].texts[rows].tolist())) for c in categorical}  # type: ignore[index]
    check_width(source, len(rows), features, categories)
    X, names = encode(raw, features, categories, rows, columns)
    assert target.texts is not None
    y = target.texts[rows].astype(str)
    return Table(X, y, names, categories, features, len(raw.frame) - len(rows), notes)


def select_columns(source: str, header: list[str], cfg: DataConfig) -> list[str]:
    """The feature columns a config asks for (data.features, else all but the target, data.drop and R's row
    names), categorical last unless listed; DataError naming a column not in the header."""
    assert cfg.target is not None  # guaranteed by config validation
    if cfg.target not in header:
        hint = ""
        guess = likely_delimiter(header[0]) if len(header) == 1 else None
        if guess is not None:
            shown = {"\t": "\\t"}.get(guess, guess)
            hint = (
                f"; the header reads as one column: is the separator {shown!r}? "
                f"(set data.delimiter: {shown!r})"
            )
        raise DataError(
            f"{source}: data.target column {cfg.target!r} is not in the header ({', '.join(header)}){hint}"
        )
    listed = [] if cfg.categorical == "auto" else list(cfg.categorical)
    for key, names in (("data.drop", cfg.drop), ("data.categorical", listed)):
        for column in names:
            if column not in header:
                raise DataError(f"{source}: column {column!r} ({key}) is not in the header")
    skip = {cfg.target, *cfg.drop, ROW_NAMES}
    features = list(cfg.features) if cfg.features is not None else [h for h in header if h not in skip]
    for column in [*features, *listed]:
        if column not in header:
            raise DataError(f"{source}: column {column!r} (data.features/categorical) is not in the header")
        if column == cfg.target:
            raise DataError(f"{source}: the target column {column!r} cannot also be a feature")
    if not features:
        raise DataError(f"{source}: no feature columns (the CSV has only the target column)")
    for key, named in (("data.features", features), ("data.categorical", listed)):
        twice = sorted({c for c in named if named.count(c) > 1})
        if twice:  # a repeated column would silently count twice in the model
            raise DataError(f"{source}: column {twice[0]!r} is listed twice in {key}")
    for column in listed:
        if column not in features:
            features.append(column)
    return features


def _categorical(raw: CsvFrame, cfg: DataConfig, columns: dict[str, Column], notes: list[str]) -> list[str]:
    """The feature columns to one-hot encode; DataError naming every non-numeric column left over."""
    source = str(raw.path)
    text = [name for name, column in columns.items() if not column.numeric]
    if cfg.categorical != "auto":
        listed = list(cfg.categorical)
        undeclared = [name for name in text if name not in listed]
        if undeclared:
            raise DataError(_non_numeric_message(raw, [columns[c] for c in undeclared], listed))
        for name in listed:
            if _identifier_like(columns[name]):
                notes.append(
                    f"{source}: column {name!r} (data.categorical) has a different value in nearly every "
                    "row: it identifies rows rather than describing them, and the model may learn it by "
                    "heart "
                    f"(data.drop: [{name}] leaves it out)"
                )
        return listed
    refused = [name for name in text if _identifier_like(columns[name])]
    if refused:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, refused))} identify rows (a different value in nearly "
            f"every row, or dates), not categories; leave them out with data.drop: [{', '.join(refused)}]"
        )
    wide = [name for name in text if _distinct(columns[name]) > AUTO_MAX_CATEGORIES]
    if wide:
        counts = ", ".join(f"{name!r} ({_distinct(columns[name]):,} values)" for name in wide)
        raise DataError(
            f"{source}: data.categorical: auto encodes text columns of at most {AUTO_MAX_CATEGORIES} "
            f"distinct values; {counts} have more: list them in data.categorical to encode them anyway, or "
            f"leave them out with data.drop: [{', '.join(wide)}]"
        )
    return text


def _non_numeric_message(raw: CsvFrame, bad: list[Column], listed: list[str]) -> str:
    """Every non-numeric feature column at once, the first bad cell of each, and the line to paste."""
    all_rows = np.arange(len(raw.frame))
    cells = [not_a_number(raw, column, first(column.bad, all_rows) or 0) for column in bad]
    names = [*listed, *(column.name for column in bad)]
    thousands = ""
    for column in bad:
        row = first(column.bad, all_rows) or 0
        if re.fullmatch(r"[-+]?\d{1,3}([,.' ]\d{3})+([.,]\d+)?", column.cell(row)):
            mark = next(ch for ch in column.cell(row) if not ch.isdigit() and ch not in "+-")
            thousands = (
                f"; {column.cell(row)!r} looks like a number with a thousands separator: "
                f"data.thousands: {mark!r}"
            )
            break
    more = f" (and {len(bad) - 1} more column(s): {'; '.join(cells[1:])})" if len(bad) > 1 else ""
    return (
        f"{raw.path}: {cells[0]}{more}{thousands}; if they are categories, declare them in the config: "
        f"data.categorical: [{', '.join(names)}] (or data.categorical: auto; data.drop leaves columns out)"
    )


def _distinct(column: Column) -> int:
    assert column.texts is not None
    return len(set(column.texts[~column.missing].tolist()))


def _identifier_like(column: Column) -> bool:
    """A value per row (names, ids) in a table big enough to tell, or dates."""
    if column.texts is None:
        return False
    present = column.texts[~column.missing]
    if len(present) == 0:
        return False
    sample = present[: min(len(present), 100)]
    if all(_DATE.match(str(value)) for value in sample):
        return True
    return len(present) >= MIN_ROWS_FOR_IDENTIFIER and _distinct(column) >= 0.95 * len(present)


def _note_row_index(source: str, column: Column, rows: np.ndarray, notes: list[str]) -> None:
    """A note for a numeric column that counts the rows (unique, consecutive integers): likely an index."""
    values = column.numbers[rows]
    if len(values) < MIN_ROWS_FOR_IDENTIFIER or not np.all(values == np.round(values)):
        return
    steps = np.diff(np.sort(values))
    if np.all(steps == 1):
        notes.append(
            f"{source}: column {column.name!r} holds consecutive integers ({values.min():.0f} to "
            f"{values.max():.0f}), like a row number: it is used as a feature; data.drop: [{column.name}] "
            "leaves it out"
        )


def _kept_rows(raw: CsvFrame, cfg: DataConfig, names: list[str], columns: list[Column]) -> np.ndarray:
    """The rows to train on: all, or (data.missing: drop) those without a missing cell in a used column."""
    source = str(raw.path)
    missing = np.logical_or.reduce([column.missing for column in columns])
    if not missing.any():
        return np.arange(len(raw.frame))
    if cfg.missing == "error":
        bad = [name for name, column in zip(names, columns, strict=True) if column.missing.any()]
        where = np.flatnonzero(missing)
        lines = ", ".join(str(raw.line_of(int(r))) for r in where[:5])
        raise DataError(
            f"{source}: {len(where)} row(s) have missing values in column(s) {', '.join(sorted(bad))} "
            f"(first at line(s) {lines}); set data.missing: drop to skip them"
        )
    if missing.all():
        raise DataError(f"{source}: every row has a missing value; nothing is left to train on")
    return np.flatnonzero(~missing)


def check_width(source: str, n_rows: int, features: list[str], categories: dict[str, list[str]]) -> None:
    """Refuse a one-hot encoding too big for memory (an ID column declared categorical) before building it."""
    width = sum(len(categories[c]) if c in categories else 1 for c in features)
    need = 3 * 8 * n_rows * width  # the encoded table, its standardized copy and the splits
    if need > preflight.machine_memory_bytes():
        culprit = ""
        if categories:
            widest = max(categories, key=lambda c: len(categories[c]))
            culprit = (
                f"; column {widest!r} (data.categorical) has {len(categories[widest]):,} distinct values"
            )
        raise DataError(
            f"{source}: {n_rows:,} rows x {width:,} encoded columns would need about {need / 2**30:,.1f} GiB "
            f"of memory, more than this machine allows{culprit}"
        )
