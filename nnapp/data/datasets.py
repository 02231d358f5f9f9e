"""Datasets: scikit-learn's bundled and generated ones, and the user's CSV files.

Everything returned is numeric and split (stratified train/val/test); labels are encoded as
0..N_c-1 and `classes` maps them back to what the user wrote. scikit-learn is imported inside the
functions that need it, to keep `nnapp --help` fast.
"""

from __future__ import annotations

import csv
import itertools
import stat
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnapp.config import DataConfig
from nnapp.data import bundled, generated, splits
from nnapp.errors import DataError

BUILTIN = ("iris", "wine", "breast_cancer", "digits", "moons", "circles", "blobs", *generated.GENERATORS)
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})


@dataclass
class Table:
    """Raw features before scaling: X (n, d) float64, y (n,) original labels."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)  # one-hot encoded columns
    columns: list[str] = field(default_factory=list)  # the CSV's input columns, in order
    dropped_rows: int = 0


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
    scaler_mean: np.ndarray
    scaler_scale: np.ndarray
    categories: dict[str, list[str]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    dropped_rows: int = 0
    name: str = ""

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"X_{which}"), getattr(self, f"y_{which}")


def builtin_table(cfg: DataConfig, seed: int) -> Table:
    name = cfg.dataset
    shipped = bundled.load(name)  # read without importing scikit-learn (start-up time)
    if shipped is not None:
        X, labels, names = shipped
        return Table(X, labels, list(names))
    if name in generated.GENERATORS:  # numpy only: no scikit-learn import at train time
        X, y = generated.generate(name, cfg.n_samples, cfg.noise, cfg.centers, seed)
        return Table(X, y, ["x1", "x2"])

    from sklearn import datasets

    if name in ("iris", "wine", "breast_cancer", "digits"):
        bunch = getattr(datasets, f"load_{name}")()
        names = [str(n) for n in getattr(bunch, "feature_names", [])]
        target_names = np.asarray(getattr(bunch, "target_names", np.unique(bunch.target)))
        return Table(np.asarray(bunch.data, dtype=np.float64), target_names[bunch.target], names)
    if name == "moons":
        X, y = datasets.make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=seed)
    elif name == "circles":
        X, y = datasets.make_circles(n_samples=cfg.n_samples, noise=cfg.noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        X, y = datasets.make_blobs(
            n_samples=cfg.n_samples,
            n_features=cfg.n_features,
            centers=cfg.centers,
            cluster_std=1.0 + 10 * cfg.noise,
            random_state=seed,
        )
    else:
        raise DataError(f"data.dataset: unknown dataset {name!r}")
    return Table(X.astype(np.float64), y, [f"x{i + 1}" for i in range(X.shape[1])])


def describe_builtin(name: str) -> tuple[int, int, int]:
    """(samples, features, classes) of a built-in dataset with its default settings."""
    table = builtin_table(DataConfig(dataset=name), seed=0)  # type: ignore[arg-type]
    return len(table.y), table.X.shape[1], len(np.unique(table.y))


# far wider than any real row: reading /dev/zero-like data or a file without newlines stops here
MAX_CSV_LINE_CHARS = 2**20


@dataclass(frozen=True)
class CsvRows:
    """A CSV's header and data rows (cells stripped), with each row's line number in the file (header = 1)."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def _bounded_lines(handle: typing.TextIO, path: Path) -> Iterator[str]:
    """The file's lines, refusing one longer than MAX_CSV_LINE_CHARS before it fills memory."""
    number = 0
    while True:
        line = handle.readline(MAX_CSV_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_CSV_LINE_CHARS:
            raise DataError(
                f"{path}: line {number} is longer than {MAX_CSV_LINE_CHARS:,} characters; is this a CSV file?"
            )
        yield line


def _check_regular_file(path: Path) -> str:
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
    from nnapp.data.preflight import memory_limit  # preflight imports this module

    limit = memory_limit()
    if size > limit.bytes:  # its rows as Python strings take several times the file's size
        raise DataError(
            f"{path}: the CSV file is {size / 2**30:,.1f} GiB, more than the {limit.bytes / 2**30:.1f} GiB "
            f"of memory this machine allows ({limit.source})"
        )
    return f"{limit.bytes / 2**30:.1f} GiB, {limit.source}"


def _memory_limit_text() -> str:
    """The memory a run may use, for messages; taken before reading (after, the headroom is what is left)."""
    from nnapp.data.preflight import memory_limit  # preflight imports this module

    limit = memory_limit()
    return f"{limit.bytes / 2**30:.1f} GiB, {limit.source}"


def read_csv(path: str | Path) -> CsvRows:
    """Header and data rows as strings; errors name the file (and the line).

    Blank lines are skipped; a row of empty cells (`,,,`) is a data row (of missing values), so that
    rows keep their place. Row numbers in messages are the file's lines, counting the header.
    """
    path = Path(path)
    limit = _check_regular_file(path)  # taken before reading: afterwards the headroom is what is left
    # the csv module's own cap on a cell (128 Ki characters) would cut under the documented line limit
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_LINE_CHARS))
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(_bounded_lines(handle, path))
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


