"""The training loop: reshuffled mini-batches, SGD, per-epoch metrics, early stopping, gradient checks.

The trainer reports through callbacks; it neither prints nor writes files. All of its mutable state
is in `TrainState`, so that a run can be saved after any epoch and resumed to the same numbers.
Each stage (epoch 0, the steps of an epoch, the end of an epoch, the final check) returns a `Stop`
when training must end there, None to go on.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnapp.config import Config
from nnapp.core import network
from nnapp.core.gradcheck import Verdict
from nnapp.core.optim import plateau_update, schedule_lr
from nnapp.data.datasets import Dataset
from nnapp.training.measure import validates_on_training_rows
from nnapp.training.measure_chunked import epoch_meter
from nnapp.training.records import (
    COMPLETED,
    Callback,
    EpochRecord,
    GradcheckRecord,
    Stop,
    StopReason,
    TrainResult,
    TrainState,
)
from nnapp.training.start import dimensions, gradcheck_rows, init_state, run_gradcheck
from nnapp.training.step import sgd_stepper

# |J0 - ln N_c| beyond this many nats flags the initial loss as far off chance. He-initialised logits
# have a standard deviation near sqrt(2) on standardized inputs, which alone adds about one nat.
CHANCE_FLAG_MARGIN = 2.0
# A runaway loss is divergence even while it is finite: training stops when the loss at the end of an
# epoch exceeds RUNAWAY_FACTOR x max(initial loss, ln N_c). Measured on the shipped configs, a learning
# rate that recovers peaks under 15x (iris at optim.lr=3 reaches 25 nats from 1.8 at epoch 3), while
# one that diverges passes 100x within a few epochs and goes on to 1e12-1e150 (digits optim.lr=1: 2.6e4
# after one epoch). At such losses finite differences resolve nothing: J(p +/- eps) round alike.
RUNAWAY_FACTOR = 100.0


def _monitored(cfg: Config, record: EpochRecord) -> float:
    """The early-stopping metric, oriented so that lower is better."""
    return record.val_loss if cfg.train.early_stopping.monitor == "val_loss" else -record.val_acc


def _finite(record: EpochRecord) -> bool:
    return (
        math.isfinite(record.train_loss)
        and math.isfinite(record.val_loss)
        and math.isfinite(record.grad_norm)
    )


def runaway_limit(initial_loss: float, chance_loss: float) -> float:
    """The training loss beyond which training has diverged although finite (see RUNAWAY_FACTOR)."""
    return RUNAWAY_FACTOR * max(initial_loss, chance_loss)


@dataclass
class _Run:
    """One call of `train`: the config, the data in training's dtype, the objective (loss and backward
    pass) and the buffers every step and every epoch reuse. The stages below mutate `state` and return
    a Stop to end training."""

    cfg: Config
    data: Dataset
    callbacks: Sequence[Callback]
    state: TrainState
    stop_event: threading.Event | None
    objective: network.Objective

    def __post_init__(self) -> None:
        cfg, data, dtype = self.cfg, self.data, np.dtype(self.cfg.model.dtype)
        self.dims = dimensions(data, cfg)
        self.params = network.views(self.state.flat, *self.dims)
        self.grad_flat = np.zeros_like(self.state.flat)
        self.grads = network.views(self.grad_flat, *self.dims)
        self.prev_flat = self.state.flat.copy()  # last parameters known to give a finite loss
        self.X_train = np.ascontiguousarray(data.X_train, dtype=dtype)
        self.Y_train = np.eye(data.n_classes, dtype=dtype)[data.y_train]  # one-hot: Delta1 = (Y_hat - Y) / B
        self.n = len(data.y_train)
        self.batch = min(cfg.train.batch_size, self.n)
        self.ws = network.Workspace.new(self.batch, cfg.model.hidden, data.n_classes, dtype)  # every step's
        # Each epoch gathers its shuffled rows into these same arrays, so every step's batch is a view
        # made once, here (benchmarks/hot_path.md).
        self.X_epoch, self.Y_epoch = np.empty_like(self.X_train), np.empty_like(self.Y_train)
        self.batches = [
            (self.X_epoch[start : start + self.batch], self.Y_epoch[start : start + self.batch])
            for start in range(0, self.n, self.batch)
        ]
        self.before_last_step = network.views(self.prev_flat, *self.dims)
        self.step = sgd_stepper(
            self.params,
            self.state.flat,
            self.grads,
            self.grad_flat,
            self.state.sgd,
            cfg.optim,
            self.ws,
            self.prev_flat,
            self.objective.backward,
        )
        # validation on the training rows themselves (nnapp.Classifier): the same arrays, measured once
        val_is_train = validates_on_training_rows(data.X_train, data.y_train, data.X_val, data.y_val)
        self.meter = epoch_meter(  # in chunks of rows above a size: memory bounded
            self.dims,
            self.X_train,
            self.Y_train,
            data.y_train,
            self.X_train if val_is_train else data.X_val,
            data.y_val,
            cfg.optim.weight_decay,
            self.objective,
        )
        self.chance = math.log(data.n_classes)
        self.check_rows = gradcheck_rows(cfg, data) if cfg.gradcheck.enabled else None
        self.done_epoch = self.state.epoch if self.state.history else -1  # the last epoch reported done

    def stop_requested(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def early_stopped(self) -> Stop | None:
        es = self.cfg.train.early_stopping
        if es.patience > 0 and self.state.bad_epochs >= es.patience:
            message = f"early stopping: {es.monitor} has not improved for {es.patience} epochs"
            return Stop(StopReason.EARLY_STOPPING, message)
        return None

    def check(self, epoch: int, when: str, params: network.Params) -> Stop | None:
        """Run a gradient check (if enabled) and report it: a Stop if it failed and on_fail is stop."""
        gc = self.cfg.gradcheck
        if not gc.enabled:
            return None
        report = run_gradcheck(
            self.cfg, params, self.data, self.state.check_rng, self.check_rows, self.objective
        )
        record = GradcheckRecord(epoch, when, report)
        self.state.checks.append(record)
        for cb in self.callbacks:
            cb.on_gradcheck(record)
        if report.verdict == Verdict.FAIL and gc.on_fail == "stop":
            return Stop(StopReason.GRADCHECK_FAILED, _gradcheck_message(record))
        return None

    def periodic_check(self, epoch: int) -> Stop | None:
        every = self.cfg.gradcheck.every
        return self.check(epoch, "epoch", self.params) if every > 0 and epoch % every == 0 else None

    def record(self, record: EpochRecord) -> None:
        """Append an epoch's record; track the best weights and the plateau schedule."""
        state, cfg = self.state, self.cfg
        state.history.append(record)
        score = _monitored(cfg, record)
        if state.best_flat is None or score < state.best_score - cfg.train.early_stopping.min_delta:
            state.best_score, state.best_epoch, state.bad_epochs = score, record.epoch, 0
            state.best_flat = state.flat.copy()
        else:
            state.bad_epochs += 1
        if cfg.optim.schedule == "plateau" and record.epoch > 0:
            plateau_update(cfg.optim, state.schedule, record.val_loss)

    def epoch_done(self) -> None:
        self.done_epoch = self.state.epoch
        for cb in self.callbacks:
            cb.on_epoch_done(self.state)

    def epoch_zero(self) -> Stop | None:
        """Measure the untrained network next to the chance level, and check it."""
        initial = self.meter.record(self.params, self.grads, None, 0, self.cfg.optim.lr, 0.0)
        self.record(initial)
        for cb in self.callbacks:
            cb.on_gradient(0, self.grad_flat)
            cb.on_start(initial, self.chance, abs(initial.train_ce - self.chance) > CHANCE_FLAG_MARGIN)
        if not _finite(initial):  # no learning rate is to blame: the inputs are too large
            return Stop(
                StopReason.DIVERGED,
                "training cannot start: the untrained network already gives a non-finite loss; "
                "the inputs are too large (set data.scaling: standard or rescale the data)",
            )
        stop = self.periodic_check(0)
        if stop is None:
            self.epoch_done()
        return stop

    def steps(self, epoch: int, lr: float) -> tuple[Stop | None, int]:
        """One epoch of SGD steps over reshuffled mini-batches: (a Stop or None, the last step)."""
        state, n = self.state, self.n
        order = state.shuffle_rng.permutation(n) if self.cfg.train.shuffle else np.arange(n)
        np.take(self.X_train, order, axis=0, out=self.X_epoch)  # one gather per epoch, into self.batches
        np.take(self.Y_train, order, axis=0, out=self.Y_epoch)
        sgd_step_on, stop_requested = self.step, self.stop_requested
        step = 0
        for step, (X_b, Y_b) in enumerate(self.batches, start=1):
            nonfinite = sgd_step_on(X_b, Y_b, lr)
            if nonfinite is not None:  # prev_flat holds the last parameters that gave a finite loss
                message = _divergence_message(nonfinite.value, epoch, step, self.cfg.optim.lr)
                return self.diverged(message), step
            if stop_requested():  # a partial epoch is neither recorded nor checkpointed
                return Stop(
                    StopReason.INTERRUPTED, f"interrupted during epoch {epoch}, after step {step}"
                ), step
        return None, step

    def diverged(self, message: str) -> Stop:
        np.copyto(self.state.flat, self.prev_flat)  # the last parameters that gave a finite loss
        return Stop(StopReason.DIVERGED, message)

    def epoch(self, epoch: int, initial_loss: float) -> Stop | None:
        """Run, measure and check one full epoch."""
        t0 = time.perf_counter()
        o, state = self.cfg.optim, self.state
        lr = state.schedule.lr = schedule_lr(o, state.schedule, epoch - 1, self.cfg.train.epochs)
        stop, step = self.steps(epoch, lr)
        if stop is not None:
            return stop
        seconds = time.perf_counter() - t0
        # prev_flat holds the weights before the epoch's last step: the update ratios' reference
        record = self.meter.record(self.params, self.grads, self.before_last_step, epoch, lr, seconds)
        if not _finite(record):
            return self.diverged(
                _divergence_message("loss or gradient over the training set", epoch, step, o.lr, True)
            )
        if record.train_loss > runaway_limit(
            initial_loss, self.chance
        ):  # finite, but diverged: before any check
            return self.diverged(_runaway_message(record, initial_loss, self.chance, o.lr))
        return self.end_of_epoch(record)

    def end_of_epoch(self, record: EpochRecord) -> Stop | None:
        self.state.epoch = record.epoch
        self.record(record)
        for cb in self.callbacks:
            cb.on_gradient(record.epoch, self.grad_flat)  # the meter's full-data gradient, in grad_flat
            cb.on_epoch_end(record, self.state)
        stop = self.periodic_check(record.epoch)
        if stop is not None:
            return stop
        self.epoch_done()
        if (stop := self.early_stopped()) is not None:
            return stop
        if self.stop_requested():
            return Stop(StopReason.INTERRUPTED, f"interrupted after epoch {record.epoch}")
        return None

    def final(self, stop: Stop) -> tuple[network.Params, Stop]:
        """The returned (best) weights, checked unless a check already failed."""
        state = self.state
        best = state.best_flat if state.best_flat is not None else state.flat
        final = network.views(best.copy(), *self.dims)
        if stop.reason != StopReason.GRADCHECK_FAILED:
            failed = self.check(state.best_epoch, "final", final)
            if failed is not None and stop.reason == StopReason.COMPLETED:
                stop = failed
        return final, stop


