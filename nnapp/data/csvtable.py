"""A CSV file as a numeric Table: numpy's C parser for the common clean file, the careful reader otherwise.

The fast path reads the file in chunks of about a million characters: each chunk's numeric columns go
through `np.loadtxt` (C speed) and its label and category columns through one string split per line, so
memory stays near the size of the data. It takes only what it can prove it reads exactly as the careful
reader (`csvfile`) would: no quote characters, no NULs, line ends `\\n` or `\\r\\n`, every line (but blank
ones) with the header's number of cells, every used cell present, finite and not a missing-value token,
numbers in the syntax both accept. Anything else, including every kind of error, makes it give up
(`_NotSimple`), and the careful reader reads the whole file from the start: its messages (file line and
column), its order of checks and its missing-value policy are the only ones. Both give identical arrays
(tests/test_csv_paths.py).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from nnapp.config import DataConfig
from nnapp.data import preflight
from nnapp.data.csvfile import (
    MAX_CSV_LINE_CHARS,
    MISSING_TOKENS,
    check_regular_file,
    encode_features,
    read_csv,
    select_columns,
)
from nnapp.data.tables import Table
from nnapp.errors import DataError

# (characters read so far, the file's size in bytes): how far reading has come, for a progress bar
ReadProgress = Callable[[int, int], None]

# a chunk is read whole, then completed to the end of its line: every line inside it is at most this long,
# so only the last line of a chunk needs its length checked against MAX_CSV_LINE_CHARS
CHUNK_CHARS = MAX_CSV_LINE_CHARS
FAST_PATH = True  # tests switch it off to run the same cases through the careful reader alone


class _NotSimple(Exception):
    """The file needs the careful reader: quotes, missing values, odd lines or an error to report."""


def csv_table(cfg: DataConfig, base_dir: Path | None = None, progress: ReadProgress | None = None) -> Table:
    """Read, check and encode the CSV a config names (a relative path falls back to `base_dir`)."""
    assert cfg.path is not None and cfg.target is not None  # guaranteed by config validation
    path = Path(cfg.path)
    if base_dir is not None and not path.is_absolute() and not path.exists():
        path = base_dir / path
    check_regular_file(path)  # refused before any reading, by both paths alike
    if FAST_PATH:
        table = fast_table(path, cfg, progress)
        if table is not None:
            return table
    return careful_table(path, cfg, progress)


def careful_table(path: Path, cfg: DataConfig, progress: ReadProgress | None = None) -> Table:
    """The reference: every cell read as a string by the csv module, checked, then encoded."""
    assert cfg.target is not None  # guaranteed by config validation
    source = str(path)
    table = read_csv(path, progress)
    header, rows = table.header, table.rows
    features = select_columns(source, header, cfg)
    used = [header.index(c) for c in [*features, cfg.target]]
    row_numbers = table.lines  # the file's line numbers, header = 1
    missing_rows = [n for n, row in enumerate(rows) if any(row[i].lower() in MISSING_TOKENS for i in used)]
    dropped = 0
    if missing_rows:
        if cfg.missing == "error":
            bad_columns = sorted(
                {header[i] for n in missing_rows for i in used if rows[n][i].lower() in MISSING_TOKENS}
            )
            first = ", ".join(str(row_numbers[n]) for n in missing_rows[:5])
            raise DataError(
                f"{source}: {len(missing_rows)} row(s) have missing values in column(s) "
                f"{', '.join(bad_columns)} (first at line(s) {first}); set data.missing: drop to skip them"
            )
        keep = sorted(set(range(len(rows))) - set(missing_rows))
        rows = [rows[n] for n in keep]
        row_numbers = [row_numbers[n] for n in keep]
        dropped = len(missing_rows)
        if not rows:
            raise DataError(f"{source}: every row has a missing value; nothing is left to train on")

    categories = {c: sorted({row[header.index(c)] for row in rows}) for c in cfg.categorical}
    check_width(source, len(rows), features, categories)
    X, names = encode_features(header, rows, features, categories, source, row_numbers)
    y = np.asarray([row[header.index(cfg.target)] for row in rows])
    return Table(X, y, names, categories, features, dropped)


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


def fast_table(path: Path, cfg: DataConfig, progress: ReadProgress | None = None) -> Table | None:
    """The Table of a clean CSV read at C speed, or None when the careful reader must read it."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _read_fast(handle, path, cfg, progress)
    except (_NotSimple, ValueError, OSError):  # ValueError: also UnicodeDecodeError; all re-read carefully
        return None


def _header(handle: io.TextIOBase) -> list[str]:
    """The first line's cells: a header without quotes, empty or repeated names (else the careful reader)."""
    line = handle.readline(MAX_CSV_LINE_CHARS + 1)
    if len(line) > MAX_CSV_LINE_CHARS or not line.strip() or '"' in line or "\x00" in line:
        raise _NotSimple
    header = [cell.strip() for cell in line.rstrip("\r\n").split(",")]
    if "" in header or len(set(header)) != len(header) or len(header) < 2:
        raise _NotSimple
    return header