def csv_table(cfg: DataConfig, base_dir: Path | None = None) -> Table:
    assert cfg.path is not None and cfg.target is not None  # guaranteed by config validation
    path = Path(cfg.path)
    if base_dir is not None and not path.is_absolute() and not path.exists():
        path = base_dir / path
    source = str(path)
    table = read_csv(path)
    header, rows = table.header, table.rows
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
    _check_width(source, len(rows), features, categories)
    X, names = encode_features(header, rows, features, categories, source, row_numbers)
    y = np.asarray([row[header.index(cfg.target)] for row in rows])
    return Table(X, y, names, categories, features, dropped)


def _check_width(source: str, n_rows: int, features: list[str], categories: dict[str, list[str]]) -> None:
    """Refuse a one-hot encoding too big for memory (an ID column declared categorical) before building it."""
    from nnapp.data.preflight import machine_memory_bytes  # preflight imports this module

    width = sum(len(categories[c]) if c in categories else 1 for c in features)
    need = 3 * 8 * n_rows * width  # the encoded table, its standardized copy and the splits
    if need > machine_memory_bytes():
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


def load_table(cfg: DataConfig, seed: int, base_dir: Path | None = None) -> Table:
    if cfg.dataset != "csv":
        return builtin_table(cfg, seed)
    limit = _memory_limit_text()
    try:
        return csv_table(cfg, base_dir)
    except MemoryError:  # read, then encoded: several times the file's size in memory
        raise DataError(
            f"{cfg.path}: the CSV does not fit in memory once read and encoded "
            f"(limit: {limit}); use a smaller file"
        ) from None


def split_and_scale(table: Table, cfg: DataConfig, seed: int, source: str) -> Dataset:
    labels = table.y if table.y.dtype.kind in "iu" else table.y.astype(str)
    classes, y = splits.encode_labels(labels)
    n_classes = len(classes)
    if n_classes < 2:
        raise DataError(f"{source}: the target has only one class ({str(classes[0])!r}); need at least two")
    counts = np.bincount(y, minlength=n_classes)
    n = len(y)
    n_test = int(np.ceil(cfg.test_size * n))
    n_val = int(np.ceil(cfg.val_size * (n - n_test) / (1 - cfg.test_size))) if n > n_test else 0
    n_train = n - n_test - n_val
    if min(n_test, n_val, n_train) < n_classes:
        raise DataError(
            f"{source}: {n} rows are too few for a stratified split with {n_classes} classes "
            f"(data.test_size={cfg.test_size}, data.val_size={cfg.val_size} leave "
            f"train/val/test = {n_train}/{n_val}/{n_test} rows; each needs at least one row per class)"
        )
    if counts.min() < 3:
        rare = str(classes[int(np.argmin(counts))])
        raise DataError(
            f"{source}: class {rare!r} has {counts.min()} row(s); a stratified train/val/test split needs "
            "at least 3 per class"
        )
    indices = np.arange(n)
    try:
        rest, test = splits.stratified_split(indices, y, cfg.test_size, seed)
        val_fraction = cfg.val_size / (1 - cfg.test_size)
        train, val = splits.stratified_split(rest, y[rest], val_fraction, seed)
    except ValueError as exc:
        raise DataError(f"{source}: cannot split the data stratified: {exc}") from None
    X = table.X
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, by column
        if cfg.standardize:
            mean, scale, var = splits.standard_scale(X[train])
        else:
            mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        Xs = (X - mean) / scale
    if cfg.standardize:
        # an overflowing variance turns into scale 1 (as in scikit-learn), leaving 1e308 in place: check both
        overflow = ~np.isfinite(Xs).all(axis=0) | ~np.isfinite(var)
        if overflow.any():
            bad = [table.feature_names[j] for j in np.flatnonzero(overflow)]
            raise DataError(
                f"{source}: column(s) {', '.join(repr(b) for b in bad[:5])} cannot be standardized: "
                "their values overflow a float64 (near 1e308); rescale them"
            )
    return Dataset(
        X_train=Xs[train],
        y_train=y[train],
        X_val=Xs[val],
        y_val=y[val],
        X_test=Xs[test],
        y_test=y[test],
        classes=classes,
        feature_names=table.feature_names,
        scaler_mean=np.asarray(mean, dtype=np.float64),
        scaler_scale=np.asarray(scale, dtype=np.float64),
        categories=table.categories,
        columns=table.columns,
        dropped_rows=table.dropped_rows,
        name=cfg.dataset if cfg.dataset != "csv" else Path(cfg.path or "").name,
    )


def load_dataset(
    cfg: DataConfig, seed: int, base_dir: Path | None = None, config_source: str | None = None
) -> Dataset:
    """Load, encode, split (stratified, seeded) and standardize (fit on training rows only).

    `config_source` (the config file) is named in errors about a built-in dataset, which has no file.
    """
    table = load_table(cfg, seed, base_dir)
    source = f"dataset {cfg.dataset}" if config_source is None else f"{config_source} (dataset {cfg.dataset})"
    if cfg.dataset == "csv":
        source = str(cfg.path)
    return split_and_scale(table, cfg, seed, source)
