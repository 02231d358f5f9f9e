"""nnapp next to scikit-learn's MLPClassifier: same split, equivalent settings, one table's worth of numbers.

How the settings map (sklearn_settings):

    model.hidden          -> hidden_layer_sizes=(hidden,), activation="relu"
    optim.lr, momentum    -> solver="sgd", learning_rate_init, momentum (the same heavy-ball update,
                             v <- mu v - lr g, p <- p + v), nesterovs_momentum=optim.nesterov
    train.batch_size      -> batch_size;  train.epochs -> max_iter, never stopping early
                             (tol=0, n_iter_no_change > epochs)
    optim.weight_decay    -> alpha = weight_decay * batch_size. scikit-learn adds (alpha / 2) ||W||^2 / B
                             to the loss of a batch of B rows, nnapp (lambda / 2) ||W||^2: the two agree
                             for full batches (an epoch's short last batch decays a little more there).
    seed                  -> random_state

What does not map: scikit-learn initialises with Glorot-uniform weights and random biases (nnapp: He
or Glorot, zero biases), uses one logistic output unit for two classes (nnapp: two softmax units),
and keeps the last weights (nnapp keeps the epoch with the best validation score). Its learning-rate
schedules and clipping differ from nnapp's, so only a constant rate without clipping is compared.
nnapp runs without early stopping and without gradient checks here, so that both train for exactly
train.epochs epochs doing the same work.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnapp.config import Config
from nnapp.core import network
from nnapp.data.datasets import Dataset
from nnapp.errors import CompareError
from nnapp.training.threads import training_threads
from nnapp.training.trainer import train


@dataclass(frozen=True)
class Side:
    """One trainer's outcome, measured the same way for both (sklearn.metrics on the same rows).

    None marks a number the side has no weights for: scikit-learn has no best-validation epoch, and a
    side that diverged has no usable weights at its end.
    """

    name: str
    test_acc: float | None  # of the returned model: nnapp's best-validation epoch, scikit-learn's last
    best_train_loss: float | None  # cross-entropy on the training rows at nnapp's best-validation epoch
    last_train_loss: float | None  # the same at the last epoch's weights
    seconds: float  # wall-clock time of the training call
    epochs: int
    best_epoch: int | None = None  # nnapp's best-validation epoch
    diverged: str = ""  # why the side diverged; "" if it did not

    @property
    def ms_per_epoch(self) -> float:
        return 1000.0 * self.seconds / max(self.epochs, 1)


@dataclass(frozen=True)
class Comparison:
    nnapp: Side
    sklearn: Side
    notes: tuple[str, ...]

    @property
    def speedup(self) -> float:
        """How many times faster nnapp trained (scikit-learn's seconds / nnapp's)."""
        return self.sklearn.seconds / self.nnapp.seconds

    @property
    def speed_text(self) -> str:
        """The speed ratio in words; none when nnapp diverged: it stopped on the runaway loss after a few
        epochs while scikit-learn ran them all, so the two times measure different work."""
        if self.nnapp.diverged:
            return (
                f"no speed ratio: nnapp stopped on diverging in epoch {self.nnapp.epochs + 1} and "
                f"scikit-learn ran {self.sklearn.epochs}, so their times measure different work"
            )
        return f"nnapp trained {self.speedup:.1f}× as fast"


def _where(key: str, source: str, overrides: Sequence[str]) -> str:
    """The override that set `key`, if one did, else the config file: where the user should look."""
    for text in overrides:
        if text.partition("=")[0].strip() in (key, key.rpartition(".")[0]):
            return f"override {text!r}"
    return source


def sklearn_settings(cfg: Config, source: str = "config", overrides: Sequence[str] = ()) -> dict[str, Any]:
    """MLPClassifier keyword arguments equivalent to cfg (see the module docstring)."""
    o = cfg.optim
    if o.schedule != "constant":
        raise CompareError(
            f"{_where('optim.schedule', source, overrides)}: optim.schedule must be 'constant' to compare "
            f"with scikit-learn (got {o.schedule!r}; its schedules are defined differently)"
        )
    if o.clip_norm is not None:
        raise CompareError(
            f"{_where('optim.clip_norm', source, overrides)}: optim.clip_norm has no scikit-learn "
            "counterpart; remove it to compare"
        )
    return {
        "hidden_layer_sizes": (cfg.model.hidden,),
        "activation": "relu",
        "solver": "sgd",
        "learning_rate": "constant",
        "learning_rate_init": o.lr,
        "momentum": o.momentum,
        "nesterovs_momentum": o.nesterov,
        "batch_size": cfg.train.batch_size,
        "alpha": o.weight_decay * cfg.train.batch_size,
        "max_iter": cfg.train.epochs,
        "shuffle": cfg.train.shuffle,
        "tol": 0.0,
        "n_iter_no_change": cfg.train.epochs + 1,
        "early_stopping": False,
        "random_state": cfg.seed,
    }


def comparable_config(cfg: Config) -> Config:
    """cfg with early stopping and gradient checks off: both trainers run every epoch, nothing else."""
    train_cfg = dataclasses.replace(
        cfg.train, early_stopping=dataclasses.replace(cfg.train.early_stopping, patience=0)
    )
    return dataclasses.replace(
        cfg, train=train_cfg, gradcheck=dataclasses.replace(cfg.gradcheck, enabled=False)
    )


def fit_sklearn(
    cfg: Config, data: Dataset, source: str = "config", overrides: Sequence[str] = ()
) -> tuple[Any, float, str]:
    """A fitted MLPClassifier, the seconds its fit took (threads as the caller set them), and why it
    diverged ("" if it did not)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(**sklearn_settings(cfg, source, overrides))
    X = data.X_train.astype(cfg.model.dtype, copy=False)
    diverged = ""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # max_iter is reached on purpose: both trainers run exactly train.epochs epochs
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        try:
            model.fit(X, data.y_train)
        except ValueError as exc:  # raised after the last epoch when the weights are no longer finite
            if "non-finite" not in str(exc):
                raise
            diverged = "non-finite weights"
        seconds = time.perf_counter() - started
    if not diverged and not all(np.isfinite(w).all() for w in [*model.coefs_, *model.intercepts_]):
        diverged = "non-finite weights"
    return model, seconds, diverged


