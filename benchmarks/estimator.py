"""nnapp.Classifier next to scikit-learn's MLPClassifier(solver="sgd") at matched settings.

    make bench                       # or: .venv/bin/python benchmarks/estimator.py [--quick]

Matched settings: each dataset's shipped config (configs/<name>.yaml) gives the hidden units, batch size,
learning rate, momentum, L2 weight decay (scikit-learn's alpha = weight_decay x batch size, as
`nnapp compare` maps it) and epochs; early stopping is off on both sides (every row trains for every
epoch). MLPClassifier sits in a Pipeline after StandardScaler; nnapp.Classifier standardizes itself
(the same mean/standard deviation). Both use one BLAS thread.

Accuracy: cross_val_score over RepeatedStratifiedKFold (5 folds x 10 repeats, the same folds for both), and
the paired difference: its mean over the 50 folds and its standard error (the standard deviation of the
50 per-fold differences / sqrt(50)). Pairing by fold takes out what the folds themselves vary by (one row
of a wine fold is 2.8 points), which the two accuracies' own spreads include.
Speed: the marginal cost of an epoch of `fit` on digits, (fit(E) - fit(E/4)) / (E - E/4) in the process's
CPU time (one thread on both sides), the trainers taking turns (interleaved repeats); median and spread
over the repeats. nnapp's fit at its defaults includes its per-epoch record (loss, accuracy, gradient norm
over all training rows: a forward and backward pass over them at the epoch's end weights) and its
gradient checks every 10 epochs; a second row shows it with gradcheck_every=0 (the checks of the
returned weights only, which MLPClassifier does not do either), its ratio stated apart.
Writes benchmarks/estimator.md (with the machine's load average, as it is shared). Never part of the test
suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from nnapp import Classifier
from nnapp.config import Config, load_config
from nnapp.rundir import files
from nnapp.tools.compare import sklearn_settings

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DATASETS = ("iris", "wine", "breast_cancer", "digits", "moons")


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "moons":
        return datasets.make_moons(n_samples=1000, noise=0.2, random_state=0)
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y


def config(name: str, epochs: int | None = None) -> Config:
    overrides = [f"train.epochs={epochs}"] if epochs is not None else []
    return load_config(ROOT / "configs" / f"{name}.yaml", overrides).config


def pair(cfg: Config, seed: int = 0) -> tuple[Any, Any]:
    """(nnapp.Classifier, MLPClassifier pipeline) at the config's settings, without early stopping."""
    ours = Classifier.from_config(cfg, early_stopping=False, random_state=seed)
    theirs = make_pipeline(StandardScaler(), MLPClassifier(**{**sklearn_settings(cfg), "random_state": seed}))
    return ours, theirs


def accuracy_rows(names: tuple[str, ...], repeats: int) -> list[str]:
    lines = [
        "| dataset | rows | hidden, batch, lr, epochs | nnapp.Classifier | MLPClassifier(sgd) "
        "| difference ± its standard error | folds better / same / worse |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name in names:
        X, y = load(name)
        cfg = config(name)
        folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0)
        ours, theirs = pair(cfg)
        a = cross_val_score(ours, X, y, cv=folds)
        b = cross_val_score(theirs, X, y, cv=folds)
        difference = a - b  # fold by fold: both scored on the same rows
        standard_error = difference.std(ddof=1) / np.sqrt(len(difference))
        settings = f"{cfg.model.hidden}, {cfg.train.batch_size}, {cfg.optim.lr:g}, {cfg.train.epochs}"
        tally = f"{np.sum(difference > 0)} / {np.sum(difference == 0)} / {np.sum(difference < 0)}"
        lines.append(
            f"| {name} | {len(y)} | {settings} | {a.mean():.4f} ± {a.std():.4f} | "
            f"{b.mean():.4f} ± {b.std():.4f} | {100 * difference.mean():+.2f} ± "
            f"{100 * standard_error:.2f} points | {tally} |"
        )
        print(lines[-1], flush=True)
    return lines


