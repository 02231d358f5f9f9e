"""What a sweep point returns to the sweep: typed values, sent back from the worker (never re-read)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnapp.tools.sweep.grid import GridPoint


class Status(enum.Enum):
    SKIPPED = "skipped"  # finished by an earlier sweep
    TRAINED = "trained"
    RESUMED = "resumed"  # continued from its checkpoint
    ERROR = "error"


@dataclass(frozen=True)
class Scores:
    """A finished (or stopped) run's final numbers, the ones the leaderboard ranks and shows."""

    val_acc: float
    val_loss: float
    test_acc: float
    test_loss: float
    stop_reason: str

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], stop_reason: str) -> Scores:
        """From summary_metrics' numbers (or summary.json's); raises KeyError/TypeError/ValueError."""
        val_acc, val_loss, test_acc, test_loss = (
            float(values[key]) for key in ("val_acc", "val_loss", "test_acc", "test_loss")
        )
        return cls(val_acc, val_loss, test_acc, test_loss, str(stop_reason))


@dataclass(frozen=True)
class PointResult:
    point: GridPoint
    run_dir: Path
    status: Status
    scores: Scores | None = None  # None for an error
    error: str = ""
    seconds: float = 0.0

    @property
    def interrupted(self) -> bool:
        """Stopped with the sweep: saved, and resumed by the next run of the same sweep."""
        return self.scores is not None and self.scores.stop_reason == "interrupted"

    @property
    def ranked(self) -> bool:
        """Counts on the leaderboard: finished, whatever stopped it, except the sweep's own stop."""
        return self.scores is not None and not self.interrupted
