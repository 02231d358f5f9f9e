"""The leaderboard: one row per point with its seeds pooled, ranked on the validation split only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnapp.tools.sweep.results import PointResult, Scores


@dataclass(frozen=True)
class Row:
    settings: tuple[tuple[str, str], ...]
    runs: int
    val_acc: tuple[float, float]  # mean, std over seeds (sample std; 0 for a single seed)
    test_acc: tuple[float, float]
    val_loss_mean: float
    test_loss_mean: float
    stop_reasons: str

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.settings)


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return float(array.mean()), std


def leaderboard(results: Sequence[PointResult]) -> list[Row]:
    """One row per point (seeds pooled), best mean validation accuracy first, ties broken by the lower
    mean validation loss, then by the order of `results` (write_outputs gives grid order). Ranking reads
    the validation split only: choosing a model by its test score would leak the test split into the
    choice (test accuracy is shown, never used)."""
    groups: dict[tuple[tuple[str, str], ...], list[Scores]] = {}
    for r in results:
        if r.scores is not None:
            groups.setdefault(r.point.settings, []).append(r.scores)
    rows = []
    for settings, scores in groups.items():
        rows.append(
            Row(
                settings,
                len(scores),
                _mean_std([s.val_acc for s in scores]),
                _mean_std([s.test_acc for s in scores]),
                float(np.mean([s.val_loss for s in scores])),
                float(np.mean([s.test_loss for s in scores])),
                "+".join(sorted({s.stop_reason for s in scores})),
            )
        )
    return sorted(rows, key=lambda r: (-r.val_acc[0], r.val_loss_mean))  # stable: the given order last
