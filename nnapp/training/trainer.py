"""The training loop: reshuffled mini-batches, SGD, per-epoch metrics, early stopping, gradient checks.

The trainer reports through callbacks; it neither prints nor writes files. All of its mutable state
is in `TrainState`, so that a run can be saved after any epoch and resumed to the same numbers.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnapp.config import Config
from nnapp.core import network
from nnapp.core.gradcheck import GradcheckReport, Verdict, check_gradients
from nnapp.core.optim import (
    ScheduleState,
    SGDState,
    clip_by_norm,
    plateau_update,
    schedule_init,
    schedule_lr,
    sgd_init,
    sgd_step,
)
from nnapp.data.datasets import Dataset

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
)
# |J0 - ln N_c| beyond this many nats flags the initial loss as far off chance. He-initialised logits
# have a standard deviation near sqrt(2) on standardized inputs, which alone adds about one nat.
CHANCE_FLAG_MARGIN = 2.0
# A runaway loss is divergence even while it is finite: training stops when the loss at the end of an
# epoch exceeds RUNAWAY_FACTOR x max(initial loss, ln N_c). Measured on the shipped configs, a learning
# rate that recovers peaks under 15x (iris at optim.lr=3 reaches 25 nats from 1.8 at epoch 3), while
# one that diverges passes 100x within a few epochs and goes on to 1e12-1e150 (digits optim.lr=1: 2.6e4
# after one epoch). At such losses finite differences resolve nothing: J(p +/- eps) round alike.
RUNAWAY_FACTOR = 100.0


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
    seconds: float  # wall-clock time of the epoch (not deterministic)

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


@dataclass
class TrainResult:
    params: network.Params  # the returned (best) weights
    history: list[EpochRecord]
    checks: list[GradcheckRecord]
    best_epoch: int
    stop_reason: str  # "completed" | "early_stopping" | "gradcheck_failed" | "diverged" | "interrupted"
    message: str
    initial_loss: float
    chance_loss: float
    seconds: float
    state: TrainState


class Callback:
    """Override what you need; every hook is optional."""

    def on_start(self, initial: EpochRecord, chance_loss: float, far_off: bool) -> None: ...
    def on_epoch_end(self, record: EpochRecord, state: TrainState) -> None: ...
    def on_gradcheck(self, record: GradcheckRecord) -> None: ...

    # After epoch 0 and each full epoch, its periodic gradient check included: `state` is then
    # exactly what a checkpoint must hold to resume to the same numbers (see nnapp.rundir.checkpoint).
    def on_epoch_done(self, state: TrainState) -> None: ...


def dimensions(data: Dataset, cfg: Config) -> tuple[int, int, int]:
    return data.n_features, cfg.model.hidden, data.n_classes


def init_state(cfg: Config, data: Dataset) -> TrainState:
    """Fresh parameters and optimizer state; all randomness derives from cfg.seed."""
    init_seq, shuffle_seq, check_seq = np.random.SeedSequence(cfg.seed).spawn(3)
    dims = dimensions(data, cfg)
    params = network.init_params(
        *dims, np.random.default_rng(init_seq), init=cfg.model.init, dtype=np.dtype(cfg.model.dtype)
    )
    flat = network.flatten(params)
    return TrainState(
        flat=flat,
        sgd=sgd_init(flat),
        schedule=schedule_init(cfg.optim),
        shuffle_rng=np.random.default_rng(shuffle_seq),
        check_rng=np.random.default_rng(check_seq),
    )


def gradcheck_samples(cfg: Config, data: Dataset) -> int:
    """How many rows the checks use: gradcheck.samples, raised to N_c (one row of every class at
    least; preflight.notes says so), at most every training row."""
    return min(max(cfg.gradcheck.samples, data.n_classes), len(data.y_train))


def gradcheck_rows(cfg: Config, data: Dataset) -> np.ndarray:
    """The fixed training rows the periodic checks use, stratified: one seeded row of every class
    present, then the first of a seeded permutation of the others, `gradcheck_samples` in all.

    A mistake that touches one class only (say, class 9 of digits) shows only in rows of that class.
    """
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(4)[3])
    y = data.y_train
    one_each = [int(rng.choice(np.flatnonzero(y == c))) for c in np.unique(y)]
    others = rng.permutation(np.setdiff1d(np.arange(len(y)), one_each))
    n_rows = gradcheck_samples(cfg, data)
    return np.sort(np.concatenate([one_each, others])[:n_rows])


def run_gradcheck(
    cfg: Config, params: network.Params, data: Dataset, rng: np.random.Generator
) -> GradcheckReport:
    g = cfg.gradcheck
    rows = gradcheck_rows(cfg, data)
    return check_gradients(
        params,
        data.X_train[rows],
        data.y_train[rows],
        cfg.optim.weight_decay,
        eps=g.eps,
        coords=None if g.coords == "all" else int(g.coords),
        tol=g.tol,
        fail=g.fail,
        rng=rng,
        directional=g.directional,
        batch_rows=min(cfg.train.batch_size, len(data.y_train)),  # the Workspace training steps use
    )


def evaluate(
    params: network.Params, X: np.ndarray, y: np.ndarray, weight_decay: float = 0.0
) -> tuple[float, float]:
    """(cross-entropy + L2, accuracy) of params on (X, y)."""
    fwd = network.forward(params, X)
    loss = network.cross_entropy(fwd, y) + network.l2_penalty(params, weight_decay)
    return loss, float(np.mean(np.argmax(fwd.theta, axis=1) == y))


def _epoch_record(
    cfg: Config,
    params: network.Params,
    grads: network.Params,
    X_train: np.ndarray,
    data: Dataset,
    epoch: int,
    lr: float,
    seconds: float,
    ws: network.Workspace | None = None,
) -> EpochRecord:
    wd = cfg.optim.weight_decay
    fwd = network.forward(params, X_train, ws)
    ce = network.cross_entropy(fwd, data.y_train)
    l2 = network.l2_penalty(params, wd)
    train_acc = float(np.mean(np.argmax(fwd.theta, axis=1) == data.y_train))
    network.backward(params, fwd, data.y_train, wd, input_grad=False, out=grads)
    grad_norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    X_val = data.X_val.astype(X_train.dtype, copy=False)
    val_loss, val_acc = evaluate(params, X_val, data.y_val)
    return EpochRecord(epoch, ce + l2, train_acc, val_loss, val_acc, ce, l2, lr, grad_norm, seconds)


def _monitored(cfg: Config, record: EpochRecord) -> float:
    """The early-stopping metric, oriented so that lower is better."""
    return record.val_loss if cfg.train.early_stopping.monitor == "val_loss" else -record.val_acc


def _finite(record: EpochRecord) -> bool:
    return all(math.isfinite(v) for v in (record.train_loss, record.val_loss, record.grad_norm))


def runaway_limit(initial_loss: float, chance_loss: float) -> float:
    """The training loss beyond which training has diverged although finite (see RUNAWAY_FACTOR)."""
    return RUNAWAY_FACTOR * max(initial_loss, chance_loss)


# Overflow on the way to divergence is expected and detected by the explicit checks in the loop, which
# then name the epoch and step; numpy's own RuntimeWarnings would only bury that one line in noise.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def train(
    cfg: Config,
    data: Dataset,
    callbacks: Sequence[Callback] = (),
    state: TrainState | None = None,
    stop_event: threading.Event | None = None,
) -> TrainResult:
    """Train (or, given a saved `state`, go on training) and return the best weights and the record."""
    started = time.perf_counter()
    dtype = np.dtype(cfg.model.dtype)
    dims = dimensions(data, cfg)
    state = state if state is not None else init_state(cfg, data)
    params = network.views(state.flat, *dims)
    grad_flat = np.zeros_like(state.flat)
    grads = network.views(grad_flat, *dims)
    prev_flat = state.flat.copy()  # last parameters known to give a finite loss
    X_train = np.ascontiguousarray(data.X_train, dtype=dtype)
    y_train = data.y_train
    Y_train = np.eye(data.n_classes, dtype=dtype)[y_train]  # one-hot, so Delta1 = (Y_hat - Y) / B
    n = len(y_train)
    batch = min(cfg.train.batch_size, n)
    ws = network.Workspace.new(batch, cfg.model.hidden, data.n_classes, dtype)  # reused by every step
    ws_all = network.Workspace.new(n, cfg.model.hidden, data.n_classes, dtype)  # and by every epoch's metrics
    chance = math.log(data.n_classes)
    o, es = cfg.optim, cfg.train.early_stopping
    every = cfg.gradcheck.every

    def check(epoch: int, when: str) -> GradcheckRecord | None:
        if not cfg.gradcheck.enabled:
            return None
        record = GradcheckRecord(epoch, when, run_gradcheck(cfg, params, data, state.check_rng))
        state.checks.append(record)
        for cb in callbacks:
            cb.on_gradcheck(record)
        return record

    def end_of_epoch(record: EpochRecord) -> None:
        state.history.append(record)
        score = _monitored(cfg, record)
        if state.best_flat is None or score < state.best_score - es.min_delta:
            state.best_score, state.best_epoch, state.bad_epochs = score, record.epoch, 0
            state.best_flat = state.flat.copy()
        else:
            state.bad_epochs += 1
        if o.schedule == "plateau" and record.epoch > 0:
            plateau_update(o, state.schedule, record.val_loss)

    stop_reason, message = "completed", ""
    if not state.history:  # epoch 0: the untrained network, next to the chance level
        initial = _epoch_record(cfg, params, grads, X_train, data, 0, o.lr, 0.0, ws_all)
        end_of_epoch(initial)
        for cb in callbacks:
            cb.on_start(initial, chance, abs(initial.train_ce - chance) > CHANCE_FLAG_MARGIN)
        if not _finite(initial):  # no learning rate is to blame: the inputs are too large
            stop_reason = "diverged"
            message = (
                "training cannot start: the untrained network already gives a non-finite loss; "
                "the inputs are too large (set data.standardize: true or rescale the data)"
            )
        elif every > 0:
            gc = check(0, "epoch")
            if gc is not None and gc.report.verdict == Verdict.FAIL and cfg.gradcheck.on_fail == "stop":
                stop_reason, message = "gradcheck_failed", _gradcheck_message(gc)
        if stop_reason == "completed":
            _epoch_done(callbacks, state)
    elif es.patience > 0 and state.bad_epochs >= es.patience:
        # resumed from the checkpoint of the epoch that stopped early: stop as the original run did
        stop_reason, message = "early_stopping", _early_stopping_message(cfg)
    initial_loss = state.history[0].train_loss

    while stop_reason == "completed" and state.epoch < cfg.train.epochs:
        epoch = state.epoch + 1
        t0 = time.perf_counter()
        lr = state.schedule.lr = schedule_lr(o, state.schedule, epoch - 1, cfg.train.epochs)
        order = state.shuffle_rng.permutation(n) if cfg.train.shuffle else np.arange(n)
        X_epoch, Y_epoch = X_train[order], Y_train[order]  # one gather per epoch, slices per step
        for step, start in enumerate(range(0, n, batch), start=1):
            X_b, Y_b = X_epoch[start : start + batch], Y_epoch[start : start + batch]
            # the gradient check differentiates this very call (nnapp.core.gradcheck)
            network.step_gradients(params, X_b, Y_b, o.weight_decay, ws, grads)
            # A non-finite loss makes Y_hat, hence the gradient, non-finite, and the norm is computed for
            # clipping anyway: checking it spares the hot loop a separate loss evaluation per step.
            if not math.isfinite(clip_by_norm(grad_flat, o.clip_norm)):
                stop_reason, message = "diverged", _divergence_message("gradient norm", epoch, step, o.lr)
                break
            np.copyto(prev_flat, state.flat)
            sgd_step(state.flat, grad_flat, state.sgd, lr, o.momentum, o.nesterov)
            # A non-finite parameter need not make the next loss non-finite (a -inf weight behind a
            # ReLU is masked to 0), so check the parameters themselves: one BLAS pass over them (np.dot
            # is 4-7x faster here than np.sum). ||p||^2 overflows only once weights pass ~1e150 (float64)
            # or ~1e17 (float32): diverged by any measure.
            if not math.isfinite(float(np.dot(state.flat, state.flat))):
                stop_reason, message = "diverged", _divergence_message("parameter", epoch, step, o.lr)
                break
            if stop_event is not None and stop_event.is_set():
                stop_reason, message = "interrupted", f"interrupted during epoch {epoch}, after step {step}"
                break
        if stop_reason == "diverged":
            np.copyto(state.flat, prev_flat)  # the last parameters that gave a finite loss
            break
        if stop_reason == "interrupted":
            break  # a partial epoch is neither recorded nor checkpointed
        seconds = time.perf_counter() - t0
        record = _epoch_record(cfg, params, grads, X_train, data, epoch, lr, seconds, ws_all)
        if not _finite(record):
            np.copyto(state.flat, prev_flat)
            stop_reason = "diverged"
            message = _divergence_message("loss or gradient over the training set", epoch, step, o.lr, True)
            break
        if record.train_loss > runaway_limit(initial_loss, chance):  # finite, but diverged: before any check
            np.copyto(state.flat, prev_flat)
            stop_reason = "diverged"
            message = _runaway_message(record, initial_loss, chance, o.lr)
            break
        state.epoch = epoch
        end_of_epoch(record)
        for cb in callbacks:
            cb.on_epoch_end(record, state)
        if every > 0 and epoch % every == 0:
            gc = check(epoch, "epoch")
            if gc is not None and gc.report.verdict == Verdict.FAIL and cfg.gradcheck.on_fail == "stop":
                stop_reason, message = "gradcheck_failed", _gradcheck_message(gc)
                break
        _epoch_done(callbacks, state)
        if es.patience > 0 and state.bad_epochs >= es.patience:
            stop_reason, message = "early_stopping", _early_stopping_message(cfg)
            break
        if stop_event is not None and stop_event.is_set():
            stop_reason, message = "interrupted", f"interrupted after epoch {epoch}"
            break

    best = state.best_flat if state.best_flat is not None else state.flat
    final = network.views(best.copy(), *dims)
    if stop_reason != "gradcheck_failed" and cfg.gradcheck.enabled:
        gc = GradcheckRecord(state.best_epoch, "final", run_gradcheck(cfg, final, data, state.check_rng))
        state.checks.append(gc)
        for cb in callbacks:
            cb.on_gradcheck(gc)
        if (
            gc.report.verdict == Verdict.FAIL
            and cfg.gradcheck.on_fail == "stop"
            and stop_reason == "completed"
        ):
            stop_reason, message = "gradcheck_failed", _gradcheck_message(gc)
    return TrainResult(
        params=final,
        history=list(state.history),
        checks=list(state.checks),
        best_epoch=state.best_epoch,
        stop_reason=stop_reason,
        message=message,
        initial_loss=initial_loss,
        chance_loss=chance,
        seconds=time.perf_counter() - started,
        state=state,
    )


def _epoch_done(callbacks: Sequence[Callback], state: TrainState) -> None:
    for cb in callbacks:
        hook = getattr(cb, "on_epoch_done", None)  # duck-typed callbacks (the CLI's) may not have it
        if hook is not None:
            hook(state)


def _early_stopping_message(cfg: Config) -> str:
    es = cfg.train.early_stopping
    return f"early stopping: {es.monitor} has not improved for {es.patience} epochs"


def _divergence_message(what: str, epoch: int, step: int, lr: float, epoch_end: bool = False) -> str:
    where = f"the end of epoch {epoch} (after step {step})" if epoch_end else f"epoch {epoch}, step {step}"
    return (
        f"training diverged: non-finite {what} at {where}; try a smaller learning rate "
        f"(optim.lr={lr:g}, e.g. optim.lr={lr / 10:g}) or set optim.clip_norm"
    )


def _runaway_message(record: EpochRecord, initial_loss: float, chance: float, lr: float) -> str:
    return (
        f"training diverged: runaway loss {record.train_loss:.3g} at the end of epoch {record.epoch}, "
        f"over {RUNAWAY_FACTOR:g}x the initial loss {initial_loss:.3g} (or chance, ln N_c = {chance:.3g}); "
        f"try a smaller learning rate (optim.lr={lr:g}, e.g. optim.lr={lr / 10:g}) or set optim.clip_norm"
    )


def _gradcheck_message(record: GradcheckRecord) -> str:
    report = record.report
    worst = report.worst()
    where = f" at index {worst.worst_index}" if worst.worst_index is not None else ""
    text = (
        f"gradient check failed at epoch {record.epoch}: dJ/d{worst.name} relative error "
        f"{worst.max_error:.2e}{where} > gradcheck.fail={report.fail:g}"
    )
    if worst.nonfinite:
        text = (
            f"gradient check failed at epoch {record.epoch}: dJ/d{worst.name} has a non-finite value "
            f"(NaN or inf){where}"
        )
    d = report.directional
    if d is not None and d.verdict == Verdict.FAIL and worst.verdict != Verdict.FAIL:
        text = (
            f"gradient check failed at epoch {record.epoch}: directional derivative error "
            f"{d.error:.2e} > gradcheck.fail={report.fail:g}"
        )
    return text


def summary_metrics(params: network.Params, data: Dataset) -> dict[str, Any]:
    """Final cross-entropy loss (no L2 term) and accuracy on each split."""
    out: dict[str, Any] = {}
    for split in ("train", "val", "test"):
        X, y = data.split(split)
        loss, acc = evaluate(params, X.astype(params["W"].dtype, copy=False), y)
        out[f"{split}_loss"], out[f"{split}_acc"] = loss, acc
    return out
