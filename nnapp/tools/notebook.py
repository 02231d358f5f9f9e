"""nnapp in a notebook: `train` a config and get a `Run`, or `load_run` one that `nnapp train` wrote.

A `Run` is a run directory read back: its summary, its epoch history, its pictures as matplotlib
Figures (Jupyter shows a Figure inline), and its model, which labels new rows given in the data's
ORIGINAL units (the saved scaler is applied here, as `nnapp predict` applies it to a CSV). Training goes
through the same path as `nnapp train` (nnapp.orchestration.job), so the same config and seed write the same
model.npz, byte for byte. Every mistake of the caller is an NnappError with a one-line message; nothing
here prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnapp.config import Config, LoadedConfig, config_from_mapping, dump_config, load_config, parse_yaml
from nnapp.core import network
from nnapp.data.csvfile import encode_features
from nnapp.errors import ConfigError, DataError, NnappError
from nnapp.rundir import runs
from nnapp.rundir.runs import RunSummary
from nnapp.tools.evaluation import evaluate_run

if TYPE_CHECKING:
    from nnapp.lab.attack import AttackResult
    from nnapp.lab.saliency import Saliency

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nnapp.training.records import EpochRecord

Overrides = Mapping[str, Any] | Sequence[str] | None


def override_strings(overrides: Overrides) -> list[str]:
    """{"optim.lr": 0.05} or ["optim.lr=0.05"] -> ["optim.lr=0.05"], the form `nnapp train` records.

    A dict's values are written as YAML (1e-5 becomes 1.0e-05, which YAML reads back as a float)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        raise ConfigError(
            f"overrides: give a dict or a list of 'key=value' strings, not the string {overrides!r}"
        )
    if isinstance(overrides, Mapping):
        import yaml

        texts = []
        for key, value in overrides.items():
            if not isinstance(key, str):
                raise ConfigError(f"overrides: key {key!r} is not a dotted string such as 'optim.lr'")
            if isinstance(value, Path):
                value = str(value)
            try:
                text = yaml.safe_dump(value, default_flow_style=True, width=10**9)
            except yaml.YAMLError:
                raise ConfigError(f"overrides: {key}: {type(value).__name__} is not a config value") from None
            texts.append(f"{key}={text.removesuffix(chr(10)).removesuffix('...').strip()}")
        return texts
    texts = list(overrides)
    for text in texts:
        if not isinstance(text, str):
            raise ConfigError(f"overrides: {text!r} is not a 'key=value' string")
    return texts


def load(config: str | Path | Config, overrides: Overrides = None) -> LoadedConfig:
    """A config file (path) or a Config object, with overrides applied and checked as `nnapp train` does."""
    texts = override_strings(overrides)
    if isinstance(config, Config):
        # through the YAML a run's config.yaml holds: the same checks as a file, overrides included
        source = f"Config(name={config.name!r})"
        raw = parse_yaml(dump_config(config), source)
        cfg, resolved = config_from_mapping(raw, source, texts)
        return LoadedConfig(cfg, None, tuple(texts), resolved)
    if isinstance(config, str | Path):
        return load_config(config, texts)
    raise ConfigError(f"config: give a path to a YAML config or a nnapp Config, not {type(config).__name__}")


def train(
    config: str | Path | Config, overrides: Overrides = None, *, run_dir: str | Path | None = None
) -> Run:
    """Train a config as `nnapp train CONFIG KEY=VALUE...` does and return the finished `Run`.

    `config`: a YAML config's path or a `nnapp.config.Config`. `overrides`: {"optim.lr": 0.05} or
    ["optim.lr=0.05"]. The run directory is `output.dir/<name>/<time stamp>` (relative to the working
    directory), or `run_dir` if given. A run that diverged or failed its gradient check is still
    returned: `run.summary.stop_reason` says why it stopped (`nnapp train` exits 3 or 4 there).
    Bad input raises an NnappError before anything is written.
    """
    from nnapp.orchestration.job import execute, prepare_new

    loaded = load(config, overrides)
    job = prepare_new(loaded, Path(run_dir) if run_dir is not None else None)
    outcome = execute(job)
    return load_run(outcome.run_dir)


