"""A run's model pictures from its data and weights: the confusion matrix on the test split, decision
regions and hidden units over the plane of two-feature data, first-layer weights as images for pixel data.

They take a `Dataset` and the parameters and return figures or PNG bytes; they never write a file (the
orchestration room writes them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nnapp.config import Config
from nnapp.core import network
from nnapp.core.network import Params
from nnapp.data.datasets import Dataset
from nnapp.pictures.curves import StopMark
from nnapp.rundir import runfiles
from nnapp.training.records import EpochRecord, GradcheckRecord
from nnapp.training.scoring import Scores, score

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# Datasets whose inputs are pixels of one image, and the image's shape (rows, columns)
IMAGE_SHAPES = {"digits": (8, 8)}
PLANE_RESOLUTION = 300  # grid points per side of decision_boundary.png: a smooth boundary
UNIT_MAP_RESOLUTION = 90  # per side of each hidden unit's small map


def plane_grid(X_raw: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy) covering two-feature points X_raw (original units) with a 10% margin, and the grid's
    points in the same units as rows (resolution**2, 2)."""
    low, high = X_raw.min(axis=0), X_raw.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _standardise(data: Dataset, points: np.ndarray, params: Params) -> np.ndarray:
    return ((points - data.scaler_mean) / data.scaler_scale).astype(params["W"].dtype, copy=False)


def _raw(data: Dataset, X: np.ndarray) -> np.ndarray:
    return X * data.scaler_scale + data.scaler_mean  # back to the data's own units


def is_plane(data: Dataset) -> bool:
    return data.n_features == 2 and not data.categories  # two measured features, not a one-hot pair


def decision_boundary_figure(data: Dataset, params: Params, title: str = "") -> Figure:
    """Predicted probabilities over the plane of a two-feature dataset, training and test points on top."""
    from nnapp import pictures

    X_train, X_test = _raw(data, data.X_train), _raw(data, data.X_test)
    xx, yy, points = plane_grid(np.vstack([X_train, X_test]), PLANE_RESOLUTION)
    proba = network.predict_proba(params, _standardise(data, points, params))
    predicted = network.predict(params, data.X_test.astype(params["W"].dtype, copy=False))
    return pictures.decision_boundary_figure(
        xx,
        yy,
        proba.reshape(*xx.shape, -1),
        (X_train, data.y_train),
        (X_test, data.y_test, predicted),
        [str(c) for c in data.classes],
        data.feature_names,
        title,
    )


def hidden_unit_maps(
    data: Dataset, params: Params, resolution: int = UNIT_MAP_RESOLUTION
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, z) with z[j] = W[j]·x + b1[j] at every grid point x of the plane (standardised as the
    network sees it), shape (D_h, resolution, resolution): each hidden unit's input; relu(z[j]) is
    what the unit passes on."""
    xx, yy, points = plane_grid(_raw(data, np.vstack([data.X_train, data.X_test])), resolution)
    z = network.forward(params, _standardise(data, points, params)).z  # (G*G, D_h)
    return xx, yy, z.T.reshape(-1, *xx.shape)


def hidden_units_figure(data: Dataset, params: Params, title: str = "") -> Figure:
    from nnapp import pictures

    xx, yy, maps = hidden_unit_maps(data, params)
    classes = [str(c) for c in data.classes]
    train = (_raw(data, data.X_train), data.y_train)
    return pictures.hidden_units_figure(xx, yy, maps, params["U"], classes, data.feature_names, title, train)


def weights_figure(data: Dataset, params: Params, title: str = "") -> Figure:
    """Each hidden unit's row of W as an image, for image datasets (IMAGE_SHAPES)."""
    from nnapp import pictures

    unseen = np.ptp(data.X_train, axis=0) == 0  # constant pixels: their weights get no gradient
    return pictures.weight_images_figure(params["W"], IMAGE_SHAPES[data.name], unseen, title)


def model_pictures(
    cfg: Config, data: Dataset, params: Params, test: Scores | None = None
) -> dict[str, bytes]:
    """The pictures of the model, by file name: confusion.png on the test split; decision_boundary.png and
    hidden_units.png when the data has two features; weights.png for image data (digits).

    `test`: the test split already scored with `params` (a run scores it once for summary.json too)."""
    from nnapp import pictures

    classes = [str(c) for c in data.classes]
    title = run_title(cfg.name, data.name)
    drawn = {}
    if test is None:
        test = score(params, data.X_test, data.y_test, classes, "test split")
    drawn[runfiles.CONFUSION.name] = pictures.confusion_png(test.confusion, classes, f"{title}, test split")
    if is_plane(data):
        drawn[runfiles.DECISION_BOUNDARY.name] = pictures.png_bytes(
            decision_boundary_figure(data, params, f"{title}: decision regions")
        )
        drawn[runfiles.HIDDEN_UNITS.name] = pictures.png_bytes(hidden_units_figure(data, params, title))
    if data.name in IMAGE_SHAPES and data.n_features == math.prod(IMAGE_SHAPES[data.name]):
        drawn[runfiles.WEIGHTS.name] = pictures.png_bytes(weights_figure(data, params, title))
    return drawn


def run_pictures(
    cfg: Config,
    data: Dataset,
    params: Params,
    history: Sequence[EpochRecord],
    checks: Sequence[GradcheckRecord],
    best_epoch: int | None,
    chance_loss: float | None,
    stop: StopMark | None,
    test: Scores | None = None,
) -> dict[str, bytes]:
    """Every picture of a run, by file name: what a finished run writes and what `nnapp plot` redraws
    (both call this, so a redrawn run looks as it did). `stop`: where and why a run that did not complete
    stopped, marked on the curves."""
    from nnapp import pictures

    title = run_title(cfg.name, data.name)
    drawn = {runfiles.CURVES.name: pictures.curves_png(history, best_epoch, title, chance_loss, stop)}
    drawn[runfiles.DIAGNOSTICS.name] = pictures.diagnostics_png(history, title)
    if checks:
        drawn[runfiles.GRADCHECK_PICTURE.name] = pictures.gradcheck_png(
            checks, cfg.gradcheck.tol, cfg.gradcheck.fail
        )
    drawn.update(model_pictures(cfg, data, params, test))
    return drawn


def run_title(name: str, dataset: str) -> str:
    return name if name == dataset else f"{name} ({dataset})"  # "iris", not "iris (iris)"
