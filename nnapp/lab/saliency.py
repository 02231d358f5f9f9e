"""Saliency: how much the loss of each example moves with each input feature, |dJ_i/dx_i|.

The derivation ends with dJ/dx = delta2 W; `network.backward` computes it (key "x") for the batch-MEAN
loss J = (1/B) sum_i J_i, where J_i = -log y_hat_i[y_i] is example i's cross-entropy. Row i of x
enters only J_i, so dJ/dx_i = (1/B) dJ_i/dx_i: the per-example gradient is B times a row of
`backward`'s "x". The L2 term does not depend on x, so it plays no part. Everything here is in the
standardized units the network sees; dJ_i/dx_raw = (dJ_i/dx_std) / scale feature by feature, because
x_std = (x_raw - mean) / scale. Nothing here prints or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnapp.core import network
from nnapp.errors import ChoiceError, DataError
from nnapp.rundir.runs import LoadedRun, rebuild_dataset

SPLITS = ("train", "val", "test")


def per_example_input_gradients(params: network.Params, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dJ_i/dx_i for each row i (B, D_x), J_i = -log y_hat_i[y_i], in float64 from the derived formulas."""
    params64 = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    X64 = np.asarray(X, dtype=np.float64)
    fwd = network.forward(params64, X64)
    mean_loss_grad = network.backward(params64, fwd, np.asarray(y), input_grad=True)["x"]
    return len(X64) * mean_loss_grad


def split_rows(run: LoadedRun, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(X standardized, y class indices) of one split of the run's data, rebuilt as `evaluate` does."""
    if split not in SPLITS:
        raise ChoiceError("split", split, SPLITS)
    X, y = rebuild_dataset(run).split(split)
    if len(y) == 0:
        raise DataError(f"{run.path / 'config.yaml'}: the {split} split of this run has no rows")
    return X, y


def image_side(feature_names: list[str]) -> int | None:
    """n for n x n image data, features pixel_<row>_<col> in row-major order (digits: 8); else None."""
    n = round(len(feature_names) ** 0.5)
    if n < 2 or n * n != len(feature_names):
        return None
    expected = [f"pixel_{r}_{c}" for r in range(n) for c in range(n)]
    return n if list(feature_names) == expected else None


@dataclass(frozen=True)
class Saliency:
    split: str
    n_rows: int
    feature_names: list[str]
    classes: list[str]  # original labels, in class-index order
    mean_abs_grad: np.ndarray  # (D_x,) mean over the split's rows of |dJ_i/dx_i|, standardized units
    mean_abs_grad_original: np.ndarray  # (D_x,) the same per original unit of each feature (÷ scale)
    per_class: np.ndarray  # (N_c, D_x) mean |dJ_i/dx_i| over the rows whose true class is c (nan: no rows)
    class_rows: np.ndarray  # (N_c,) rows of each true class
    image_side: int | None  # 8 for 8x8 image data (one map per class), else None

    def csv_columns(self) -> list[str]:
        return ["feature", "mean_abs_grad", "mean_abs_grad_original", *(f"class_{c}" for c in self.classes)]

    def csv_rows(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for j, name in enumerate(self.feature_names):
            row: dict[str, object] = {
                "feature": name,
                "mean_abs_grad": float(self.mean_abs_grad[j]),
                "mean_abs_grad_original": float(self.mean_abs_grad_original[j]),
            }
            row.update({f"class_{c}": float(self.per_class[k, j]) for k, c in enumerate(self.classes)})
            rows.append(row)
        return rows


def saliency(run: LoadedRun, split: str = "test") -> Saliency:
    """Mean |dJ_i/dx_i| per feature over a split of the run's data, overall and per true class."""
    X, y = split_rows(run, split)
    grads = np.abs(per_example_input_gradients(run.params, X, y))
    classes = [str(c) for c in run.classes.tolist()]
    n_c = len(classes)
    counts = np.bincount(y, minlength=n_c)
    per_class = np.full((n_c, X.shape[1]), np.nan)
    for k in range(n_c):
        if counts[k]:
            per_class[k] = grads[y == k].mean(axis=0)
    names = list(run.model.feature_names)
    mean = grads.mean(axis=0)
    scale = run.model.scaler_scale
    return Saliency(split, len(y), names, classes, mean, mean / scale, per_class, counts, image_side(names))
