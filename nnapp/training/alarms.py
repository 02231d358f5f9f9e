"""The lines a teacher would point at in a run's diagnostics, in one line each (docs/run-directory.md).

Thresholds, measured on the shipped configs: their update ratios (||delta p|| / ||p|| of an epoch's
last step) stay between 8e-5 and 9.4e-2 (iris's U, epoch 1) and no hidden unit dies; a learning rate
that diverges (iris optim.lr=2, digits optim.lr=0.5) shows 0.15-0.32 from epoch 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nnapp.training.records import EpochRecord

DEAD_ALARM = 0.4  # this fraction of hidden units inactive on every training row (epoch >= 1)
# from epoch 2: two decades above the healthy ~1e-3. Epoch 1 starts from random weights, and on small
# data its last step may rightly move them by a tenth (moons with 120 rows: 0.17 for U).
UPDATE_RATIO_HIGH = 1e-1
UPDATE_RATIO_LOW = 1e-5  # epoch 1 only (later, a decaying schedule or convergence may rightly be slow)


@dataclass(frozen=True)
class Alarm:
    kind: str  # "dead", "update_high" or "update_low": each is said once per run
    epoch: int
    message: str  # one line


def record_alarms(record: EpochRecord) -> list[Alarm]:
    """What `record` crosses (nothing at epoch 0: the untrained network has taken no step)."""
    if record.epoch < 1:
        return []
    found = []
    if record.dead_frac >= DEAD_ALARM:
        found.append(
            Alarm(
                "dead",
                record.epoch,
                f"{record.dead_frac:.0%} of hidden units are dead at epoch {record.epoch} (inactive on every "
                "training row, so they never learn again): lower optim.lr",
            )
        )
    tensor, ratio = max((("W", record.update_ratio_W), ("U", record.update_ratio_U)), key=lambda t: t[1])
    if record.epoch >= 2 and ratio > UPDATE_RATIO_HIGH:
        found.append(
            Alarm(
                "update_high",
                record.epoch,
                f"update ratio of {tensor} is {ratio:.1e} at epoch {record.epoch} (healthy is near 1e-3, "
                f"warning above {UPDATE_RATIO_HIGH:g}): lower optim.lr",
            )
        )
    tensor, ratio = min((("W", record.update_ratio_W), ("U", record.update_ratio_U)), key=lambda t: t[1])
    if record.epoch == 1 and ratio < UPDATE_RATIO_LOW:
        found.append(
            Alarm(
                "update_low",
                record.epoch,
                f"update ratio of {tensor} is {ratio:.1e} at epoch 1 (healthy is near 1e-3, warning below "
                f"{UPDATE_RATIO_LOW:g}): the steps barely move the weights; raise optim.lr",
            )
        )
    return found


def run_alarms(history: Iterable[EpochRecord]) -> list[Alarm]:
    """The first alarm of each kind over a run's records."""
    first: dict[str, Alarm] = {}
    for record in history:
        for alarm in record_alarms(record):
            first.setdefault(alarm.kind, alarm)
    return list(first.values())
