"""A model trained outside `nnapp train` (the scikit-learn estimator) written as a run directory.

The run's data is the rows given, written next to it as data.csv and named by its config.yaml, so that
`nnapp evaluate`, `plot`, `predict` and `gradcheck --run` rebuild and check it as for any CSV run. The
model's scaler is folded into its first layer (W' = W / scale, b1' = b1 - W' offset: the same function,
to rounding) and the run's config says `scaling: none`, so the scaler refit on the rebuilt training
rows is the model's, as the readers require. Nothing is trained here.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np

from nnapp.config import Config, DataConfig, LoadedConfig, dump_config
from nnapp.data.fingerprint import fingerprint
from nnapp.errors import ArtifactError, DataError
from nnapp.orchestration.job import load_data
from nnapp.orchestration.outputs import write_run
from nnapp.rundir import artifacts, files, runfiles
from nnapp.training.model import Model
from nnapp.training.records import METRIC_COLUMNS, TrainResult

DATA_FILE = "data.csv"


def folded(model: Model) -> Model:
    """The same model with its scaler inside the first layer and an identity scaler (0 and 1)."""
    W = model.params["W"].astype(np.float64) / model.scale
    b1 = model.params["b1"].astype(np.float64) - W @ model.offset
    params = {**model.params, "W": W.astype(model.dtype), "b1": b1.astype(model.dtype)}
    n = len(model.offset)
    return dataclasses.replace(model, params=params, offset=np.zeros(n), scale=np.ones(n))


def _reordered(model: Model, classes: np.ndarray, source: str) -> Model:
    """The model with its output rows in the order of `classes` (the rebuilt data's: labels as text)."""
    mine = [str(c) for c in model.classes]
    theirs = [str(c) for c in classes]
    if sorted(mine) != sorted(theirs):
        raise DataError(
            f"{source}: the rows hold classes {theirs}, the model {mine}; give rows of every class"
        )
    order = [mine.index(c) for c in theirs]
    params = {**model.params, "U": model.params["U"][order], "b2": model.params["b2"][order]}
    return dataclasses.replace(model, params=params, classes=classes)


def write_model_run(
    run_dir: str | Path, cfg: Config, model: Model, result: TrainResult, X: np.ndarray, y: np.ndarray
) -> Path:
    """Write a new run directory `run_dir` (absent or empty) of `model`, trained as `result` records,
    with the raw rows X (original units) and labels y as its data. Returns the run directory."""
    run_dir = Path(run_dir)
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise ArtifactError(f"{run_dir}: exists and is not an empty folder; give a new run directory")
    artifacts.check_not_in_run_dir("run directory", run_dir.parent if not run_dir.exists() else run_dir)
    if model.categories:
        raise DataError("to_run: a model with one-hot categories is written by `nnapp train` only")
    target = "target" if "target" not in model.feature_names else "label"
    run_dir.mkdir(parents=True, exist_ok=True)
    data_path = (run_dir / DATA_FILE).resolve()
    rows = (
        {**dict(zip(model.feature_names, map(float, x), strict=True)), target: label}
        for x, label in zip(X, y, strict=True)
    )
    files.write_text(data_path, artifacts.csv_text([*model.feature_names, target], rows))
    data_config = DataConfig(
        dataset="csv", path=str(data_path), target=target, scaling="none", val_size=cfg.data.val_size
    )
    cfg = dataclasses.replace(
        cfg, data=data_config, output=dataclasses.replace(cfg.output, dir=str(run_dir.parent))
    )
    loaded = LoadedConfig(cfg, None, (), cfg.to_dict())
    data = load_data(loaded)
    written = _reordered(folded(model), data.classes, str(data_path))
    files.write_run_text(run_dir / runfiles.CONFIG.name, dump_config(cfg))
    metrics = artifacts.csv_text(METRIC_COLUMNS, (r.row() for r in result.history))
    notes = [
        "written by nnapp.Classifier.to_run: the weights were fit by Classifier.fit on its own rows, not on "
        f"this run's train split; {DATA_FILE} holds the rows given to to_run, so its val and test splits "
        "are held out only if those rows were"
    ]
    trained = dataclasses.replace(result, params=written.params)
    write_run(
        run_dir, loaded, data, trained, datetime.now(), fingerprint(cfg.data, data, None), notes, metrics
    )
    return run_dir
