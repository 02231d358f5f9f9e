"""summary.json: what a finished run reports, written once when it ends and read back checked.

Read through runs.load_run (which also checks it against model.npz); the types and values a key may
hold are those nnapp writes, so a damaged or crafted file is one line naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nnapp.core.metrics import is_imbalanced
from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.rundir.artifacts import write_json

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
    **{f"{split}_majority_rate": (*_NUMBER, type(None)) for split in ("train", "val", "test")},
    "majority_class": (str, type(None)),
    "test_recall": (list, type(None)),
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
    `read_summary`. Fields are in the file's key order (after its format version); a run without a
    summary.json (stopped before it was written) reads as every field None."""

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
    # the accuracy of always answering the training split's most frequent class (majority_class)
    train_majority_rate: float | None = None
    val_majority_rate: float | None = None
    test_majority_rate: float | None = None
    majority_class: str | None = None
    test_recall: list[float] | None = None  # per class, in the order of `classes`
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

    def baseline_sentences(self) -> list[str]:
        """A warning when the model does not beat always answering the majority class on the test split,
        and the per-class recall when the classes are imbalanced (accuracy alone hides a lost class)."""
        rate, accuracy = self.test_majority_rate, self.test_acc
        if rate is None or accuracy is None or self.majority_class is None:
            return []
        lines = []
        if accuracy <= rate:
            lines.append(
                f"warning: test accuracy {accuracy:.4f} is no better than always answering "
                f"{self.majority_class!r} ({rate:.4f}): the model has learned nothing the class counts "
                "do not tell"
            )
        classes, recall = self.classes or [], self.test_recall or []
        if recall and is_imbalanced(rate, len(classes)):
            shown = ", ".join(f"{c} {r:.4f}" for c, r in zip(classes, recall, strict=True))
            lines.append(f"imbalanced classes; test recall per class: {shown}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The JSON object summary.json holds, every key in field order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> RunSummary:
        """From a JSON object already checked against SUMMARY_TYPES (other keys are ignored)."""
        return cls(**{key: payload[key] for key in SUMMARY_TYPES})


def write_summary(run_dir: Path, summary: RunSummary) -> None:
    write_json(
        Path(run_dir) / runfiles.SUMMARY.name, {files.FORMAT_ENTRY: files.FORMAT_VERSION, **summary.to_json()}
    )


def read_summary(run_dir: Path) -> RunSummary:
    """summary.json, checked: a JSON object whose known keys hold what nnapp writes there."""
    path = Path(run_dir) / runfiles.SUMMARY.name
    text = files.read_text(path)
    try:
        summary = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ArtifactError(f"{path}: not readable JSON ({exc.__class__.__name__})") from None
    if not isinstance(summary, dict):
        raise ArtifactError(f"{path}: not an nnapp summary (expected a JSON object)")
    files.check_format(path, summary.get(files.FORMAT_ENTRY))
    missing = [key for key in SUMMARY_TYPES if key not in summary]
    if missing:
        raise ArtifactError(f"{path}: not an nnapp summary (missing {', '.join(missing[:3])})")
    for key, types in SUMMARY_TYPES.items():
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
        rate = getattr(summary, f"{split}_majority_rate")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ArtifactError(f"{path}: {split}_majority_rate {rate} is not a rate between 0 and 1")
    recall = summary.test_recall
    if recall is not None and not all(
        isinstance(r, (int, float)) and not isinstance(r, bool) and 0.0 <= r <= 1.0 for r in recall
    ):
        raise ArtifactError(f"{path}: test_recall is not a list of recalls between 0 and 1")
    best, trained = summary.best_epoch, summary.epochs_trained
    if best is not None and (best < 0 or (trained is not None and best > trained)):
        raise ArtifactError(f"{path}: best_epoch {best} is not one of the {trained} epochs trained")