def compare(cfg: Config, data: Dataset, source: str = "config", overrides: Sequence[str] = ()) -> Comparison:
    """Train nnapp and scikit-learn on data's split with equivalent settings and measure both."""
    from sklearn.metrics import accuracy_score, log_loss

    labels = np.arange(data.n_classes)
    dtype = cfg.model.dtype
    X_train, X_test = data.X_train.astype(dtype, copy=False), data.X_test.astype(dtype, copy=False)
    with training_threads():  # the same BLAS threads for both
        model, sk_seconds, sk_diverged = fit_sklearn(cfg, data, source, overrides)
        result = train(comparable_config(cfg), data)
    sk = Side(
        "scikit-learn",
        None if sk_diverged else float(accuracy_score(data.y_test, model.predict(X_test))),
        None,  # no best-validation epoch: scikit-learn keeps its last weights
        None if sk_diverged else float(log_loss(data.y_train, model.predict_proba(X_train), labels=labels)),
        sk_seconds,
        int(getattr(model, "n_iter_", cfg.train.epochs)),
        diverged=sk_diverged,
    )

    def train_loss(params: network.Params) -> float:
        return float(log_loss(data.y_train, network.predict_proba(params, X_train), labels=labels))

    # after a divergence nnapp holds the last weights that gave a finite loss: they are measured
    last = network.views(result.state.flat.copy(), data.n_features, cfg.model.hidden, data.n_classes)
    nn = Side(
        "nnapp",
        float(accuracy_score(data.y_test, network.predict(result.params, X_test))),
        train_loss(result.params),
        train_loss(last),
        result.seconds,
        result.state.epoch,
        best_epoch=result.best_epoch,
        diverged=result.message if result.stop_reason == "diverged" else "",
    )
    loop = sum(r.seconds for r in result.history)
    notes = [
        f"nnapp's training steps alone took {loop:.3f} s; the rest is its per-epoch train/val metrics",
        "test accuracy is of the returned model: nnapp's best-validation epoch, scikit-learn's last",
    ]
    if result.stop_reason not in ("completed", "diverged"):
        notes.append(f"nnapp stopped early: {result.message}")
    if nn.diverged:
        notes.append(f"nnapp: {nn.diverged}")
    if sk.diverged:
        notes.append(f"scikit-learn diverged: {sk.diverged} after its {sk.epochs} epochs")
    if data.n_classes == 2:
        notes.append("two classes: scikit-learn uses one logistic output unit, nnapp two softmax units")
    if cfg.optim.weight_decay:
        notes.append(f"weight decay {cfg.optim.weight_decay:g} -> scikit-learn alpha {model.alpha:g}")
    return Comparison(nn, sk, tuple(notes))
