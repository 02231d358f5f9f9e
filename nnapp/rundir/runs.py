"""A finished run directory, read back: its resolved config, its model and its summary.

Everything that reads a run (evaluate, predict, gradcheck --run, plot) goes through `load_run`, so a
missing, truncated or foreign run directory is always the same one-line error naming the file.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import Config, config_from_mapping, parse_yaml
from nnapp.core.gradcheck import DirectionalCheck, GradcheckReport, TensorCheck, Verdict
from nnapp.core.network import Params
from nnapp.data.datasets import Dataset, load_dataset
from nnapp.data.fingerprint import check_unchanged, fingerprint
from nnapp.errors import ArtifactError
from nnapp.rundir.artifacts import GRADCHECK_COLUMNS, load_model, model_arrays, save_npz, write_json
from nnapp.training.records import DIAGNOSTIC_COLUMNS, METRIC_COLUMNS, EpochRecord, GradcheckRecord


@dataclass(frozen=True)
class SavedModel:
    """model.npz, checked by artifacts.load_model: float weights of consistent shapes and their encoding."""

    params: Params
    classes: np.ndarray  # original labels (strings, or int64 for integer labels), in class-index order
    scaler_mean: np.ndarray  # (D_x,) float64
    scaler_scale: np.ndarray  # (D_x,) float64, positive
    feature_names: list[str]  # (D_x,): encoded input names ("garden=a" for one-hot columns)
    columns: list[str]  # a CSV run's input columns ([] for built-in datasets)
    categories: dict[str, list[str]]  # one-hot columns and their categories

    @classmethod
    def from_arrays(cls, model: dict[str, Any]) -> SavedModel:
        return cls(
            params=dict(model["params"]),
            classes=np.asarray(model["classes"]),
            scaler_mean=model["scaler_mean"].astype(np.float64),
            scaler_scale=model["scaler_scale"].astype(np.float64),
            feature_names=[str(n) for n in model["feature_names"].tolist()],
            columns=[str(c) for c in model.get("columns", np.asarray([], dtype=str)).tolist()],
            categories=dict(model["categories"]),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The entries of model.npz (artifacts.model_arrays): what `from_arrays` reads back."""
        return model_arrays(
            self.params,
            self.classes,
            self.scaler_mean,
            self.scaler_scale,
            self.feature_names,
            self.columns,
            self.categories,
        )

    def save(self, path: Path) -> None:
        """Write model.npz atomically; its bytes depend only on the model."""
        save_npz(path, self.to_arrays())

    @property
    def input_columns(self) -> list[str]:
        """The columns a CSV must have to be scored: the training CSV's inputs, or a built-in's features."""
        return self.columns or self.feature_names


@dataclass(frozen=True)
class Run:
    path: Path
    config: Config
    model: SavedModel
    summary: RunSummary  # summary.json (every field None if absent)

    @property
    def params(self) -> Params:
        return dict(self.model.params)

    @property
    def classes(self) -> np.ndarray:
        return self.model.classes

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
    model = SavedModel.from_arrays(load_model(path / "model.npz"))
    summary = read_summary(path) if (path / "summary.json").exists() else RunSummary()
    return Run(path, config, model, summary)


# summary.json's keys that nnapp reads back, and the JSON types each may hold (None: JSON null)
_NUMBER = (int, float)
SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "dataset": (str,),
    "seed": (int,),
    "stop_reason": (str,),
    "message": (str, type(None)),
    "epochs_trained": (int,),
    "best_epoch": (int, type(None)),
    **{f"{split}_{m}": (*_NUMBER, type(None)) for split in ("train", "val", "test") for m in ("loss", "acc")},
    "initial_loss": (*_NUMBER, type(None)),
    "chance_loss": (*_NUMBER, type(None)),
    "gradcheck_verdict": (str,),
    "gradcheck_max_error": (*_NUMBER, type(None)),
    "classes": (list,),
    "feature_names": (list,),
    "n_features": (int,),
    "n_train": (int,),
    "n_val": (int,),
    "n_test": (int,),
    "dropped_rows": (int,),
    "data_source": (str,),
    "data_sha256": (str,),
    "notes": (list,),
    "overrides": (list,),
    "started_at": (str,),
    "train_seconds": _NUMBER,
    "versions": (dict,),
}
_SUMMARY_STRING_LISTS = ("classes", "feature_names", "notes", "overrides")


@dataclass(frozen=True)
class RunSummary:
    """summary.json, both ways: written by `to_json` when a run ends, read back (checked) by
    `read_summary`. Fields are in the file's key order; a key an older nnapp did not write is None."""

    name: str | None = None
    dataset: str | None = None
    seed: int | None = None
    stop_reason: str | None = None
    message: str | None = None
    epochs_trained: int | None = None
    best_epoch: int | None = None
    train_loss: float | None = None
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    initial_loss: float | None = None
    chance_loss: float | None = None
    gradcheck_verdict: str | None = None
    gradcheck_max_error: float | None = None  # over every check of the run, as the console reports it
    classes: list[str] | None = None
    feature_names: list[str] | None = None
    n_features: int | None = None
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    dropped_rows: int | None = None
    data_source: str | None = None
    data_sha256: str | None = None  # evaluate, resume and gradcheck --run refuse other data
    notes: list[str] | None = None
    overrides: list[str] | None = None
    started_at: str | None = None
    train_seconds: float | None = None
    versions: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object summary.json holds, every key in field order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> RunSummary:
        """From a JSON object already checked against SUMMARY_TYPES (unknown keys are ignored)."""
        return cls(**{key: payload[key] for key in SUMMARY_TYPES if key in payload})