def fit_seconds(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """The process's CPU time of `fit` (one thread): on a shared machine, other processes' load moves the
    wall clock by several times (1.45x-3.86x in one run here) while leaving this far steadier."""
    started = time.process_time()
    model.fit(X, y)
    return time.process_time() - started


NO_PERIODIC_CHECKS = {"gradcheck_every": 0}  # the stated setting of the second nnapp row


def speed_rows(epochs: int, repeats: int) -> list[str]:
    X, y = load("digits")
    short = epochs // 4
    trainers = {  # label: (which of the pair, parameters set on nnapp's)
        "nnapp.Classifier (defaults)": (0, {}),
        "nnapp.Classifier (gradcheck_every=0)": (0, NO_PERIODIC_CHECKS),
        "MLPClassifier(sgd)": (1, {}),
    }
    per_epoch: dict[str, list[float]] = {label: [] for label in trainers}
    for seed in range(repeats):  # interleaved: load from elsewhere hits each alike
        for label, (index, params) in trainers.items():
            full_model, part_model = (pair(config("digits", e), seed)[index] for e in (epochs, short))
            if params:
                full_model.set_params(**params)
                part_model.set_params(**params)
            full, part = fit_seconds(full_model, X, y), fit_seconds(part_model, X, y)
            per_epoch[label].append((full - part) / (epochs - short))
    lines = ["| trainer | CPU ms per epoch (median) | min - max |", "|---|---:|---:|"]
    for label, values in per_epoch.items():
        lines.append(
            f"| {label} | {1e3 * statistics.median(values):.2f} | "
            f"{1e3 * min(values):.2f} - {1e3 * max(values):.2f} |"
        )
    theirs = per_epoch["MLPClassifier(sgd)"]
    lines.append("")
    for label, what in (
        ("nnapp.Classifier (defaults)", "at nnapp's defaults (the target's comparison)"),
        ("nnapp.Classifier (gradcheck_every=0)", "with gradcheck_every=0 (no periodic gradient checks)"),
    ):
        ratios = [t / o for t, o in zip(theirs, per_epoch[label], strict=True)]
        lines.append(
            f"- MLPClassifier's epoch / nnapp's epoch {what}: median **{statistics.median(ratios):.2f}x** "
            f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x over {repeats} interleaved repeats; "
            "target >= 2x)"
        )
    return lines


def load_note(before: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    """The machine's load average around the run: this benchmark alone adds about 1 (one busy thread)."""
    start, end = (", ".join(f"{x:.2f}" for x in load) for load in (before, after))
    loaded = max(*before, *after) > 1.5
    note = " (loaded: other work shared the cores; CPU time, not wall time, is compared)" if loaded else ""
    cores = os.cpu_count()
    return (
        f"Machine: {cores} cores; load average (1, 5, 15 min) {start} at the start, {end} at the end{note}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs (a smoke run)")
    parser.add_argument("--out", type=Path, default=HERE / "estimator.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: the matched epochs, on purpose
    repeats = 1 if args.quick else 10
    load_before = os.getloadavg()
    with threadpool_limits(limits=1, user_api="blas"):
        accuracy = accuracy_rows(DATASETS[:2] if args.quick else DATASETS, repeats)
        speed = speed_rows(20 if args.quick else 80, 3 if args.quick else 11)
    text = "\n".join(
        [
            "# nnapp.Classifier and MLPClassifier(solver='sgd'), matched settings (benchmarks/estimator.py)",
            "",
            load_note(load_before, os.getloadavg()),
            "",
            f"## Cross-validated accuracy (5 folds x {repeats} repeats, the same folds for both)",
            "",
            "Accuracies: mean ± standard deviation over the folds. Difference: nnapp's minus "
            "MLPClassifier's, fold by fold, its mean ± its standard error over the folds "
            "(target: within 1 point).",
            "",
            *accuracy,
            "",
            "## fit per epoch on digits (1797 rows, 64 features, hidden 64, batch 32; one BLAS thread)",
            "",
            *speed,
            "",
        ]
    )
    files.write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
