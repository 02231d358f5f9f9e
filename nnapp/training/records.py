"""What training produces and hands on: per-epoch and gradient-check records, the resumable state,
the reason training stopped, the result, and the callback protocol.

These types carry no behaviour of the training loop, so that run directories, plots and checkpoints
can read and write them without depending on the loop itself (nnapp.training.trainer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from nnapp.core import network
from nnapp.core.gradcheck import GradcheckReport
from nnapp.core.optim import ScheduleState, SGDState

METRIC_COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "train_ce",
    "l2",
    "lr",
    "grad_norm",
    "seconds",
    "dead_frac",
    "active_frac",
    "grad_norm_W",
    "grad_norm_b1",
    "grad_norm_U",
    "grad_norm_b2",
    "update_ratio_W",
    "update_ratio_U",
)
# The diagnostics columns (docs/run-directory.md): all at the end-of-epoch weights, over the training rows.
DIAGNOSTIC_COLUMNS = METRIC_COLUMNS[METRIC_COLUMNS.index("dead_frac") :]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 0 is the untrained network
    train_loss: float  # cross-entropy + L2, at the end-of-epoch weights, over all training rows
    train_acc: float
    val_loss: float  # cross-entropy on the validation rows (no L2 term)
    val_acc: float
    train_ce: float
    l2: float
    lr: float
    grad_norm: float  # ||dJ/dparams|| over all training rows at the end-of-epoch weights
    seconds: float  # wall-clock time of the epoch's steps (not deterministic)
    dead_frac: float  # fraction of hidden units with z <= 0 on every training row
    active_frac: float  # mean over training rows of the fraction of units with z > 0
    grad_norm_W: float  # per-tensor parts of grad_norm
    grad_norm_b1: float
    grad_norm_U: float
    grad_norm_b2: float
    # ||delta p|| / ||p|| of the epoch's last SGD step (p after the step); 0 at epoch 0 (no step yet)
    update_ratio_W: float
    update_ratio_U: float

    def row(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in METRIC_COLUMNS}  # asdict deep-copies: 10x slower


@dataclass(frozen=True)
class GradcheckRecord:
    epoch: int
    when: str  # "epoch" (periodic) or "final" (the returned weights)
    report: GradcheckReport


@dataclass
class TrainState:
    """Everything that changes during training; saved in checkpoints."""

    flat: np.ndarray  # all parameters, one buffer (network.views names its parts)
    sgd: SGDState
    schedule: ScheduleState
    shuffle_rng: np.random.Generator
    check_rng: np.random.Generator
    epoch: int = 0  # epochs completed
    best_flat: np.ndarray | None = None
    best_score: float = math.inf  # monitored metric, oriented so that lower is better
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs without improvement (early stopping)
    history: list[EpochRecord] = field(default_factory=list)
    checks: list[GradcheckRecord] = field(default_factory=list)


class StopReason(StrEnum):
    """Why training returned; the values are what summary.json holds."""

    COMPLETED = "completed"  # every epoch ran
    EARLY_STOPPING = "early_stopping"
    GRADCHECK_FAILED = "gradcheck_failed"  # with gradcheck.on_fail: stop
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"  # a stop request (Ctrl-C)


@dataclass(frozen=True)
class Stop:
    reason: StopReason
    message: str = ""


COMPLETED = Stop(StopReason.COMPLETED)


@dataclass
class TrainResult:
    params: network.Params  # the returned (best) weights
    history: list[EpochRecord]
    checks: list[GradcheckRecord]
    best_epoch: int
    stop_reason: StopReason
    message: str
    initial_loss: float
    chance_loss: float
    seconds: float
    state: TrainState
    done_epoch: int  # the last epoch reported done (on_epoch_done): what the run's checkpoint holds


class Callback(Protocol):
    """What training reports, as it happens. Any object with these seven methods is a Callback; a class
    that subclasses Callback inherits a no-op for each hook it does not define.

    Every run, new or resumed, is framed the same way: `on_begin` first, `on_end` last (also when
    training stops early, diverges, fails a check or is interrupted)."""

    def on_begin(self, state: TrainState) -> None:
        """Training begins from `state`: epoch 0 of a new run (not yet measured), or the last epoch a
        resumed run's checkpoint holds (`state.epoch`, its history and checks up to it)."""
        return None

    def on_start(self, initial: EpochRecord, chance_loss: float, far_off: bool) -> None:
        """Epoch 0 (the untrained network) is measured; `far_off`: its loss is far from chance."""
        return None

    def on_epoch_end(self, record: EpochRecord, state: TrainState) -> None:
        """A full epoch is measured (before its periodic gradient check)."""
        return None

    def on_gradcheck(self, record: GradcheckRecord) -> None:
        return None

    def on_epoch_done(self, state: TrainState) -> None:
        """After epoch 0 and each full epoch, its periodic gradient check included: `state` is then
        exactly what a checkpoint must hold to resume to the same numbers (nnapp.rundir.checkpoint)."""
        return None

    def on_gradient(self, epoch: int, gradient: np.ndarray) -> None:
        """The full-data gradient at epoch `epoch`'s end weights (flat, network.views's order), measured
        with its record (before `on_start` or `on_epoch_end`); the buffer is reused: copy what you keep."""
        return None

    def on_end(self, result: TrainResult) -> None:
        """Training has returned: `result.done_epoch` is the last epoch done (what the checkpoint holds;
        `result.history` has one more record when a periodic check failed after measuring an epoch),
        `result.checks` every check, the final one included."""
        return None