# Overflow on the way to divergence is expected and detected by the explicit checks in the loop, which
# then name the epoch and step; numpy's own RuntimeWarnings would only bury that one line in noise.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def train(
    cfg: Config,
    data: Dataset,
    callbacks: Sequence[Callback] = (),
    state: TrainState | None = None,
    stop_event: threading.Event | None = None,
    objective: network.Objective = network.DERIVED,
) -> TrainResult:
    """Train (or, given a saved `state`, go on training) and return the best weights and the record.

    `objective`: the loss and backward pass the steps, the epoch records and the checks use (another
    than the derived one: a planted mistake, nnapp.core.mistakes)."""
    started = time.perf_counter()
    initial = state if state is not None else init_state(cfg, data)
    run = _Run(cfg, data, callbacks, initial, stop_event, objective)
    for cb in callbacks:
        cb.on_begin(run.state)
    # a resumed run whose last epoch stopped early stops again, as the original run did
    stop = run.early_stopped() if run.state.history else run.epoch_zero()
    initial_loss = run.state.history[0].train_loss
    while stop is None and run.state.epoch < cfg.train.epochs:
        stop = run.epoch(run.state.epoch + 1, initial_loss)
    params, stop = run.final(stop or COMPLETED)
    result = TrainResult(
        params=params,
        history=list(run.state.history),
        checks=list(run.state.checks),
        best_epoch=run.state.best_epoch,
        stop_reason=stop.reason,
        message=stop.message,
        initial_loss=initial_loss,
        chance_loss=run.chance,
        seconds=time.perf_counter() - started,
        state=run.state,
        done_epoch=run.done_epoch,
    )
    for cb in callbacks:
        cb.on_end(result)
    return result


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
