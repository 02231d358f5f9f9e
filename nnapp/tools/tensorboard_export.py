"""`nnapp export RUN --tensorboard [DIR]`: TensorBoard's event files for a run that already exists.

They are what `output.tensorboard: true` would have written, from the run's files: metrics.csv, the
periodic and final checks of gradcheck.csv, config.yaml, summary.json, and histograms at the epochs of
snapshots.npz. Its frames are float32 and no file keeps the gradients, so the histograms are of those
frames and of the full-data gradients there, computed again on the rebuilt training split (as the
run's weight decay makes them): the run's data must still be where its config says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import dump_config
from nnapp.core import network
from nnapp.rundir import tensorboard
from nnapp.rundir.runs import LoadedRun, load_run, read_checks, read_history, rebuild_dataset
from nnapp.rundir.snapshots import SNAPSHOTS_NAME, load_snapshots


def export_tensorboard(run_dir: str | Path, folder: str | Path | None = None) -> Path:
    """Write the run's event files into `folder` (default RUN_DIR/tensorboard); returns the folder.

    Raises NnappError (one line) for a run directory, a file in it or its data that cannot be read."""
    tensorboard.require(tensorboard.available())
    run = load_run(run_dir)
    target = tensorboard.events_dir(run.path) if folder is None else Path(folder)
    history, checks = read_history(run.path), read_checks(run.path)
    steps: list[tuple[int, list[Any]]] = [(0, tensorboard.config_values(dump_config(run.config)))]
    steps += [(record.epoch, tensorboard.epoch_values(record)) for record in history]
    steps += [(c.epoch, tensorboard.check_values(c)) for c in checks if c.when == "epoch"]
    steps += _histograms(run)
    steps.sort(key=lambda step: step[0])  # stable: each epoch's scalars, then its check, then histograms
    tensorboard.write_training(target, steps)
    final = next((c for c in reversed(checks) if c.when == "final"), None)
    summary = run.summary
    named = {name: getattr(summary, name) for name in tensorboard.HPARAM_METRICS}
    metrics = {name: float(value) for name, value in named.items() if value is not None}
    trained = summary.epochs_trained if summary.epochs_trained is not None else history[-1].epoch
    outcome = tensorboard.Outcome(tensorboard.hparams_of(run.config), metrics, trained, final)
    tensorboard.write_outcome(target, outcome)
    return target


def _histograms(run: LoadedRun) -> list[tuple[int, list[Any]]]:
    """Parameters and full-data gradients at each snapshot epoch (none if the run has no snapshots)."""
    if not (run.path / SNAPSHOTS_NAME).exists():
        return []
    frames = load_snapshots(run.path)
    data = rebuild_dataset(run)
    dtype = run.model.params["W"].dtype
    dims = (data.n_features, run.config.model.hidden, data.n_classes)
    X = data.X_train.astype(dtype, copy=False)
    drawn = []
    for epoch, flat in zip(frames.epochs.tolist(), frames.flat, strict=True):
        params = network.views(np.asarray(flat, dtype=dtype), *dims)
        _, grads = network.loss_and_grads(params, X, data.y_train, run.config.optim.weight_decay)
        drawn.append((epoch, tensorboard.parameter_values(params, grads)))
    return drawn
