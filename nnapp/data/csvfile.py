"""Reading a CSV file as users export it: pandas' C parser, with nnapp's checks and one-line messages.

The separator is sniffed from the first lines (`,` `;` tab `|`) and handed to the C engine (pandas'
`sep=None` would sniff too, but only in its slow Python engine). R's `write.csv` row names (a first column
under an empty header cell) are recognised. Every pandas error becomes a DataError naming the file, and
the line where there is one: line numbers count the header and blank lines as the file's own lines. They
are worked out with the csv module only when a message needs one (or when a row may be short, which pandas
would silently pad), so a clean file is read once, at C speed. pandas is imported here, where a CSV is
read, not when `nnapp --help` starts.
"""

from __future__ import annotations

import csv
import io
import re
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.data import preflight
from nnapp.errors import DataError

# cells that mean "no value" (compared stripped and case-insensitively); R writes NA
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})
_NA_VALUES = sorted({v for token in MISSING_TOKENS for v in (token, token.upper(), token.title())})

# far wider than any real row: reading /dev/zero-like data or a file without newlines stops here
MAX_CSV_LINE_CHARS = 2**20
DELIMITERS = ",;\t|"  # what the sniffer chooses from; data.delimiter may name any other single character
_HEAD_BYTES = 64 * 1024  # the sniffer's sample: the first lines of the file
_PARSER_BLOCK = 1 << 20  # bytes handed to pandas per read: line lengths and progress are checked per block

# (bytes read so far, the file's size in bytes): how far reading has come, for a progress bar
ReadProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class CsvOptions:
    """How the file's text reads as cells: data.delimiter (None: sniffed), data.decimal, data.thousands."""

    delimiter: str | None = None
    decimal: str | None = None  # None: '.', and ',' for a text column that reads as numbers only so
    thousands: str | None = None


@dataclass
class CsvFrame:
    """A CSV read whole: its header as written and a pandas DataFrame of its data rows (columns named by
    the header; R's row-names column, if any, is under ROW_NAMES and is never a feature)."""

    path: Path
    header: list[str]
    frame: Any  # pandas.DataFrame (typed Any: pandas is imported only where a CSV is read)
    delimiter: str
    options: CsvOptions
    row_names: bool = False  # the first column had an empty header cell (R's write.csv)
    _lines: list[int] | None = field(default=None, repr=False)

    def line_of(self, row: int) -> int:
        """The file line (header = 1, blank lines counted) on which data row `row` starts."""
        if self._lines is None:
            self._lines, _ = _scan_rows(self.path, self.delimiter)
        if len(self._lines) != len(self.frame):  # the csv module split the rows otherwise: count plainly
            self._lines = list(range(2, len(self.frame) + 2))
        return self._lines[row]


ROW_NAMES = ""  # the header cell R's write.csv leaves empty above its row names


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
    if size > limit.bytes:  # parsed, its columns take about the file's size again
        raise DataError(
            f"{path}: the CSV file is {size / 2**30:,.1f} GiB, more than the {limit.bytes / 2**30:.1f} GiB "
            f"of memory this machine allows ({limit.source})"
        )
    return f"{limit.bytes / 2**30:.1f} GiB, {limit.source}"


