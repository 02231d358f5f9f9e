"""`nnapp animate RUN`: RUN/training.gif from the run's parameter snapshots (nnapp.rundir.snapshots).

Data over a plane of two features: the decision regions evolving; 8x8 image data: the first-layer
weights evolving; each beside the loss curve with a marker at the frame's epoch. Any other data is
refused with the reason (an ArtifactError: exit 2), before anything is drawn.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np

from nnapp.core import network
from nnapp.data.datasets import Dataset
from nnapp.errors import ArtifactError
from nnapp.pictures.run import IMAGE_SHAPES, is_plane, plane_grid
from nnapp.rundir.runs import LoadedRun, load_run, read_history, rebuild_dataset
from nnapp.rundir.snapshots import Snapshots, load_snapshots
from nnapp.training.start import dimensions

GIF_NAME = "training.gif"
GRID_RESOLUTION = 150  # per side: a smooth boundary at the GIF's size, 60 frames in seconds
WEIGHT_SCALE_PERCENTILE = (
    99  # of |W - W at epoch 0| over every frame: one stray weight does not wash out the rest
)


class AnimationKind(Enum):
    PLANE = "decision regions over the plane of two features"
    IMAGES = "first-layer weights, change since epoch 0"


def animation_kind(run: LoadedRun, data: Dataset) -> AnimationKind:
    """What the GIF shows for this data; ArtifactError with the reason when nnapp cannot animate it."""
    if is_plane(data):
        return AnimationKind.PLANE
    if data.name in IMAGE_SHAPES:
        return AnimationKind.IMAGES
    one_hot = " (some one-hot encoded)" if data.categories else ""
    raise ArtifactError(
        f"{run.path}: cannot animate {data.name!r}: it has {data.n_features} features{one_hot}; "
        "`nnapp animate` draws data of two measured features (decision regions) or 8x8 images "
        "(first-layer weights)"
    )


def _checked_snapshots(run: LoadedRun, data: Dataset) -> Snapshots:
    snapshots = load_snapshots(run.path)
    expected = network.n_parameters(*dimensions(data, run.config))
    if snapshots.flat.shape[1] != expected:
        raise ArtifactError(
            f"{run.path / 'snapshots.npz'}: frames of {snapshots.flat.shape[1]} parameters, but this run's "
            f"model has {expected}"
        )
    return snapshots


def animate(run_dir: str | Path) -> Path:
    """Write RUN/training.gif and return its path; NnappError (nothing written) for bad input."""
    from nnapp.pictures.animation import LossTrace, plane_gif, weights_gif

    run = load_run(run_dir)
    data = rebuild_dataset(run)
    kind = animation_kind(run, data)
    snapshots = _checked_snapshots(run, data)
    history = read_history(run.path)
    trace = LossTrace(
        [r.epoch for r in history],
        [r.train_loss for r in history],
        [r.val_loss for r in history],
        [r.train_acc for r in history],
        run.summary.chance_loss,
    )
    dims = dimensions(data, run.config)
    frames = {
        int(e): network.views(f.astype(np.float64), *dims)
        for e, f in zip(snapshots.epochs, snapshots.flat, strict=True)
    }
    epochs = sorted(frames)
    title = f"{run.config.name}: {kind.value}"
    path = run.path / GIF_NAME
    if kind is AnimationKind.PLANE:
        X_raw = np.vstack([data.X_train, data.X_test]) * data.scaler_scale + data.scaler_mean
        xx, yy, points = plane_grid(X_raw, GRID_RESOLUTION)
        standardised = (points - data.scaler_mean) / data.scaler_scale
        X_train = data.X_train * data.scaler_scale + data.scaler_mean

        def proba_at(epoch: int) -> np.ndarray:
            return network.predict_proba(frames[epoch], standardised).reshape(*xx.shape, -1)

        classes = [str(c) for c in data.classes]
        plane_gif(
            path,
            epochs,
            proba_at,
            (xx, yy),
            (X_train, data.y_train),
            classes,
            data.feature_names,
            trace,
            title,
        )
    else:
        W = np.stack([frames[e]["W"] for e in epochs])
        scale = float(np.percentile(np.abs(W - W[0]), WEIGHT_SCALE_PERCENTILE)) or 1.0
        weights_gif(path, epochs, lambda e: frames[e]["W"], IMAGE_SHAPES[data.name], scale, trace, title)
    return path
