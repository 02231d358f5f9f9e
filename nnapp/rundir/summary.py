"""summary.json: what a finished run reports, written once when it ends and read back checked.

Read through runs.load_run (which also checks it against model.npz); the types and values a key may
hold are those nnapp writes, so a damaged or crafted file is one line naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nnapp.errors import ArtifactError
from nnapp.rundir.artifacts import write_json
from nnapp.rundir.runfiles import read_run_text

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
    "run_key": (str,),
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
    run_key: str | None = None  # artifacts.run_key: ties summary.json to its run's config.yaml
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


def write_summary(run_dir: Path, summary: RunSummary) -> None:
    write_json(Path(run_dir) / "summary.json", summary.to_json())


def read_summary(run_dir: Path) -> RunSummary:
    """summary.json, checked: a JSON object whose known keys hold what nnapp writes there."""
    path = Path(run_dir) / "summary.json"
    text = read_run_text(path)
    try:
        summary = json.loads(text)
    except (ValueError, RecursionError) as exc:
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
    checked = RunSummary.from_json(summary)
    _check_summary_values(checked, path)
    return checked


STOP_REASONS = ("completed", "early_stopping", "diverged", "gradcheck_failed", "interrupted")


def _check_summary_values(summary: RunSummary, path: Path) -> None:
    """Values nnapp cannot have written: a stop reason it does not know, an accuracy outside [0, 1] or
    NaN, a NaN loss, a best epoch after the last one trained."""
    if summary.stop_reason is not None and summary.stop_reason not in STOP_REASONS:
        raise ArtifactError(
            f"{path}: stop_reason {summary.stop_reason!r} is not one of {', '.join(STOP_REASONS)}"
        )
    for split in ("train", "val", "test"):
        acc, loss = getattr(summary, f"{split}_acc"), getattr(summary, f"{split}_loss")
        if acc is not None and not 0.0 <= acc <= 1.0:
            raise ArtifactError(f"{path}: {split}_acc {acc} is not an accuracy between 0 and 1")
        if loss is not None and not loss >= 0.0:  # NaN fails this too
            raise ArtifactError(f"{path}: {split}_loss {loss} is not a loss (>= 0)")
    best, trained = summary.best_epoch, summary.epochs_trained
    if best is not None and (best < 0 or (trained is not None and best > trained)):
        raise ArtifactError(f"{path}: best_epoch {best} is not one of the {trained} epochs trained")