class _CheckedStream:
    """The file's bytes for pandas, in blocks: refuses a line longer than MAX_CSV_LINE_CHARS (counted in
    bytes, which is characters for ASCII text) before the parser holds it, and reports progress."""

    def __init__(self, handle: Any, path: Path, progress: ReadProgress | None) -> None:
        self.handle, self.path, self.progress = handle, path, progress
        self.size = path.stat().st_size
        self.done = 0
        self.run = 0  # bytes since the last line end

    def read(self, size: int = -1) -> bytes:
        block = self.handle.read(_PARSER_BLOCK if size is None or size < 0 else min(size, _PARSER_BLOCK))
        raw = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero((raw == 10) | (raw == 13))  # "\n" and "\r": a CRLF is an empty line between
        if len(ends):  # each line's length without its end: from the previous end (or the carry-over)
            longest = max(self.run + int(ends[0]), int(np.diff(ends).max(initial=1)) - 1)
            self.run = len(block) - int(ends[-1]) - 1
            if longest >= MAX_CSV_LINE_CHARS:  # with its line end, longer than the limit
                self._too_long()
        else:
            self.run += len(block)
        if self.run > MAX_CSV_LINE_CHARS:
            self._too_long()
        self.done += len(block)
        if self.progress is not None and block:
            self.progress(self.done, self.size)
        return block

    def _too_long(self) -> None:
        """Refuse the file, naming the first line that is too long (counted again from the start)."""
        self.handle.seek(0)
        number = 1
        for line in iter(lambda: self.handle.readline(MAX_CSV_LINE_CHARS + 1), b""):
            if len(line.rstrip(b"\r\n")) >= MAX_CSV_LINE_CHARS:
                break
            number += 1
        raise DataError(
            f"{self.path}: line {number} is longer than {MAX_CSV_LINE_CHARS:,} characters; "
            "is this a CSV file?"
        )


def _head(path: Path) -> str:
    """The first lines of the file as text, at least the whole first line (a cut multi-byte character at
    the end is left out); DataError for a first line longer than MAX_CSV_LINE_CHARS."""
    with path.open("rb") as handle:
        data = handle.read(_HEAD_BYTES)
        while len(data) <= MAX_CSV_LINE_CHARS and not re.search(rb"[\r\n]", data.lstrip(b"\r\n \t")):
            more = handle.read(_HEAD_BYTES)
            if not more:
                break
            data += more
    complete = len(data) < _HEAD_BYTES  # the whole file
    if not complete and not re.search(rb"[\r\n]", data.lstrip(b"\r\n \t")):
        raise DataError(
            f"{path}: line 1 is longer than {MAX_CSV_LINE_CHARS:,} characters; is this a CSV file?"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 4:  # not just a character cut by the sample's end
            raise DataError(f"{path}: cannot read the CSV (UnicodeDecodeError: {exc})") from None
        text = data[: exc.start].decode("utf-8-sig")
    if not complete:
        text = text[: max(text.rfind("\n"), text.rfind("\r"))]  # whole lines only
    return text


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def sniff_delimiter(text: str) -> str:
    """The separator of a CSV whose first lines are `text`: the only candidate in the header, else
    csv.Sniffer's choice among those in the header, else ','."""
    header = _first_line(text)
    present = [d for d in DELIMITERS if d in header]
    if len(present) == 1:
        return present[0]
    if not present:
        return ","
    try:
        found = csv.Sniffer().sniff(text, delimiters="".join(present)).delimiter
    except csv.Error:  # no consistent candidate: the one the header uses most
        return max(present, key=header.count)
    return found if found in present else ","


def likely_delimiter(cell: str) -> str | None:
    """The separator a one-column header seems to use (for the hint when a column is not found)."""
    counts = {d: cell.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def _header(path: Path, head: str, delimiter: str) -> tuple[list[str], bool]:
    """The header's names (stripped) and whether the first column holds R's row names; DataError naming an
    empty or repeated name."""
    line = _first_line(head)
    if not line:
        raise DataError(f"{path}: the CSV file is empty (expected a header row and data rows)")
    try:
        header = [name.strip() for name in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration) as exc:
        raise DataError(f"{path}: cannot read the CSV header (line 1: {exc})") from None
    row_names = len(header) > 1 and header[0] == ROW_NAMES
    seen: set[str] = set()
    for position, name in enumerate(header):
        if not name and not (position == 0 and row_names):
            raise DataError(
                f"{path}: the header has an empty column name (column {position + 1}); name it, "
                "or delete the column"
            )
        if name in seen:
            raise DataError(f"{path}: duplicate column name {name!r} in the header")
        seen.add(name)
    return header, row_names


def read_csv(
    path: str | Path,
    options: CsvOptions = CsvOptions(),
    progress: ReadProgress | None = None,
    text_columns: tuple[str, ...] = (),
) -> CsvFrame:
    """The CSV's header and data rows (cells stripped, missing-value tokens as NaN); errors name the file
    and the line. `text_columns` are kept as written (labels, categories: "01" stays "01").

    Blank lines are skipped; a row of empty cells (`,,,`) is a data row of missing values, so that rows
    keep their place.
    """
    import pandas as pd

    path = Path(path)
    limit = check_regular_file(path)  # taken before reading: afterwards the headroom is what is left
    head = _head(path)
    delimiter = options.delimiter or sniff_delimiter(head)
    header, row_names = _header(path, head, delimiter)
    text = {name: str for name in text_columns if name in header}
    try:
        with path.open("rb") as handle, warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                _CheckedStream(handle, path, progress),
                sep=delimiter,
                decimal=options.decimal or ".",
                thousands=options.thousands,
                engine="c",
                encoding="utf-8-sig",
                header=0,
                index_col=False,
                skipinitialspace=True,
                keep_default_na=False,
                na_values=_NA_VALUES,
                dtype=text or None,
                low_memory=False,  # one type per column, not one per block of rows
            )
    except MemoryError:  # the file fits the limit, its columns once parsed did not
        raise DataError(
            f"{path}: the CSV does not fit in memory once read (limit: {limit}); use a smaller file"
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: {_parser_message(exc, len(header))}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the CSV file is empty (expected a header row and data rows)") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: cannot read the CSV (UnicodeDecodeError: {exc})") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the CSV ({exc.__class__.__name__}: {exc})") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path}: the CSV has a header but no data rows")
    frame.columns = header
    table = CsvFrame(path, header, frame, delimiter, options, row_names)
    # pandas pads a short row with NaN, and cuts a first row longer than the header with a warning
    ragged = any(issubclass(w.category, pd.errors.ParserWarning) for w in warned)
    if ragged or frame.iloc[:, -1].isna().any():  # the csv module counts the cells
        lines, widths = _scan_rows(path, delimiter)
        table._lines = lines
        for line, width in zip(lines, widths, strict=False):  # (the first ragged row, whatever else differs)
            if width != len(header):
                raise DataError(
                    f"{path}: line {line} has {width} cells, the header has {len(header)} columns"
                )
    return table