def load_run(path: str | Path) -> Run:
    """A run directory written by `nnapp train` (or `nnapp.train`), read and checked."""
    return Run(runs.load_run(path))


@dataclass(frozen=True)
class ClassScore:
    label: str  # the original class label
    precision: float
    recall: float
    f1: float
    support: int  # true rows of this class


@dataclass(frozen=True)
class Evaluation:
    """A model scored on labelled rows; `print(evaluation)` shows the per-class report."""

    source: str  # "test split" or a CSV's path
    n_rows: int
    accuracy: float
    loss: float  # mean cross-entropy (no L2 term), as summary.json and `nnapp evaluate` report it
    per_class: list[ClassScore]
    confusion: np.ndarray  # (N_c, N_c): rows are true classes, columns predicted ones

    def report(self) -> str:
        width = max(5, *(len(c.label) for c in self.per_class))
        lines = [f"{self.source}: {self.n_rows} rows, accuracy {self.accuracy:.4f}, loss {self.loss:.4f}"]
        lines.append(f"{'class':<{width}}  precision  recall      F1  support")
        for c in self.per_class:
            lines.append(
                f"{c.label:<{width}}  {c.precision:9.4f}  {c.recall:6.4f}  {c.f1:6.4f}  {c.support:7d}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


class Run:
    """A finished run directory: `path`, `summary`, `history`, pictures, and its model for new rows."""

    def __init__(self, loaded: runs.LoadedRun) -> None:
        self._run = loaded
        self._history: list[EpochRecord] | None = None

    def __repr__(self) -> str:
        s = self.summary
        return f"Run({str(self.path)!r}, stop_reason={s.stop_reason!r}, test_acc={s.test_acc})"

    @property
    def path(self) -> Path:
        return self._run.path

    @property
    def config(self) -> Config:
        """The resolved config the run trained with (its config.yaml)."""
        return self._run.config

    @property
    def summary(self) -> RunSummary:
        """summary.json: stop reason, best epoch, train/val/test loss and accuracy, gradient check verdict."""
        return self._run.summary

    @property
    def classes(self) -> list[Any]:
        """The original class labels, in the order of predict_proba's columns."""
        return list(self._run.classes.tolist())

    @property
    def feature_names(self) -> list[str]:
        """The model's inputs after encoding (a CSV's categories one-hot), in the order predict expects."""
        return list(self._run.model.feature_names)

    @property
    def history(self) -> list[EpochRecord]:
        """One record per epoch (metrics.csv; epoch 0 is the untrained network): losses, accuracies, lr."""
        if self._history is None:
            self._history = runs.read_history(self.path)
        return list(self._history)

    # ------------------------------------------------------------------------------------- pictures

    def _title(self) -> str:
        name, dataset = self.config.name, self.config.data.dataset
        return name if name == dataset else f"{name} ({dataset})"

    def curves(self) -> Figure:
        """Loss (log scale, with the chance level ln N_c) and accuracy against epoch, best epoch marked."""
        from nnapp import pictures

        s = self.summary
        return pictures.curves_figure(self.history, s.best_epoch, self._title(), s.chance_loss)

    def gradcheck_plot(self) -> Figure:
        """The relative error of every gradient check of the run, per tensor, against the thresholds."""
        from nnapp import pictures

        checks = runs.read_checks(self.path)
        if not checks:
            raise NnappError(
                f"{self.path}: no gradient checks recorded (the run had gradcheck.enabled: false)"
            )
        cfg = self.config.gradcheck
        return pictures.gradcheck_figure(checks, cfg.tol, cfg.fail, self._title())

    def decision_boundary(self) -> Figure:
        """Decision regions over the plane of a two-feature dataset (moons, circles, blobs), with the
        training and test points; the data are rebuilt from the run's config and checked unchanged."""
        from nnapp.pictures import run as run_pictures

        data = runs.rebuild_dataset(self._run)
        if not run_pictures.is_plane(data):
            raise DataError(
                f"{self.path}: decision regions need two numeric input features; "
                f"this run's data ({data.name}) has {data.n_features}"
            )
        return run_pictures.decision_boundary_figure(
            data, self._run.params, f"{self._title()}: decision regions"
        )

    # ------------------------------------------------------------------------------------- the model

    def _standardized(self, X: Any) -> np.ndarray:
        """Raw rows (original units, the model's input columns in order) -> what the network sees."""
        model = self._run.model
        columns = model.input_columns
        rows = np.asarray(X, dtype=object if model.categories else None)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(columns):
            raise DataError(
                f"X: expected rows of {len(columns)} values ({', '.join(columns)}), got shape {rows.shape}"
            )
        if model.categories:  # a CSV run with categorical columns: encode as `nnapp predict` does
            cells = [[str(v) for v in row] for row in rows]
            encoded, _ = encode_features(columns, cells, columns, model.categories, "X", range(len(cells)))
        else:
            try:
                encoded = rows.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError("X: every value must be a number") from None
        bad = ~np.isfinite(encoded).all(axis=1)
        if bad.any():
            raise DataError(f"X: row {int(np.argmax(bad))} holds a value that is not a finite number")
        dtype = self._run.params["W"].dtype
        return ((encoded - model.scaler_mean) / model.scaler_scale).astype(dtype, copy=False)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (rows, N_c), columns in the order of `classes`.

        X: rows of raw features in the data's ORIGINAL units, as a CSV row gives them (for built-in
        datasets in the original feature order, e.g. iris's sepal length, sepal width, petal length,
        petal width in cm); the run's saved scaler is applied here. A single row may be given flat.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            proba = network.predict_proba(self._run.params, self._standardized(X))
        bad = ~np.isfinite(proba).all(axis=1)
        if bad.any():
            raise DataError(
                f"X: row {int(np.argmax(bad))}: the model's output overflows a float for these values, "
                "which are far outside the training data"
            )
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The predicted original class label of each row of X (raw features in ORIGINAL units, as for
        `predict_proba`; the saved scaler is applied here)."""
        return self._run.classes[np.argmax(self.predict_proba(X), axis=1)]

    def evaluate(self, split: str = "test", *, csv: str | Path | None = None) -> Evaluation:
        """Accuracy, loss and per-class precision/recall/F1 on a split of the run's data (rebuilt from
        its config and seed, refused if the data changed), or on a labelled CSV: `nnapp evaluate`'s
        numbers."""
        e = evaluate_run(self._run, split, csv)
        per_class = [
            ClassScore(label, float(e.precision[k]), float(e.recall[k]), float(e.f1[k]), int(e.support[k]))
            for k, label in enumerate(e.classes)
        ]
        return Evaluation(e.source, e.n_rows, e.accuracy, e.log_loss, per_class, e.confusion)

    # ------------------------------------------------------------------------------ dJ/dx at work

    def saliency(self, split: str = "test") -> Saliency:
        """Mean |dJ_i/dx_i| per feature over a split, overall and per true class (`nnapp saliency`'s
        numbers; standardized units, and `mean_abs_grad_original` per original unit)."""
        from nnapp.lab.saliency import saliency

        return saliency(self._run, split)

    def attack(self, eps: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3), split: str = "test") -> AttackResult:
        """FGSM, x' = x + eps * sign(dJ_i/dx_i) with eps in STANDARDIZED units, next to the same eps with
        random signs: `nnapp attack`'s accuracies (`.points`), and for 8x8 images `.examples`."""
        from nnapp.lab.attack import attack, parse_eps

        try:
            values = [float(e) for e in eps]
        except (TypeError, ValueError):
            raise DataError(f"eps: {list(eps)!r} is not a list of numbers (e.g. [0, 0.05, 0.1])") from None
        return attack(self._run, parse_eps(",".join(map(repr, values))) if values else (), split)
