"""model.npz, declared once: its entries (`MODEL_ENTRIES`, checked on reading by `files.read_npz`), the
record both ways (`SavedModel`: `save` writes it, `load_model` reads it back and checks what one entry
cannot say alone: shapes that fit together, positive scales, classes listed once, categories as JSON)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config.schema import SCALING_KINDS
from nnapp.core.network import PARAM_NAMES, Params
from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.rundir.artifacts import save_npz
from nnapp.training.model import Model
from nnapp.version import __version__

WEIGHTS = files.Entry("f", expected="float32 or float64 weights")
TEXT_LIST = files.Entry("U", ndim=1, expected="a list of strings")
TEXT = files.Entry("U", ndim=0, expected="a string")
SCALER = files.Entry("f", ndim=1, finite=True, expected="a vector of numbers")
MODEL_ENTRIES: Mapping[str, files.Entry] = {
    **{name: WEIGHTS for name in PARAM_NAMES},  # shapes: checked together (_check_shapes)
    "classes": TEXT_LIST,  # the labels as text; class_dtype says how to read them back
    "class_dtype": TEXT,  # numpy's kind of the original labels: U (text), i or u (integers)
    "scaler_mean": SCALER,  # data.scaling's offset
    "scaler_scale": SCALER,  # and its divisor, positive
    "scaling": TEXT,  # data.scaling's kind: shown, never needed to apply the scaler
    "feature_names": TEXT_LIST,
    "columns": TEXT_LIST,
    "categories": TEXT,  # JSON: one-hot column -> its categories
    "run_key": TEXT,
    "nnapp_version": files.Entry("U", ndim=0, required=False),  # who wrote it: shown, never trusted
}


@dataclass(frozen=True)
class SavedModel:
    """model.npz's record: float weights of consistent shapes and the encoding of raw rows."""

    params: Params
    classes: np.ndarray  # original labels (strings, or int64 for integer labels), in class-index order
    scaler_mean: np.ndarray  # (D_x,) float64
    scaler_scale: np.ndarray  # (D_x,) float64, positive
    feature_names: list[str]  # (D_x,): encoded input names ("garden=a" for one-hot columns)
    columns: list[str]  # a CSV run's input columns ([] for built-in datasets)
    categories: dict[str, list[str]]  # one-hot columns and their categories
    run_key: str  # runfiles.run_key of the config it was trained with
    scaling: str  # data.scaling's kind that fit scaler_mean (the offset) and scaler_scale

    @classmethod
    def of(cls, model: Model, run_key: str) -> SavedModel:
        """model.npz's record of `model`, trained with the config whose run key is `run_key`."""
        m = model
        return cls(
            m.params,
            m.classes,
            m.offset,
            m.scale,
            m.feature_names,
            m.columns,
            m.categories,
            run_key,
            m.scaling,
        )

    def as_model(self) -> Model:
        """The model value that labels raw rows (predict, evaluate, the notebook API)."""
        s = self
        return Model(
            s.params,
            s.classes,
            s.scaler_mean,
            s.scaler_scale,
            s.feature_names,
            s.columns,
            s.categories,
            s.scaling,
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The entries of model.npz, in MODEL_ENTRIES' order: what `load_model` reads back."""
        arrays: dict[str, np.ndarray] = {name: np.asarray(self.params[name]) for name in PARAM_NAMES}
        arrays["classes"] = np.asarray(self.classes).astype(str)
        arrays["class_dtype"] = np.asarray(np.asarray(self.classes).dtype.kind)
        arrays["scaler_mean"] = np.asarray(self.scaler_mean, dtype=np.float64)
        arrays["scaler_scale"] = np.asarray(self.scaler_scale, dtype=np.float64)
        arrays["scaling"] = np.asarray(self.scaling)
        arrays["feature_names"] = np.asarray(self.feature_names, dtype=str)
        arrays["columns"] = np.asarray(self.columns, dtype=str)
        arrays["categories"] = np.asarray(json.dumps(dict(self.categories), sort_keys=True))
        arrays["nnapp_version"] = np.asarray(__version__)
        arrays["run_key"] = np.asarray(self.run_key)
        return arrays

    def save(self, path: Path) -> None:
        """Write model.npz atomically; its bytes depend only on the model."""
        save_npz(path, self.to_arrays())

    def check_usable(self, path: Path) -> None:
        """The one check of every command that uses the weights (evaluate, predict, plot, saliency, attack,
        animate): a NaN or inf weight would score every row as one class and read as a result. Training
        never saves one (it keeps the last finite parameters), so it is damage. `gradcheck --run` skips
        this check: it reports non-finite weights as a failed check (exit 4)."""
        for name, array in self.params.items():
            if not np.isfinite(array).all():
                raise ArtifactError(
                    f"{path}: {name} holds a non-finite value (NaN or inf); the model is damaged"
                )
        # training's own divergence rule (trainer: ||p||^2 must stay finite in the run's dtype): weights
        # past it overflow the logits to NaN, which would be scored, explained and attacked as a model
        if not math.isfinite(float(sum(np.vdot(a, a) for a in self.params.values()))):
            raise ArtifactError(
                f"{path}: the weights are too large for a trained model (their squared norm overflows); "
                "the model is damaged"
            )

    @property
    def input_columns(self) -> list[str]:
        """The columns a CSV must have to be scored: the training CSV's inputs, or a built-in's features."""
        return self.columns or self.feature_names


def load_model(path: str | Path) -> SavedModel:
    """A model.npz written by nnapp (or a run directory's); a missing, truncated, foreign or crafted file is
    a one-line ArtifactError naming it."""
    path = Path(path)
    if path.is_dir() and path.name != runfiles.MODEL.name:  # a run directory: its model
        path = path / runfiles.MODEL.name
    if not path.exists():
        raise ArtifactError(f"{path}: no such model file (is this an nnapp run directory?)")
    if not path.is_file():
        raise ArtifactError(
            f"{path}: not a regular file (a directory, a device or a pipe?); expected a model"
        )
    arrays = files.read_npz(path, MODEL_ENTRIES, "model")

    def refuse(what: str) -> ArtifactError:
        return ArtifactError(f"{path}: damaged model ({what})")

    params = {name: arrays[name] for name in PARAM_NAMES}
    for name, weights in params.items():
        if weights.dtype not in (np.float32, np.float64):
            raise refuse(f"{name} holds {weights.dtype}, expected float32 or float64 weights")
    if len({w.dtype for w in params.values()}) != 1:
        raise refuse("its weights mix float32 and float64")
    if (arrays["scaler_scale"] <= 0).any():
        raise refuse("scaler_scale holds a value that is not positive")
    scaling = str(arrays["scaling"])
    if scaling not in SCALING_KINDS:
        raise refuse(f"scaling {scaling!r} is not one of {', '.join(SCALING_KINDS)}")
    model = SavedModel(
        params=params,
        classes=_classes(arrays["classes"], str(arrays["class_dtype"]), refuse),
        scaler_mean=arrays["scaler_mean"].astype(np.float64),
        scaler_scale=arrays["scaler_scale"].astype(np.float64),
        feature_names=[str(n) for n in arrays["feature_names"].tolist()],
        columns=[str(c) for c in arrays["columns"].tolist()],
        categories=_categories(str(arrays["categories"]), refuse),
        run_key=str(arrays["run_key"]),
        scaling=scaling,
    )
    _check_shapes(model, refuse)
    return model


Refuse = Callable[[str], ArtifactError]


def _classes(text: np.ndarray, kind: str, refuse: Refuse) -> np.ndarray:
    if kind not in ("U", "i", "u"):
        raise refuse(f"class_dtype {kind!r} is not one of U, i, u")
    if len(set(text.tolist())) != len(text):
        raise refuse("a class is listed twice")
    try:
        return text.astype(np.int64) if kind in "iu" else text
    except (ValueError, OverflowError):
        raise refuse("its integer classes are not integers") from None


def _categories(text: str, refuse: Refuse) -> dict[str, list[str]]:
    try:
        categories = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise refuse("categories is not JSON") from None
    if not isinstance(categories, dict) or not all(
        isinstance(values, list) and values and all(isinstance(v, str) for v in values)
        for values in categories.values()
    ):
        raise refuse("categories is not a JSON object of column -> list of category names")
    return categories


def _check_shapes(model: SavedModel, refuse: Refuse) -> None:
    W, b1, U, b2 = (model.params[name] for name in PARAM_NAMES)
    ok = W.ndim == 2 and U.ndim == 2 and b1.ndim == 1 and b2.ndim == 1
    if ok:
        d_h, d_x = W.shape
        n_c = U.shape[0]
        ok = (
            d_h > 0
            and d_x > 0
            and n_c >= 2
            and b1.shape == (d_h,)
            and U.shape == (n_c, d_h)
            and b2.shape == (n_c,)
            and len(model.classes) == n_c
            and model.scaler_mean.shape == (d_x,)
            and model.scaler_scale.shape == (d_x,)
            and len(model.feature_names) == d_x
        )
    if not ok:
        raise refuse("its arrays have inconsistent shapes")