def _chunks(handle: io.TextIOBase) -> Iterator[str]:
    """The rest of the file in pieces of about CHUNK_CHARS characters, each ending at a line end."""
    while True:
        chunk = handle.read(CHUNK_CHARS)
        if not chunk:
            return
        if chunk.endswith("\r"):  # a "\r\n" cut in two would read as two line ends
            chunk += handle.read(1)
        if not chunk.endswith(("\n", "\r")):
            chunk += handle.readline(MAX_CSV_LINE_CHARS + 1)
        last_start = chunk.rfind("\n", 0, len(chunk) - 1) + 1
        if len(chunk) - last_start > MAX_CSV_LINE_CHARS:  # the careful reader names the line
            raise _NotSimple
        yield chunk


def _lines(chunk: str, n_cells: int) -> list[str]:
    """A chunk's non-blank lines, each with exactly n_cells cells and nothing the C parser reads otherwise."""
    if '"' in chunk or "\x00" in chunk:
        raise _NotSimple
    if "\r" in chunk:
        chunk = chunk.replace("\r\n", "\n")
        if "\r" in chunk:  # a lone carriage return ends a line for the csv module only
            raise _NotSimple
    lines = chunk.split("\n")
    if "" in lines:  # blank lines are skipped, as the careful reader does (and the last split is empty)
        lines = [line for line in lines if line]
    if lines and set(map(str.count, lines, itertools.repeat(","))) != {n_cells - 1}:
        raise _NotSimple  # a ragged row, or a blank line of spaces: the careful reader says which
    return lines


def _cells(lines: Sequence[str], column: int, n_cells: int) -> np.ndarray:
    """One column's stripped cells as a string array; missing-value tokens are left to the careful reader."""
    if column == n_cells - 1:
        cells = [line.rpartition(",")[2].strip() for line in lines]
    elif column == 0:
        cells = [line.partition(",")[0].strip() for line in lines]
    else:
        cells = [line.split(",", column + 1)[column].strip() for line in lines]
    if any(value.lower() in MISSING_TOKENS for value in set(cells)):
        raise _NotSimple
    return np.asarray(cells)


def _read_fast(handle: io.TextIOBase, path: Path, cfg: DataConfig, progress: ReadProgress | None) -> Table:
    assert cfg.target is not None  # guaranteed by config validation
    source = str(path)
    header = _header(handle)
    try:
        features = select_columns(source, header, cfg)
    except DataError:  # said by the careful reader, after the checks it makes first
        raise _NotSimple from None
    n_cells, size = len(header), path.stat().st_size
    numeric = [header.index(c) for c in features if c not in cfg.categorical]
    strings = [header.index(c) for c in [cfg.target, *cfg.categorical]]
    blocks: list[np.ndarray] = []
    texts: list[list[np.ndarray]] = [[] for _ in strings]
    done = 0
    for chunk in _chunks(handle):
        done += len(chunk)
        lines = _lines(chunk, n_cells)
        if not lines:
            continue
        if numeric:
            block = np.loadtxt(lines, delimiter=",", comments=None, usecols=numeric, ndmin=2)
            if block.shape[0] != len(lines) or not np.isfinite(block).all():
                raise _NotSimple  # NaN is a missing value, inf an error: the careful reader's to report
            blocks.append(block)
        for column, parts in zip(strings, texts, strict=True):
            parts.append(_cells(lines, column, n_cells))
        if progress is not None:
            progress(done, size)
    if not texts[0]:
        raise _NotSimple  # a header and no data rows
    numbers = np.concatenate(blocks) if blocks else np.empty((0, 0))
    del blocks
    y = np.concatenate(texts[0])
    return _encode(source, cfg, features, numbers, y, [np.concatenate(t) for t in texts[1:]])


def _encode(
    source: str,
    cfg: DataConfig,
    features: list[str],
    numbers: np.ndarray,
    y: np.ndarray,
    cells: list[np.ndarray],
) -> Table:
    """The Table of the numeric columns (in `features` order) and the categorical columns' cells."""
    categories: dict[str, list[str]] = {}
    codes: dict[str, np.ndarray] = {}
    for column, values in zip(cfg.categorical, cells, strict=True):
        known, codes[column] = np.unique(values, return_inverse=True)  # sorted as Python sorts strings
        categories[column] = [str(value) for value in known]
    check_width(source, len(y), features, categories)
    if not categories:
        return Table(numbers, y, list(features), {}, list(features), 0)
    width = sum(len(categories[c]) if c in categories else 1 for c in features)
    X = np.empty((len(y), width))
    names: list[str] = []
    position, numeric_index = 0, 0
    for column in features:
        if column in categories:
            known_values = categories[column]
            X[:, position : position + len(known_values)] = codes[column][:, None] == np.arange(
                len(known_values)
            )
            names.extend(f"{column}={value}" for value in known_values)
            position += len(known_values)
        else:
            X[:, position] = numbers[:, numeric_index]
            names.append(column)
            position, numeric_index = position + 1, numeric_index + 1
    return Table(X, y, names, categories, list(features), 0)
