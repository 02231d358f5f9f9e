"""`nnapp.Classifier`: the network as a scikit-learn estimator (Pipeline, GridSearchCV, cross_val_score).

It trains through the very trainer `nnapp train` runs (nnapp.training.trainer: the same network, SGD,
schedules, early stopping and periodic gradient checks) on a Dataset made by nnapp.data.arrays, and
labels rows through the same `Model` value as `nnapp predict`. Its parameters are the config's keys
with flat names, stored unchanged by __init__ and turned into a Config in `fit` by the config's own
validator, so a bad value gets the message `nnapp train` would give. This is the only module that
imports scikit-learn at module level; `from nnapp import Classifier` imports it on first use.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from nnapp.config import Config, build_config, load_config
from nnapp.core import network
from nnapp.data.arrays import from_arrays
from nnapp.data.datasets import scale_features
from nnapp.data.tables import Dataset
from nnapp.errors import NnappError
from nnapp.training.model import Model
from nnapp.training.records import Callback, EpochRecord, StopReason, TrainResult, TrainState
from nnapp.training.start import dimensions
from nnapp.training.threads import training_threads
from nnapp.training.trainer import train

_DEFAULT = Config()
_M, _O, _T, _G = _DEFAULT.model, _DEFAULT.optim, _DEFAULT.train, _DEFAULT.gradcheck
_ES = _T.early_stopping

# each constructor parameter and the config key it sets (early_stopping and random_state: see _raw_config)
OPTIM = ("lr", "momentum", "nesterov", "weight_decay", "schedule", "step_every", "decay", "power_t")
CHECKS = ("every", "samples", "coords", "directional", "eps", "tol", "fail", "on_fail")
KEYS = {
    **{param: f"model.{param}" for param in ("hidden", "init", "dtype")},
    **{param: f"optim.{param}" for param in (*OPTIM, "plateau_patience", "min_lr", "clip_norm")},
    **{param: f"train.{param}" for param in ("epochs", "batch_size", "shuffle")},
    **{param: f"train.early_stopping.{param}" for param in ("monitor", "patience", "min_delta")},
    "validation_fraction": "data.val_size",
    "scaling": "data.scaling",
    "gradcheck": "gradcheck.enabled",
    **{f"gradcheck_{param}": f"gradcheck.{param}" for param in CHECKS},
    "random_state": "seed",
}
_LOG = logging.getLogger("nnapp.estimator")


class TrainingStoppedWarning(UserWarning):
    """Training stopped before its last epoch for a reason other than early stopping (it diverged, or a
    gradient check failed): the estimator keeps the weights training returned, as `nnapp train` does."""


class Classifier(ClassifierMixin, BaseEstimator):
    """x -> ReLU(W x + b1) -> softmax(U h + b2), trained by SGD with hand-derived, checked gradients.

    Parameters are `nnapp train`'s config keys (docs/configs.md) by their last name, with the
    same defaults, except: `early_stopping` (default False, as in MLPClassifier: every row trains and
    the weights of the epoch with the lowest training loss are kept; True holds out
    `validation_fraction` of the rows, stratified, and stops after `patience` epochs without progress),
    `gradcheck_*` (the gradcheck.* keys), `random_state` (the seed: an int, None or a RandomState) and
    `verbose` (log each epoch to the "nnapp.estimator" logger).
    """

    def __init__(
        self,
        hidden: int = _M.hidden,
        lr: float = _O.lr,
        epochs: int = _T.epochs,
        batch_size: int = _T.batch_size,
        momentum: float = _O.momentum,
        nesterov: bool = _O.nesterov,
        weight_decay: float = _O.weight_decay,
        schedule: str = _O.schedule,
        step_every: int = _O.step_every,
        decay: float = _O.decay,
        power_t: float = _O.power_t,
        plateau_patience: int = _O.plateau_patience,
        min_lr: float = _O.min_lr,
        clip_norm: float | None = _O.clip_norm,
        early_stopping: bool = False,
        monitor: str = _ES.monitor,
        patience: int = _ES.patience,
        min_delta: float = _ES.min_delta,
        validation_fraction: float = _DEFAULT.data.val_size,
        shuffle: bool = _T.shuffle,
        scaling: str = _DEFAULT.data.scaling,
        init: str = _M.init,
        dtype: str = _M.dtype,
        gradcheck: bool = _G.enabled,
        gradcheck_every: int = _G.every,
        gradcheck_samples: int = _G.samples,
        gradcheck_coords: int | str = _G.coords,
        gradcheck_directional: bool = _G.directional,
        gradcheck_eps: float = _G.eps,
        gradcheck_tol: float = _G.tol,
        gradcheck_fail: float = _G.fail,
        gradcheck_on_fail: str = _G.on_fail,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden = hidden
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.step_every = step_every
        self.decay = decay
        self.power_t = power_t
        self.plateau_patience = plateau_patience
        self.min_lr = min_lr
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.scaling = scaling
        self.init = init
        self.dtype = dtype
        self.gradcheck = gradcheck
        self.gradcheck_every = gradcheck_every
        self.gradcheck_samples = gradcheck_samples
        self.gradcheck_coords = gradcheck_coords
        self.gradcheck_directional = gradcheck_directional
        self.gradcheck_eps = gradcheck_eps
        self.gradcheck_tol = gradcheck_tol
        self.gradcheck_fail = gradcheck_fail
        self.gradcheck_on_fail = gradcheck_on_fail
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------------------ config, both ways

    def to_config(self, seed: int | None = None) -> Config:
        """The Config these parameters describe, built by the config's validator (ValueError with its
        message on a bad value); `seed` replaces random_state (fit draws one for None or a RandomState)."""
        raw: dict[str, Any] = {}
        for param, key in KEYS.items():
            value = getattr(self, param)
            if param == "random_state":
                value = seed if seed is not None else value
                if value is None or isinstance(value, np.random.RandomState):
                    value = 0  # a placeholder: only `fit` draws the seed
            elif param == "patience" and not self.early_stopping:
                value = 0  # early stopping off (train.early_stopping.patience: 0)
            elif isinstance(value, np.generic):
                value = value.item()  # a grid of numpy numbers (np.logspace) is a grid of numbers
            *parents, last = key.split(".")
            node = raw
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        raw["name"] = "classifier"
        try:
            return build_config(raw, lambda dotted: f"Classifier({_param_of(dotted)}=...)")
        except NnappError as exc:
            raise ValueError(str(exc)) from None

    @classmethod
    def from_config(cls, config: str | Path | Config, **params: Any) -> Classifier:
        """The estimator of a YAML config (or a Config): its model, optimizer, training and gradient
        check keys (its data and output keys do not apply); `params` override them."""
        cfg = config if isinstance(config, Config) else load_config(config).config
        values: dict[str, Any] = {}
        for param, key in KEYS.items():
            node: Any = cfg
            for part in key.split("."):
                node = getattr(node, part)
            values[param] = node
        values["early_stopping"] = cfg.train.early_stopping.patience > 0
        if not values["early_stopping"]:
            values["patience"] = _ES.patience
        return cls(**{**values, **params})

    @classmethod
    def from_run(cls, run_dir: str | Path) -> Classifier:
        """A fitted estimator of a run directory `nnapp train` wrote: its config's parameters, its
        model (predictions equal `nnapp predict`'s), its history and gradient checks."""
        from nnapp.rundir import runs

        run = _as_value_error(runs.load_run, run_dir)
        clf = cls.from_config(run.config)
        model = run.model.as_model()
        history = runs.read_history(run.path)
        clf.model_, clf.classes_, clf.seed_, clf._result = model, model.classes, run.config.seed, None
        clf.n_features_in_ = len(model.input_columns)
        clf.n_iter_ = history[-1].epoch
        clf.loss_curve_ = [r.train_loss for r in history[1:]]
        clf.validation_scores_ = [r.val_acc for r in history[1:]] if clf.early_stopping else None
        clf.best_epoch_ = run.summary.best_epoch
        clf.stop_reason_ = run.summary.stop_reason
        clf.gradcheck_ = runs.read_checks(run.path)
        clf.W_, clf.b1_, clf.U_, clf.b2_ = (model.params[name].copy() for name in network.PARAM_NAMES)
        return clf

    def to_run(self, run_dir: str | Path, X: Any, y: Any) -> Path:
        """Write a run directory (new, or an empty folder) of this fitted estimator, with the rows X and
        labels y (e.g. the rows it was fit on) as its data (`run_dir`/data.csv): `nnapp evaluate`, `plot`,
        `predict` and `gradcheck RUN_DIR/config.yaml --run RUN_DIR` accept it. Returns `run_dir`."""
        from nnapp.tools.model_runs import write_model_run

        check_is_fitted(self)
        if self._result is None:
            raise ValueError(
                "to_run: this estimator was read from a run directory (from_run); copy that instead"
            )
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _as_value_error(
            write_model_run, run_dir, self.to_config(self.seed_), self.model_, self._result, X, np.asarray(y)
        )

    # ----------------------------------------------------------------------------------- training

    def fit(self, X: Any, y: Any) -> Classifier:
        """Train on rows X (n, d) and labels y (n,) of any kind, from fresh weights."""
        X, y = validate_data(self, X, y, reset=True, dtype=np.float64)
        check_classification_targets(y)
        seed = self._seed()
        cfg = self.to_config(seed)
        val_size = cfg.data.val_size if self.early_stopping else 0.0
        data = _as_value_error(
            from_arrays,
            X,
            y,
            val_size=val_size,
            scaling=cfg.data.scaling,
            seed=seed,
            feature_names=self._names(X.shape[1]),
        )
        if not self.early_stopping:  # every row trains; the kept epoch is the lowest training loss
            data = dataclasses.replace(data, X_val=data.X_train, y_val=data.y_train)
        result = self._train(cfg, data, None)
        self._set_fitted(Model.trained(result.params, data), result, seed)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Classifier:
        """One epoch of SGD over (X, y), continuing from the last call (the first needs `classes`, all
        the labels y will ever hold). The scaler is fit on the first call's rows and kept."""
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be given at the first call to partial_fit")
            all_classes = unique_labels(classes)
        else:
            if self._result is None:
                raise ValueError("partial_fit: a model read by from_run has no optimizer state; call fit")
            all_classes = self.classes_
            if classes is not None and not np.array_equal(unique_labels(classes), all_classes):
                raise ValueError(f"classes {list(classes)} differ from the first call's {list(all_classes)}")
        unknown = np.setdiff1d(y, all_classes)
        if unknown.size:
            raise ValueError(f"y holds labels not in classes: {unknown.tolist()}")
        seed = self.seed_ if not first else self._seed()
        cfg = self.to_config(seed)
        names = self._names(X.shape[1])
        if first:
            _, offset, scale = _as_value_error(
                scale_features, X, np.arange(len(X)), cfg.data.scaling, names, "X"
            )
        else:
            offset, scale = self.model_.offset, self.model_.scale
        Xs, codes = (X - offset) / scale, np.searchsorted(all_classes, y)
        data = Dataset(Xs, codes, Xs, codes, Xs[:0], codes[:0], all_classes, names, offset, scale)
        epochs = (0 if first else self.n_iter_) + 1  # one more epoch, from the saved state
        no_stopping = dataclasses.replace(cfg.train.early_stopping, patience=0)  # one epoch at a time
        cfg = dataclasses.replace(
            cfg, train=dataclasses.replace(cfg.train, epochs=epochs, early_stopping=no_stopping)
        )
        previous = None if first else self._result  # not None: refused above
        result = self._train(cfg, data, previous.state if previous is not None else None)
        current = network.views(result.state.flat.copy(), *dimensions(data, cfg))  # the last weights
        self._set_fitted(Model.trained(current, data), result, seed)
        return self

    def _train(self, cfg: Config, data: Dataset, state: TrainState | None) -> TrainResult:
        callbacks = [_EpochLog(_LOG)] if self.verbose else []
        with training_threads():  # one BLAS thread unless the environment says otherwise (same numbers)
            result = train(cfg, data, callbacks, state=state)
        if result.stop_reason in (StopReason.DIVERGED, StopReason.GRADCHECK_FAILED):
            warnings.warn(result.message, TrainingStoppedWarning, stacklevel=3)
        return result

    def _seed(self) -> int:
        if isinstance(self.random_state, int | np.integer) and not isinstance(self.random_state, bool):
            return int(self.random_state)  # out of range: the config's validator says so
        return int(check_random_state(self.random_state).randint(0, 2**32 - 1))

    def _names(self, n_features: int) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else [f"x{j + 1}" for j in range(n_features)]

    def _set_fitted(self, model: Model, result: TrainResult, seed: int) -> None:
        self.model_ = model
        self.classes_ = model.classes
        self.seed_ = seed
        self._result: TrainResult | None = (
            result  # its state continues partial_fit; to_run writes its records
        )
        history = result.state.history
        self.n_iter_ = result.state.epoch
        self.loss_curve_ = [r.train_loss for r in history[1:]]
        self.validation_scores_ = [r.val_acc for r in history[1:]] if self.early_stopping else None
        self.best_epoch_ = result.best_epoch
        self.stop_reason_ = str(result.stop_reason)
        self.gradcheck_ = list(result.state.checks)
        self.W_, self.b1_, self.U_, self.b2_ = (model.params[name].copy() for name in network.PARAM_NAMES)

    # ---------------------------------------------------------------------------------- prediction

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (rows, N_c), columns in the order of `classes_`."""
        check_is_fitted(self)
        model = self.model_
        if model.categories:  # a CSV run's model (from_run): raw rows, its categories as text
            return _as_value_error(model.predict_proba, X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _as_value_error(model.probabilities, model.scaled(X))

    def predict(self, X: Any) -> np.ndarray:
        """The label (one of `classes_`) of each row of X."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # the same random_state gives the same weights, bit for bit
        return tags


def _param_of(dotted: str) -> str:
    """The constructor parameter that sets a config key (for messages)."""
    return next((param for param, key in KEYS.items() if key == dotted), dotted)


def _as_value_error(function: Any, *args: Any, **kwargs: Any) -> Any:
    """scikit-learn expects ValueError for bad input: an NnappError keeps its one-line message."""
    try:
        return function(*args, **kwargs)
    except NnappError as exc:
        raise ValueError(str(exc)) from None


class _EpochLog(Callback):
    """verbose: one line per epoch to a logger (nothing below the command line prints)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def on_start(self, initial: EpochRecord, chance_loss: float, far_off: bool) -> None:
        self.logger.info("epoch 0: loss %.6f (chance %.6f)", initial.train_loss, chance_loss)

    def on_epoch_end(self, record: EpochRecord, state: TrainState) -> None:
        self.logger.info(
            "epoch %d: loss %.6f, val_loss %.6f, val_acc %.4f",
            record.epoch,
            record.train_loss,
            record.val_loss,
            record.val_acc,
        )

    def on_gradcheck(self, record: Any) -> None:
        self.logger.info("gradient check at epoch %d: %s", record.epoch, record.report.verdict)
