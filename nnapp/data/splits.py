"""Label encoding, the stratified train/test split and standardization, in numpy alone.

They reproduce scikit-learn's LabelEncoder, train_test_split(..., stratify=y, random_state=seed) and
StandardScaler, index for index (tests compare them), so that loading a dataset need not import
scikit-learn: that import alone takes about a second, more than training iris.
"""

from __future__ import annotations

import math

import numpy as np


def encode_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(classes in sorted order, codes 0..N_c-1): LabelEncoder.fit_transform."""
    classes, codes = np.unique(labels, return_inverse=True)
    return classes, codes.reshape(-1)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of n_draws to take from each class: the floor of the proportional share, then one more
    for the classes with the largest remainders, ties broken at random (sklearn.utils.extmath)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def stratified_split(
    indices: np.ndarray, y: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) subsets of `indices` keeping the class proportions of y (y[i] labels indices[i]).

    The same draws as scikit-learn's StratifiedShuffleSplit with random_state=seed. Raises ValueError
    when a class has fewer than two rows or a side would miss a class.
    """
    n = len(indices)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        raise ValueError("the least populated class has only 1 member; each class needs at least 2")
    if n_train < len(classes) or n_test < len(classes):
        raise ValueError(f"{n_train} training / {n_test} test rows cannot hold all {len(classes)} classes")
    class_indices = np.split(np.argsort(y_indices.reshape(-1), kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for i in range(len(classes)):
        members = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.append(members[: n_i[i]])
        test.append(members[n_i[i] : n_i[i] + t_i[i]])
    # joined as arrays, not lists of numpy ints (a third of a second for 300,000 rows): the same intp
    # values in the same order, so the same permutations
    return indices[rng.permutation(np.concatenate(train))], indices[rng.permutation(np.concatenate(test))]


def fit_scaling(kind: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale) by column for `data.scaling` `kind`, fit on the training rows X: a model applies
    (x - offset) / scale whatever the kind, so every command that reads a model scales rows the same way.
    A column with no spread gets scale 1 (it is only shifted), as in scikit-learn's scalers (whose
    _handle_zeros_in_scale calls a spread below 10 machine epsilons none)."""
    d = X.shape[1]
    tiny = 10 * np.finfo(np.float64).eps
    if kind == "standard":
        mean, scale, _ = standard_scale(X)
        return mean, scale
    if kind == "minmax":
        low, high = X.min(axis=0, initial=np.inf), X.max(axis=0, initial=-np.inf)
        spread = high - low
        return low, np.where(np.isfinite(spread) & (spread >= tiny), spread, 1.0)
    if kind == "maxabs":
        largest = np.abs(X).max(axis=0, initial=0.0)
        return np.zeros(d), np.where(np.isfinite(largest) & (largest >= tiny), largest, 1.0)
    if kind == "none":
        return np.zeros(d), np.ones(d)
    raise ValueError(f"unknown scaling {kind!r}")


def standard_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, var) by column, as StandardScaler's mean_, scale_, var_: the population variance,
    and its square root as scale, except 1 for (near-)constant columns (and, as there, infinite var)."""
    n = X.shape[0]
    mean = X.sum(axis=0) / n
    centred = X - mean  # the one copy of X made here: squared in place below
    # the two-pass variance with its rounding correction (sklearn.utils.extmath._incremental_mean_and_var)
    correction = centred.sum(axis=0) ** 2 / n
    var = (np.square(centred, out=centred).sum(axis=0) - correction) / n
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return mean, scale, var