Summary = RunSummary  # the name the renovation issue uses


def write_summary(run_dir: Path, summary: RunSummary) -> None:
    write_json(Path(run_dir) / "summary.json", summary.to_json())


def read_summary(run_dir: Path) -> RunSummary:
    """summary.json, checked: a JSON object whose known keys hold what nnapp writes there."""
    path = Path(run_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing (is {path.parent} an nnapp run directory?)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ArtifactError(f"{path}: not readable JSON ({exc.__class__.__name__})") from None
    if not isinstance(summary, dict):
        raise ArtifactError(f"{path}: not an nnapp summary (expected a JSON object)")
    for key, types in SUMMARY_TYPES.items():
        if key not in summary:
            continue
        value = summary[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ArtifactError(f"{path}: {key} holds {json.dumps(value)[:40]}, not what nnapp writes there")
        if (
            isinstance(value, list)
            and key in _SUMMARY_STRING_LISTS
            and not all(isinstance(v, str) for v in value)
        ):
            raise ArtifactError(f"{path}: {key} is not a list of strings")
    return RunSummary.from_json(summary)


def target_column(config: Config) -> str:
    """The label column of a CSV to evaluate: data.target for CSV runs, 'target' for built-in datasets."""
    return config.data.target or "target"


def rebuild_dataset(run: Run) -> Dataset:
    """The run's train/val/test split, rebuilt from its config and seed, checked against the model.

    The data's hash must be the one summary.json records (a run written before hashes were recorded
    has none). The scaler is also refit on the rebuilt training rows; if it (or the classes) differ
    from the saved model's, the data changed since training and the rebuilt split would not be the run's.
    """
    csv_path = run.config.data.path
    if run.config.data.dataset == "csv" and csv_path and not Path(csv_path).exists():
        raise ArtifactError(
            f"{run.path / 'config.yaml'}: data.path {csv_path!r} not found from {Path.cwd()} (moved or "
            "deleted since training? score another CSV with the same columns)"
        )
    data = load_dataset(run.config.data, run.config.seed, base_dir=run.path)
    current = fingerprint(run.config.data, data, run.path)
    check_unchanged(run.summary.data_sha256, current, run.path, "summary.json", run.path / "config.yaml")
    same = data_matches_model(data, run.model)
    if not same:
        raise ArtifactError(
            f"{run.path / 'config.yaml'}: the data rebuilt from this config no longer matches "
            f"{run.path / 'model.npz'} (has {data.name} changed since training?)"
        )
    return data


def data_matches_model(data: Dataset, model: SavedModel) -> bool:
    """The classes, scaler and feature names a model was saved with, refit from `data`: the same?"""
    return (
        [str(c) for c in data.classes] == [str(c) for c in model.classes]
        and np.array_equal(data.scaler_mean, model.scaler_mean)
        and np.array_equal(data.scaler_scale, model.scaler_scale)
        and data.feature_names == model.feature_names
    )


def read_history(run_dir: Path) -> list[EpochRecord]:
    """metrics.csv back into EpochRecords; a missing file or a bad cell is a one-line error."""
    path = Path(run_dir) / "metrics.csv"
    # runs written before the diagnostics columns read back with them NaN (EpochRecord's default)
    rows = _read_rows(path, tuple(c for c in METRIC_COLUMNS if c not in DIAGNOSTIC_COLUMNS))
    records: list[EpochRecord] = []
    for number, row in enumerate(rows, start=2):
        try:
            values = {k: float(row[k]) for k in METRIC_COLUMNS if row.get(k) is not None}
        except (TypeError, ValueError):
            raise ArtifactError(f"{path}: row {number} has a cell that is not a number") from None
        epoch = values.pop("epoch")
        previous = records[-1].epoch if records else -1
        if not (math.isfinite(epoch) and epoch == int(epoch) and previous < epoch <= 10**9):
            raise ArtifactError(
                f"{path}: row {number}: epoch {row['epoch']!r} is not a whole number after {previous}"
            )
        records.append(EpochRecord(epoch=int(epoch), **values))
    if not records:
        raise ArtifactError(f"{path}: no epochs recorded")
    return records


VERDICTS = tuple(v.value for v in Verdict)


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
        if row["verdict"] not in VERDICTS:
            raise ArtifactError(
                f"{path}: row {number}: verdict {row['verdict']!r} is not one of {', '.join(VERDICTS)}"
            )
        tensors, directions = grouped.setdefault((epoch, row["when"]), ([], []))
        if row["tensor"] == "direction":
            nan = float("nan")
            directions.append(DirectionalCheck(nan, nan, error, kinks > 0, Verdict(row["verdict"])))
        else:
            tensors.append(TensorCheck(row["tensor"], checked, kinks, error, None, Verdict(row["verdict"])))
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
