"""SGD with momentum (heavy ball or Nesterov), gradient-norm clipping and learning-rate schedules.

The update is scikit-learn's (and Sutskever et al.'s) form, on one flat parameter vector p:

    v <- mu v - lr g                 (velocity)
    p <- p + v                       (heavy ball)
    p <- p + mu v - lr g             (Nesterov, with the new v)

L2 weight decay is part of the loss (network.l2_penalty), so g already holds lambda W and lambda U.
State lives in small dataclasses that can be saved and restored as plain arrays and numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnapp.config import OptimConfig


@dataclass
class SGDState:
    velocity: np.ndarray  # same shape and dtype as the flat parameter vector
    steps: int = 0


def sgd_init(flat_params: np.ndarray) -> SGDState:
    return SGDState(velocity=np.zeros_like(flat_params))


def clip_by_norm(grad: np.ndarray, max_norm: float | None, squared_norm: float | None = None) -> float:
    """Scale grad in place so that ||grad|| <= max_norm; return the norm before clipping.
    `squared_norm`: grad . grad, from a caller that has computed it already (the trainer's check)."""
    if squared_norm is None:
        squared_norm = grad.dot(grad)  # ndarray.dot, not np.dot: see benchmarks/hot_path.md
    norm = float(np.sqrt(squared_norm))
    if max_norm is not None and norm > max_norm:
        grad *= max_norm / norm
    return norm


def sgd_step(
    params: np.ndarray, grad: np.ndarray, state: SGDState, lr: float, momentum: float, nesterov: bool
) -> None:
    """One update of the flat vector `params` in place (see the module docstring).

    `grad` is overwritten with lr * grad: the step needs no temporary array (the trainer recomputes
    the gradient before the next step anyway).
    """
    v = state.velocity
    lr_g = np.multiply(grad, lr, out=grad)
    if momentum == 0.0:
        params -= lr_g
    else:
        v *= momentum
        v -= lr_g  # v <- mu v - lr g
        if nesterov:
            params += momentum * v - lr_g  # p <- p + mu v - lr g
        else:
            params += v  # p <- p + v
    state.steps += 1


@dataclass
class ScheduleState:
    """Learning-rate schedule state; `best`/`bad_epochs` serve the plateau schedule only."""

    lr: float
    best: float = math.inf
    bad_epochs: int = 0


def schedule_init(cfg: OptimConfig) -> ScheduleState:
    return ScheduleState(lr=cfg.lr)


def schedule_lr(cfg: OptimConfig, state: ScheduleState, epoch: int, total_epochs: int) -> float:
    """The learning rate for epoch `epoch` (0-based) of a time-based schedule; plateau keeps state.lr."""
    lr0 = cfg.lr
    if cfg.schedule == "constant":
        return lr0
    if cfg.schedule == "step":
        return max(lr0 * cfg.decay ** (epoch // cfg.step_every), cfg.min_lr)
    if cfg.schedule == "cosine":
        progress = epoch / max(total_epochs - 1, 1)
        return cfg.min_lr + (lr0 - cfg.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.schedule == "invscaling":
        try:
            decayed = lr0 / (epoch + 1) ** cfg.power_t
        except OverflowError:  # config load refuses this within train.epochs; `--resume --epochs` may go past
            decayed = 0.0  # the limit of lr0 / x as x grows past 1.8e308
        return max(decayed, cfg.min_lr)
    return state.lr  # plateau: changed only by plateau_update


def plateau_update(cfg: OptimConfig, state: ScheduleState, val_loss: float) -> None:
    """After an epoch: cut the rate by `decay` once val loss stalls for `plateau_patience` epochs."""
    if val_loss < state.best - 1e-12:
        state.best, state.bad_epochs = val_loss, 0
        return
    state.bad_epochs += 1
    if state.bad_epochs >= cfg.plateau_patience:
        state.lr = max(state.lr * cfg.decay, cfg.min_lr)
        state.bad_epochs = 0
