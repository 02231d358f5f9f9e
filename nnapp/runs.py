"""A finished run directory, read back: its resolved config, its model and its summary.

Everything that reads a run (evaluate, predict, gradcheck --run, plot) goes through `load_run`, so a
missing, truncated or foreign run directory is always the same one-line error naming the file.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import GRADCHECK_COLUMNS, ArtifactError, load_model
from .config import Config, config_from_mapping, parse_yaml
from .data import Dataset, load_dataset
from .gradcheck import DirectionalCheck, GradcheckReport, TensorCheck
from .network import Params
from .trainer import METRIC_COLUMNS, EpochRecord, GradcheckRecord


@dataclass(frozen=True)
class Run:
    path: Path
    config: Config
    model: dict[str, Any]  # artifacts.load_model's dictionary
    summary: dict[str, Any]  # summary.json ({} if absent)

    @property
    def params(self) -> Params:
        return dict(self.model["params"])

    @property
    def classes(self) -> np.ndarray:
        return np.asarray(self.model["classes"])

    @property
    def label(self) -> str:
        return f"{self.config.name} ({self.path.name})"


def load_run(path: str | Path) -> Run:
    """Read config.yaml, model.npz and summary.json of a run directory; NnappError on anything amiss."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such run directory")
    if not path.is_dir():
        raise ArtifactError(f"{path}: not a directory (expected an nnapp run directory)")
    config_path = path / "config.yaml"
    if not config_path.is_file():
        raise ArtifactError(f"{config_path}: missing (is {path} an nnapp run directory?)")
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{config_path}: cannot read ({exc.__class__.__name__})") from None
    config, _ = config_from_mapping(parse_yaml(text, str(config_path)), str(config_path))
    model = load_model(path / "model.npz")
    _check_model_shapes(model, path / "model.npz")
    summary: dict[str, Any] = {}
    summary_path = path / "summary.json"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"{summary_path}: not readable JSON ({exc.__class__.__name__})") from None
    return Run(path, config, model, summary)


def _check_model_shapes(model: dict[str, Any], source: Path) -> None:
    W, b1, U, b2 = (np.asarray(model[name]) for name in ("W", "b1", "U", "b2"))
    ok = W.ndim == 2 and U.ndim == 2 and b1.ndim == 1 and b2.ndim == 1
    if ok:
        d_h, d_x = W.shape
        n_c = U.shape[0]
        ok = (
            b1.shape == (d_h,)
            and U.shape == (n_c, d_h)
            and b2.shape == (n_c,)
            and len(model["classes"]) == n_c
            and np.shape(model["scaler_mean"]) == (d_x,)
            and np.shape(model["scaler_scale"]) == (d_x,)
            and len(model["feature_names"]) == d_x
        )
    if not ok:
        raise ArtifactError(f"{source}: not an nnapp model (its arrays have inconsistent shapes)")


def input_columns(model: dict[str, Any]) -> list[str]:
    """The columns a CSV must have to be scored: the training CSV's inputs, or a built-in's features."""
    columns = [str(c) for c in np.asarray(model.get("columns", np.asarray([], dtype=str))).tolist()]
    return columns or [str(c) for c in np.asarray(model["feature_names"]).tolist()]


def target_column(config: Config) -> str:
    """The label column of a CSV to evaluate: data.target for CSV runs, 'target' for built-in datasets."""
    return config.data.target or "target"


def rebuild_dataset(run: Run) -> Dataset:
    """The run's train/val/test split, rebuilt from its config and seed, checked against the model.

    The scaler is refit on the rebuilt training rows; if it (or the classes) differ from the saved
    model's, the data changed since training and the rebuilt split would not be the run's.
    """
    csv_path = run.config.data.path
    if run.config.data.dataset == "csv" and csv_path and not Path(csv_path).exists():
        raise ArtifactError(
            f"{run.path / 'config.yaml'}: data.path {csv_path!r} not found from {Path.cwd()} (moved or "
            "deleted since training? score a CSV with --data)"
        )
    data = load_dataset(run.config.data, run.config.seed, base_dir=run.path)
    model = run.model
    same = (
        [str(c) for c in data.classes] == [str(c) for c in run.classes]
        and np.array_equal(data.scaler_mean, model["scaler_mean"])
        and np.array_equal(data.scaler_scale, model["scaler_scale"])
        and data.feature_names == [str(n) for n in np.asarray(model["feature_names"]).tolist()]
    )
    if not same:
        raise ArtifactError(
            f"{run.path / 'config.yaml'}: the data rebuilt from this config no longer matches "
            f"{run.path / 'model.npz'} (has {data.name} changed since training?)"
        )
    return data


def read_history(run_dir: Path) -> list[EpochRecord]:
    """metrics.csv back into EpochRecords; a missing file or a bad cell is a one-line error."""
    path = Path(run_dir) / "metrics.csv"
    rows = _read_rows(path, METRIC_COLUMNS)
    records = []
    for number, row in enumerate(rows, start=2):
        try:
            values = {k: float(row[k]) for k in METRIC_COLUMNS}
        except (TypeError, ValueError):
            raise ArtifactError(f"{path}: row {number} has a cell that is not a number") from None
        values["epoch"] = int(values["epoch"])
        records.append(EpochRecord(**values))  # type: ignore[arg-type]
    if not records:
        raise ArtifactError(f"{path}: no epochs recorded")
    return records


def read_checks(run_dir: Path) -> list[GradcheckRecord]:
    """gradcheck.csv back into GradcheckRecords (enough for plots and reports: no worst index)."""
    path = Path(run_dir) / "gradcheck.csv"
    if not path.exists():
        return []
    grouped: dict[tuple[int, str], tuple[list[TensorCheck], list[DirectionalCheck]]] = {}
    for number, row in enumerate(_read_rows(path, GRADCHECK_COLUMNS), start=2):
        try:
            epoch, checked, kinks = int(row["epoch"]), int(row["checked"]), int(row["kinks"])
            error = float(row["max_error"])
        except (TypeError, ValueError):
            raise ArtifactError(f"{path}: row {number} has a cell that is not a number") from None
        tensors, directions = grouped.setdefault((epoch, row["when"]), ([], []))
        if row["tensor"] == "direction":
            nan = float("nan")
            directions.append(DirectionalCheck(nan, nan, error, kinks > 0, row["verdict"]))
        else:
            tensors.append(TensorCheck(row["tensor"], checked, kinks, error, None, row["verdict"]))
    return [
        GradcheckRecord(epoch, when, GradcheckReport(tensors, directions[0] if directions else None))
        for (epoch, when), (tensors, directions) in grouped.items()
    ]


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (is {path.parent} an nnapp run directory?)")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ArtifactError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.__class__.__name__})") from None
