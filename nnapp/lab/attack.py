"""FGSM (Goodfellow et al. 2015) against a trained run, next to a random-sign control.

FGSM moves every input by eps in the direction that raises the example's own loss fastest under an
L-infinity budget: x' = x + eps * sign(dJ_i/dx_i), with dJ_i/dx_i = delta2 W from the derived formulas
(`saliency.per_example_input_gradients`; J_i = -log y_hat_i[y_i]). eps is in STANDARDIZED input units
(the units the network sees): in a feature's original units it is eps * scale (the run's scaler).
The control moves the same coordinates by the same eps with random signs, so both perturbations have
the same size in every norm; only the direction differs. Nothing here prints or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnapp.core import network
from nnapp.errors import DataError
from nnapp.lab.saliency import image_side, per_example_input_gradients, split_rows
from nnapp.rundir.runs import LoadedRun

DEFAULT_EPS = (0.0, 0.05, 0.1, 0.2, 0.3)


MAX_EPS = 1000.0  # standard deviations of each feature: far past any input the model has seen


def parse_eps(text: str) -> tuple[float, ...]:
    """'0,0.05,0.1' -> (0.0, 0.05, 0.1); a one-line DataError on anything else."""
    values: list[float] = []
    for part in text.split(","):
        item = part.strip()
        try:
            value = float(item)
        except ValueError:
            raise DataError(f"{item!r} is not a number (expected e.g. 0,0.05,0.1)", option="eps") from None
        if not math.isfinite(value):
            raise DataError(f"{item!r} is not a finite number", option="eps")
        if value < 0:
            raise DataError(f"{item} is negative (eps is a step size, >= 0)", option="eps")
        if value > MAX_EPS:  # huge steps overflow the perturbed inputs and the picture's axis
            raise DataError(
                f"{item} is larger than {MAX_EPS:g} (standardized units: training std devs)", option="eps"
            )
        if value in values:
            raise DataError(f"{item} is given twice", option="eps")
        values.append(value)
    return tuple(sorted(values))


@dataclass(frozen=True)
class AttackPoint:
    eps: float  # standardized units
    accuracy_fgsm: float
    accuracy_random: float


@dataclass(frozen=True)
class AttackExamples:
    """A few rows of image data at one eps, for a picture: originals, perturbations, adversarials."""

    eps: float
    side: int
    original: np.ndarray  # (k, side, side) original units
    perturbation: np.ndarray  # (k, side, side) original units: eps * scale * sign(dJ/dx)
    true_labels: list[str]
    predicted_before: list[str]
    predicted_after: list[str]


@dataclass(frozen=True)
class AttackResult:
    split: str
    n_rows: int
    feature_names: list[str]
    scaler_scale: np.ndarray  # (D_x,) original units per standardized unit
    points: list[AttackPoint]
    examples: AttackExamples | None  # image data only

    def eps_original(self, eps: float) -> np.ndarray:
        """eps in each feature's original units."""
        return eps * self.scaler_scale

    def csv_rows(self) -> list[dict[str, float]]:
        return [
            {"eps": p.eps, "accuracy_fgsm": p.accuracy_fgsm, "accuracy_random": p.accuracy_random}
            for p in self.points
        ]

    def eps_columns(self) -> list[str]:
        return ["feature", "scale", *(f"eps_{p.eps:g}" for p in self.points)]

    def eps_rows(self) -> list[dict[str, object]]:
        """One row per feature: its scale and each eps in its original units (attack_eps.csv)."""
        rows: list[dict[str, object]] = []
        for j, name in enumerate(self.feature_names):
            row: dict[str, object] = {"feature": name, "scale": float(self.scaler_scale[j])}
            row.update({f"eps_{p.eps:g}": float(p.eps * self.scaler_scale[j]) for p in self.points})
            rows.append(row)
        return rows


CSV_COLUMNS = ("eps", "accuracy_fgsm", "accuracy_random")


def _accuracy(params: network.Params, X: np.ndarray, y: np.ndarray) -> float:
    # the model's own dtype, as evaluate scores it: at eps = 0 the two agree exactly
    X = np.asarray(X).astype(params["W"].dtype, copy=False)
    return float(np.mean(network.predict(params, X) == y))


def fgsm_directions(params: network.Params, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sign(dJ_i/dx_i) for each row: +1, -1, or 0 where the loss does not depend on the input."""
    return np.sign(per_example_input_gradients(params, X, y))


def random_directions(fgsm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random signs on the coordinates FGSM moves: the same eps, the same norms, a random direction."""
    return np.abs(fgsm) * rng.choice(np.array([-1.0, 1.0]), size=fgsm.shape)


def attack(
    run: LoadedRun, eps_values: tuple[float, ...] = DEFAULT_EPS, split: str = "test", n_examples: int = 8
) -> AttackResult:
    """Accuracy under FGSM and under the random-sign control at each eps (seeded by the run's seed)."""
    if not eps_values:
        raise DataError("give at least one value", option="eps")
    X, y = split_rows(run, split)
    params = run.params
    fgsm = fgsm_directions(params, X, y)
    rng = np.random.default_rng([run.config.seed, 0xF65])  # the control is the same every time
    control = random_directions(fgsm, rng)
    points = [
        AttackPoint(eps, _accuracy(params, X + eps * fgsm, y), _accuracy(params, X + eps * control, y))
        for eps in eps_values
    ]
    names = list(run.model.feature_names)
    scale = run.model.scaler_scale
    side = image_side(names)
    examples = None
    if side is not None and max(eps_values) > 0:
        examples = _examples(run, X, y, fgsm, max(eps_values), side, n_examples)
    return AttackResult(split, len(y), names, scale, points, examples)


def _examples(
    run: LoadedRun, X: np.ndarray, y: np.ndarray, fgsm: np.ndarray, eps: float, side: int, k: int
) -> AttackExamples:
    """The first k rows that were right before the attack, fooled ones first (what the lesson is about)."""
    params = run.params
    before = network.predict(params, X.astype(params["W"].dtype, copy=False))
    after = network.predict(params, (X + eps * fgsm).astype(params["W"].dtype, copy=False))
    right = before == y
    order = np.concatenate([np.flatnonzero(right & (after != y)), np.flatnonzero(right & (after == y))])[:k]
    mean = run.model.scaler_mean
    scale = run.model.scaler_scale
    classes = [str(c) for c in run.classes.tolist()]
    original = X[order] * scale + mean
    perturbation = eps * fgsm[order] * scale
    return AttackExamples(
        eps,
        side,
        original.reshape(-1, side, side),
        perturbation.reshape(-1, side, side),
        [classes[i] for i in y[order]],
        [classes[i] for i in before[order]],
        [classes[i] for i in after[order]],
    )