def _parser_message(exc: Exception, n_columns: int) -> str:
    """pandas' tokenizer error in nnapp's words (its line numbers are the file's lines)."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        return f"line {found[2]} has {found[3]} cells, the header has {n_columns} columns"
    return f"cannot read the CSV ({str(exc).strip()})"


def _scan_rows(path: Path, delimiter: str) -> tuple[list[int], list[int]]:
    """The file line on which each data row starts and its number of cells, read by the csv module.

    Rows are counted as pandas counts them: blank lines (or only spaces) are skipped, the first other row
    is the header.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_LINE_CHARS))
    lines: list[int] = []
    widths: list[int] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        last = [""]  # the physical line read last: a line of spaces is blank, a line '""' is a cell

        def physical_lines() -> Iterator[str]:
            for line in handle:
                last[0] = line
                yield line

        reader = csv.reader(physical_lines(), delimiter=delimiter, skipinitialspace=True)
        first_line, seen_header = 1, False
        for row in reader:
            blank = not row or (len(row) == 1 and not last[0].strip())
            if not blank:
                if seen_header:
                    lines.append(first_line)
                    widths.append(len(row))
                seen_header = True
            first_line = reader.line_num + 1
    return lines, widths


def text_io(text: str) -> io.BytesIO:
    """A CSV's text as the bytes read_csv's parser takes (for rows that come from memory, not a file)."""
    return io.BytesIO(text.encode())
