"""Datasets: scikit-learn's bundled and generated ones, and the user's CSV files.

Everything returned is numeric and split (stratified train/val/test); labels are encoded as
0..N_c-1 and `classes` maps them back to what the user wrote. scikit-learn is imported inside the
functions that need it, to keep `nnapp --help` fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from nnapp.config import DataConfig
from nnapp.data import bundled, generated, preflight, splits
from nnapp.data.csvtable import ReadProgress, csv_table
from nnapp.data.tables import Dataset, Table
from nnapp.errors import DataError

__all__ = ["BUILTIN", "Dataset", "Table", "load_dataset", "load_table", "split_and_scale"]

BUILTIN = ("iris", "wine", "breast_cancer", "digits", "moons", "circles", "blobs", *generated.GENERATORS)


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
    table = builtin_table(DataConfig(dataset=cast(Any, name)), seed=0)  # a name from BUILTIN
    return len(table.y), table.X.shape[1], len(np.unique(table.y))


def load_table(
    cfg: DataConfig, seed: int, base_dir: Path | None = None, progress: ReadProgress | None = None
) -> Table:
    """The raw table of a built-in dataset or of a CSV (`progress` follows the reading of a CSV)."""
    if cfg.dataset != "csv":
        return builtin_table(cfg, seed)
    limit = preflight.memory_limit()  # taken before reading: afterwards the headroom is what is left
    try:
        return csv_table(cfg, base_dir, progress)
    except MemoryError:  # read, then encoded: several times the file's size in memory
        raise DataError(
            f"{cfg.path}: the CSV does not fit in memory once read and encoded "
            f"(limit: {limit.bytes / 2**30:.1f} GiB, {limit.source}); use a smaller file"
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
    # Each split is gathered once (a copy of its rows) and scaled in place: no other copy of the whole
    # table is made ((X - offset) / scale made two), and the same numbers come out element by element.
    X_train, X_val, X_test = (np.asarray(table.X[rows], dtype=np.float64) for rows in (train, val, test))
    offset, scale = scale_parts([X_train, X_val, X_test], cfg.scaling, table.feature_names, source)
    return Dataset(
        X_train=X_train,
        y_train=y[train],
        X_val=X_val,
        y_val=y[val],
        X_test=X_test,
        y_test=y[test],
        classes=classes,
        feature_names=table.feature_names,
        scaler_mean=offset,
        scaler_scale=scale,
        categories=table.categories,
        columns=table.columns,
        dropped_rows=table.dropped_rows,
        name=cfg.dataset if cfg.dataset != "csv" else Path(cfg.path or "").name,
        scaling=cfg.scaling,
        notes=table.notes,
    )


def scale_parts(
    parts: list[np.ndarray],
    scaling: str,
    feature_names: list[str],
    source: str,
    fit_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale) of the scaler (x - offset) / scale of `scaling` (data.scaling: standard, minmax,
    maxabs or none), fit on `fit_rows` (default: parts[0], the training rows) and applied to every part
    in place (float64 arrays)."""
    fit_on = parts[0] if fit_rows is None else fit_rows
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, by column
        if scaling == "standard":  # its variance, too: an overflowing one becomes scale 1, as in sklearn
            offset, scale, spread = splits.standard_scale(fit_on)
        else:
            offset, scale = splits.fit_scaling(scaling, fit_on)
            spread = scale
        for part in parts:
            part -= offset
            part /= scale
    if scaling != "none":
        # an overflowing spread turns into scale 1 (as in scikit-learn), leaving 1e308 in place: check both
        overflow = ~np.isfinite(offset) | ~np.isfinite(spread)
        for part in parts:
            overflow |= ~np.isfinite(part).all(axis=0)
        if overflow.any():
            bad = [feature_names[j] for j in np.flatnonzero(overflow)]
            raise DataError(
                f"{source}: column(s) {', '.join(repr(b) for b in bad[:5])} cannot be scaled "
                f"(data.scaling: {scaling}): their values overflow a float64 (near 1e308); rescale them"
            )
    return np.asarray(offset, dtype=np.float64), np.asarray(scale, dtype=np.float64)


def scale_features(
    X: np.ndarray, train: np.ndarray, scaling: str, feature_names: list[str], source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X scaled, offset, scale): scale_parts on one array holding every row, fit on the rows `train`."""
    Xs = np.array(X, dtype=np.float64)  # the caller's array stays as it was
    offset, scale = scale_parts([Xs], scaling, feature_names, source, fit_rows=Xs[train])
    return Xs, offset, scale


def load_dataset(
    cfg: DataConfig,
    seed: int,
    base_dir: Path | None = None,
    config_source: str | None = None,
    progress: ReadProgress | None = None,
) -> Dataset:
    """Load, encode, split (stratified, seeded) and scale (data.scaling, fit on training rows only).

    `config_source` (the config file) is named in errors about a built-in dataset, which has no file;
    `progress(characters read, file size)` follows the reading of a CSV.
    """
    table = load_table(cfg, seed, base_dir, progress)
    source = f"dataset {cfg.dataset}" if config_source is None else f"{config_source} (dataset {cfg.dataset})"
    if cfg.dataset == "csv":
        source = str(cfg.path)
    return split_and_scale(table, cfg, seed, source)
