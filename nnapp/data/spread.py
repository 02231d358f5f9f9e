"""Features whose training spread is tiny against their range: scaled by that spread, a validation or test
row lands far outside anything training saw, and its loss can drive early stopping and the test score.

A column that is almost constant in the training rows (a border pixel that is blank in all but a few
images) gets a tiny scale from `data.scaling: standard`; one validation image with ink there becomes an
input of 70 or 180 where training inputs are within a few units of 0. The note says which feature, how
far out, and what to do, before any epoch runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnapp.data.tables import Dataset

# Scaled training inputs lie within a few units of 0. Heavy-tailed measurements reach 15 standard
# deviations (breast_cancer's 'area error'): that is the data, not an artefact. Near-constant columns
# reach 70 to 190 (digits' border pixels under standardizing).
FAR_OUTSIDE = 25.0


@dataclass(frozen=True)
class FarValue:
    """The worst scaled value of one feature in the validation or test rows."""

    feature: str
    value: float  # the scaled value, as the network sees it
    split: str  # "validation" or "test"
    train_spread: float  # the feature's training scale, in its own units
    full_range: float  # max - min over all rows, in its own units


def far_values(data: Dataset, limit: float = FAR_OUTSIDE) -> list[FarValue]:
    """Features with a validation or test row scaled beyond ±`limit`, worst first."""
    if data.scaling == "none" or data.n_features == 0:
        return []
    worst = {
        split: np.abs(X).max(axis=0, initial=0.0)
        for split, X in (("validation", data.X_val), ("test", data.X_test))
    }
    far = np.flatnonzero(np.maximum(worst["validation"], worst["test"]) > limit)
    found = []
    for j in far:
        split = "validation" if worst["validation"][j] >= worst["test"][j] else "test"
        X = data.X_val if split == "validation" else data.X_test
        row = int(np.argmax(np.abs(X[:, j])))
        columns = [split_X[:, j] for split_X in (data.X_train, data.X_val, data.X_test)]
        raw = np.concatenate(columns) * data.scaler_scale[j] + data.scaler_mean[j]
        found.append(
            FarValue(
                feature=data.feature_names[j],
                value=float(X[row, j]),
                split=split,
                train_spread=float(data.scaler_scale[j]),
                full_range=float(np.ptp(raw)),
            )
        )
    return sorted(found, key=lambda f: -abs(f.value))


def spread_note(data: Dataset, limit: float = FAR_OUTSIDE) -> str | None:
    """One sentence naming the worst feature and the fix, or None when every row is in reach."""
    far = far_values(data, limit)
    if not far:
        return None
    first = far[0]
    more = f"; {len(far) - 1} more feature(s) pass ±{limit:g}" if len(far) > 1 else ""
    return (
        f"feature {first.feature!r} barely varies in the training rows (scale {first.train_spread:.3g}, "
        f"range {first.full_range:.3g} over all rows): a {first.split} row scales to {first.value:.1f} "
        f"under data.scaling: {data.scaling}{more}; such rows can drive early stopping. Fix: "
        "data.scaling: maxabs or minmax (suits pixels and counts), or drop the feature"
    )
