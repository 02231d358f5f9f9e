"""Reading a CSV file carefully: the csv module, a row at a time, every cell a string.

This is the reference reader: it handles quoted fields (even over several lines), blank lines, rows of
empty cells, and names the file's line (counting the header and blank lines) and column of any bad cell.
`csvtable` reads the common all-clean file faster and falls back to this reader for everything else.
"""

from __future__ import annotations

import csv
import itertools
import stat
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config import DataConfig
from nnapp.data import preflight
from nnapp.errors import DataError

MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})

# far wider than any real row: reading /dev/zero-like data or a file without newlines stops here
MAX_CSV_LINE_CHARS = 2**20
PROGRESS_LINES = 2**16  # how often the careful reader says how far it has come


@dataclass(frozen=True)
class CsvRows:
    """A CSV's header and data rows (cells stripped), with each row's line number in the file (header = 1)."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def _bounded_lines(
    handle: typing.TextIO, path: Path, progress: Callable[[int, int], None] | None = None
) -> Iterator[str]:
    """The file's lines, refusing one longer than MAX_CSV_LINE_CHARS before it fills memory.

    `progress(characters read, file size in bytes)` is called every PROGRESS_LINES lines.
    """
    number, done, size = 0, 0, path.stat().st_size if progress is not None else 0
    while True:
        line = handle.readline(MAX_CSV_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_CSV_LINE_CHARS:
            raise DataError(
                f"{path}: line {number} is longer than {MAX_CSV_LINE_CHARS:,} characters; is this a CSV file?"
            )
        if progress is not None:
            done += len(line)
            if number % PROGRESS_LINES == 0:
                progress(done, size)
        yield line


def check_regular_file(path: Path) -> str:
    """Refuse what is not a regular file before opening it (a FIFO blocks, a device never ends), or a file
    larger than the memory a run may use; return that limit for later messages."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such CSV file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the CSV ({exc.strerror or exc})") from None
    mode, size = info.st_mode, info.st_size
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: is a directory, expected a CSV file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise DataError(f"{path}: is {kind}, not a regular file; expected a CSV file")
    limit = preflight.memory_limit()
    if size > limit.bytes:  # its rows as Python strings take several times the file's size
        raise DataError(
            f"{path}: the CSV file is {size / 2**30:,.1f} GiB, more than the {limit.bytes / 2**30:.1f} GiB "
            f"of memory this machine allows ({limit.source})"
        )
    return f"{limit.bytes / 2**30:.1f} GiB, {limit.source}"


def read_csv(path: str | Path, progress: Callable[[int, int], None] | None = None) -> CsvRows:
    """Header and data rows as strings; errors name the file (and the line).

    Blank lines are skipped; a row of empty cells (`,,,`) is a data row (of missing values), so that
    rows keep their place. Row numbers in messages are the file's lines, counting the header.
    """
    path = Path(path)
    limit = check_regular_file(path)  # taken before reading: afterwards the headroom is what is left
    # the csv module's own cap on a cell (128 Ki characters) would cut under the documented line limit
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_LINE_CHARS))
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(_bounded_lines(handle, path, progress))
            first_line = 1
            for row in reader:
                blank_line = not row or (len(row) == 1 and not row[0].strip())
                # before the header, a row of empty cells is skipped too (it names no columns)
                if (not blank_line) if rows else any(cell.strip() for cell in row):
                    rows.append([cell.strip() for cell in row])  # stripped now: no second copy later
                    lines.append(first_line)
                first_line = reader.line_num + 1
    except MemoryError:  # the file fits the limit, its rows as Python strings (several times larger) did not
        rows.clear()
        raise DataError(
            f"{path}: the CSV does not fit in memory once read ({len(lines):,} rows read; limit: {limit}); "
            "use a smaller file"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the CSV ({exc.__class__.__name__}: {exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        line = f"line {first_line}: " if isinstance(exc, csv.Error) else ""
        raise DataError(f"{path}: cannot read the CSV ({line}{exc.__class__.__name__}: {exc})") from None
    if not rows:
        raise DataError(f"{path}: the CSV file is empty (expected a header row and data rows)")
    header = rows[0]
    if len(rows) == 1:
        raise DataError(f"{path}: the CSV has a header but no data rows")
    seen: set[str] = set()
    for name in header:
        if not name:
            raise DataError(f"{path}: the header has an empty column name")
        if name in seen:
            raise DataError(f"{path}: duplicate column name {name!r} in the header")
        seen.add(name)
    for number, row in itertools.islice(zip(lines, rows, strict=True), 1, None):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(row)} cells, the header has {len(header)} columns"
            )
    del rows[0], lines[0]  # in place: the rows may fill much of memory
    return CsvRows(header, rows, lines)


def encode_features(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    columns: Sequence[str],
    categories: dict[str, list[str]],
    source: str,
    line_numbers: Sequence[int],
) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix from the named columns; `categories` columns one-hot encoded (fixed categories).

    Raises DataError naming the column and the file's line (`line_numbers`: one per row) of a bad cell.
    """
    numbers = line_numbers
    index = {name: i for i, name in enumerate(header)}
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for column in columns:
        cells = [row[index[column]] for row in rows]
        if column in categories:
            known = categories[column]
            position = {value: k for k, value in enumerate(known)}
            block = np.zeros((len(rows), len(known)))
            for r, cell in enumerate(cells):
                if cell not in position:
                    raise DataError(
                        f"{source}: line {numbers[r]}, column {column!r}: unknown category {cell!r} "
                        f"(known: {', '.join(known)})"
                    )
                block[r, position[cell]] = 1.0
            blocks.append(block)
            names.extend(f"{column}={value}" for value in known)
            continue
        values = np.empty(len(rows))
        for r, cell in enumerate(cells):
            try:
                values[r] = float(cell)
            except ValueError:
                raise DataError(
                    f"{source}: line {numbers[r]}, column {column!r}: {cell!r} is not a number "
                    f"(declare the column in data.categorical if it is a category)"
                ) from None
            if not np.isfinite(values[r]):
                raise DataError(f"{source}: line {numbers[r]}, column {column!r}: {cell!r} is not finite")
        blocks.append(values[:, None])
        names.append(column)
    X = np.hstack(blocks) if blocks else np.empty((len(rows), 0))
    return X, names


def select_columns(source: str, header: Sequence[str], cfg: DataConfig) -> list[str]:
    """The feature columns a config asks for (data.features, else all but the target), categorical last
    unless listed; DataError naming the column for a target, feature or category not in the header."""
    assert cfg.target is not None  # guaranteed by config validation
    if cfg.target not in header:
        raise DataError(
            f"{source}: data.target column {cfg.target!r} is not in the header ({', '.join(header)})"
        )
    features = list(cfg.features) if cfg.features is not None else [h for h in header if h != cfg.target]
    for column in [*features, *cfg.categorical]:
        if column not in header:
            raise DataError(f"{source}: column {column!r} (data.features/categorical) is not in the header")
        if column == cfg.target:
            raise DataError(f"{source}: the target column {column!r} cannot also be a feature")
    if not features:
        raise DataError(f"{source}: no feature columns (the CSV has only the target column)")
    for key, listed in (("data.features", features), ("data.categorical", cfg.categorical)):
        twice = sorted({c for c in listed if listed.count(c) > 1})
        if twice:  # a repeated column would silently count twice in the model
            raise DataError(f"{source}: column {twice[0]!r} is listed twice in {key}")
    for column in cfg.categorical:
        if column not in features:
            features.append(column)
    return features
