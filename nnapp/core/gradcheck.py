"""Finite-difference checks of the hand-derived gradients. Returns reports; never prints.

What is differentiated: `network.step_gradients`, the very function every training step calls, with
what training gives it: one-hot label rows, a Workspace and `out=` arrays holding stale numbers (NaN,
so a read of a stale entry cannot go unseen), and a batch shorter than the Workspace (as an epoch's
last batch). It runs in float64 on copies, also for float32 runs: the same code, in float64. The
backward pass and the loss it differences (cross_entropy + l2_penalty) are the `network.Objective` it
is given, the one training is given, so a planted mistake (nnapp.core.mistakes) is what the check
sees. The losses at all
the moved points are evaluated together, from the unmoved forward pass (nnapp.core.gradcheck_eval):
the same values as a forward pass at each point, to round-off (a kink flag can differ where a moved z
lands within round-off of 0), with training's penalty called at each moved point.

Error measure (per coordinate), with a = analytic and n = numeric (centred difference):

    err = |a - n| / max(|a|, |n|, FLOOR)

A bare relative error |a - n| / max(|a|, |n|) raises false alarms on tiny entries: the centred
difference carries absolute round-off of about |J| * 1e-16 / eps. Measured over every coordinate of
every shipped config, at the initial and at the trained weights (eps = 1e-5, float64), and on digits
with up to 4096 hidden units: max |a - n| = 6.9e-11. On an entry of 1e-6 that is 7e-5 "relative".
Below |g| = FLOOR the measure becomes absolute: that noise then reads at most 6.9e-11 / FLOOR = 6.9e-8,
14 times under the default tol of 1e-6. The price is sensitivity on entries far below FLOOR: there an
absolute error must exceed fail * FLOOR = 1e-7 to fail, which is about what float64 differences with
eps = 1e-5 can resolve anyway (a floor of 1e-4 would leave only a 2x margin over the noise).

Resolution: J = mean(logsumexp(theta_i) - theta_i . y_i) + L2 is a difference of terms of size S
(S = mean |logsumexp| + mean |theta_i . y_i| + L2, at least |J|), each rounded to a unit of the last
place of S, so the centred difference cannot resolve a derivative to better than

    noise = ROUNDOFF * u * S / eps            (u: machine epsilon of the dtype the check computes in)

in absolute terms, noise / max(|a|, |n|, FLOOR) in the measure above. A coordinate where that exceeds
`tol` is unresolved: the comparison there can neither certify a pass nor prove a failure, so it is
counted and skipped like a kink. A tensor none of whose coordinates can be resolved (and the
directional check, when it cannot be) is `unreliable`, never pass or fail: at a loss of 1e12, noise is
about 1e2 and J(p + eps), J(p - eps) round alike. Measured over every coordinate of every shipped
config (eps = 1e-5): |a - n| <= 0.8 u S / eps at the initial and the trained weights, except where
the truncation error (eps^2 / 6 times the third derivative) dominates (on trained circles: it shrinks
100x from eps = 1e-4 to 1e-5, where round-off would grow). ROUNDOFF = 2 leaves a margin of 2.5.

Non-finite values: an analytic or numeric value that is NaN or infinite is a failure (error inf),
never a pass.

ReLU kinks: where a +/-eps move flips the sign of any pre-activation z of the checked rows, the two
sides of the difference see different branches and the numeric value is meaningless. Such a
coordinate is detected (by comparing the masks z > 0), counted and excluded, never reported as an error.

Coordinates: `coords` per tensor at random, except b2, always checked in full, and U, at least one
coordinate in every class row (a mistake that touches one class only shows in its row of U and its
entry of b2). The caller chooses rows that hold every class (nnapp.training.start.gradcheck_rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from nnapp.core import gradcheck_eval, network
from nnapp.core.network import PARAM_NAMES, Params, Workspace

FLOOR = 1e-3
# The round-off bound's factor: 2.5x the worst measured |a - n| / (u S / eps) = 0.8 (module docstring).
ROUNDOFF = 2.0
TENSORS = (*PARAM_NAMES, "x")


class Verdict(StrEnum):
    """A check's outcome; the values are what gradcheck.csv, summary.json and checkpoints hold."""

    PASS = "pass"  # error <= tol
    WARN = "warn"  # tol < error <= fail
    FAIL = "fail"  # error > fail, or a non-finite gradient
    UNRELIABLE = "unreliable"  # finite differences cannot resolve the gradient to tol (round-off)


SEVERITY = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.UNRELIABLE: 2, Verdict.FAIL: 3}


def worst_verdict(verdicts: Any) -> Verdict:
    """fail over unreliable over warn over pass. Nothing judged (every coordinate a kink) is not a
    pass: it is unreliable, in the console, gradcheck.csv and summary.json alike."""
    return max((Verdict(v) for v in verdicts), key=SEVERITY.__getitem__, default=Verdict.UNRELIABLE)


@dataclass(frozen=True)
class TensorCheck:
    name: str
    checked: int  # coordinates compared and judged
    kinks: int  # coordinates skipped because a +/-eps move crossed a ReLU kink
    max_error: float  # over the judged coordinates (0.0 when none; inf for a non-finite value), or
    # when round-off left none to judge (verdict unreliable), over the unresolved ones
    worst_index: tuple[int, ...] | None
    verdict: Verdict | str  # a Verdict (a str read back from a file becomes one)
    unresolved: int = 0  # coordinates skipped because their round-off bound exceeds tol
    noise: float = 0.0  # the largest round-off bound among them, in the units of max_error
    nonfinite: int = 0  # compared coordinates with a NaN or infinite analytic or numeric value

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))  # read back from a file: a str


@dataclass(frozen=True)
class DirectionalCheck:
    """grad(J) . u against (J(p + eps u) - J(p - eps u)) / 2 eps for a random unit direction u."""

    analytic: float
    numeric: float
    error: float
    kink: bool
    verdict: Verdict | str  # a Verdict (a str read back from a file becomes one)
    noise: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))


@dataclass(frozen=True)
class GradcheckReport:
    tensors: list[TensorCheck]
    directional: DirectionalCheck | None = None
    eps: float = 1e-5
    tol: float = 1e-6
    fail: float = 1e-4
    rows: int = 0

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of the rows that judged something: a row of kinks only (unreliable: it
        judged nothing) does not spoil the others, and a report that judged nothing is unreliable."""
        verdicts = [t.verdict for t in self.tensors if t.checked or t.unresolved]
        d = self.directional
        if d is not None and not (d.kink and d.verdict == Verdict.UNRELIABLE):
            verdicts.append(d.verdict)
        return worst_verdict(verdicts)

    @property
    def max_error(self) -> float:
        errors = [t.max_error for t in self.tensors]
        if self.directional is not None and not self.directional.kink:
            errors.append(self.directional.error)
        return max(errors, default=0.0)

    def worst(self) -> TensorCheck:
        """The tensor that decides the verdict (the largest error among those of the worst verdict)."""
        return max(self.tensors, key=lambda t: (SEVERITY[Verdict(t.verdict)], t.max_error))


def relative_error(analytic: float, numeric: float) -> float:
    """|a - n| / max(|a|, |n|, FLOOR); inf when either is NaN or infinite (never 0: max(0, nan) is 0)."""
    if not (math.isfinite(analytic) and math.isfinite(numeric)):
        return math.inf
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), FLOOR)


def roundoff_bound(
    analytic: float, numeric: float, loss_scale: float, eps: float, dtype: Any = np.float64
) -> float:
    """The error (in relative_error's units) that round-off in J(p +/- eps) alone can produce, for a
    loss computed from terms of size `loss_scale` in `dtype`."""
    if not (math.isfinite(analytic) and math.isfinite(numeric) and math.isfinite(loss_scale)):
        return 0.0  # judged as non-finite instead
    absolute = ROUNDOFF * float(np.finfo(dtype).eps) * loss_scale / eps
    return absolute / max(abs(analytic), abs(numeric), FLOOR)


def verdict_for(error: float, tol: float, fail: float, noise: float = 0.0) -> Verdict:
    """pass/warn/fail by the error; unreliable when round-off (`noise`) exceeds tol; non-finite: fail."""
    if not math.isfinite(error):
        return Verdict.FAIL
    if noise > tol:
        return Verdict.UNRELIABLE
    if error > fail:
        return Verdict.FAIL
    return Verdict.PASS if error <= tol else Verdict.WARN


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Class indices (B,) as one-hot rows (B, N_c) in float64, the label form training passes."""
    y = np.asarray(y)
    if y.ndim == 2:
        return np.array(y, dtype=np.float64)
    return np.eye(n_classes)[y]


def _stale_workspace(rows: int, d_hidden: int, n_classes: int) -> Workspace:
    ws = Workspace.new(rows, d_hidden, n_classes)
    for array in (ws.z, ws.h, ws.theta, ws.delta1, ws.delta2):
        array.fill(np.nan)  # what a previous step left there must never reach a gradient
    return ws


def coordinates(
    name: str, shape: tuple[int, ...], coords: int | None, rng: np.random.Generator
) -> np.ndarray:
    """Flat indices to compare: b2 in full, U at least one per class row, else `coords` at random."""
    size = math.prod(shape)
    if coords is None or coords >= size or name == "b2":
        return np.arange(size)
    if name == "U":
        n_classes, d_hidden = shape
        per_row = np.arange(n_classes) * d_hidden + rng.integers(0, d_hidden, n_classes)
        others = np.ones(size, bool)
        others[per_row] = False
        rest = np.flatnonzero(others)  # = np.setdiff1d(np.arange(size), per_row), without its sort
        extra = rng.choice(rest, size=max(0, min(coords - n_classes, len(rest))), replace=False)
        return np.sort(np.concatenate([per_row, extra]))
    return np.sort(rng.choice(size, size=coords, replace=False))


# NaN or inf weights (a damaged model given to `nnapp gradcheck --run`, a diverging run) make the passes
# overflow and subtract inf from inf; the check finds every non-finite value itself and reports it as a
# failure, so NumPy's RuntimeWarnings would only print a screen of noise above that verdict.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def check_gradients(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    weight_decay: float = 0.0,
    *,
    eps: float = 1e-5,
    coords: int | None = 5,  # the config default too (gradcheck.coords)
    tol: float = 1e-6,
    fail: float = 1e-4,
    rng: np.random.Generator | None = None,
    directional: bool = True,
    batch_rows: int = 0,
    objective: network.Objective = network.DERIVED,
) -> GradcheckReport:
    """Check dJ/dW, dJ/db1, dJ/dU, dJ/db2 and dJ/dx of `network.step_gradients` on the rows (X, y).

    `y`: class indices or one-hot rows; the training path is always given one-hot rows.
    `coords`: how many coordinates per tensor to compare, drawn at random without replacement
    (None: every coordinate; b2 is always checked in full, U in every class row). `directional`: also
    compare one random directional derivative over all parameters at once (two loss evaluations).
    `batch_rows`: training's batch size; the Workspace gets at least one row more than X, so that the
    check goes through the short-batch views as an epoch's last batch does. `objective`: the backward
    pass checked and the loss differenced (training's).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    (d_hidden, d_in), n_classes = params["W"].shape, params["U"].shape[0]
    # float64 copies, laid out like training's (views of one flat buffer): the caller's arrays are untouched
    flat = np.concatenate([np.asarray(params[n], np.float64).ravel() for n in PARAM_NAMES])
    p64 = network.views(flat, d_in, d_hidden, n_classes)
    X64 = np.array(X, dtype=np.float64)
    Y = one_hot(y, n_classes)
    ws = _stale_workspace(max(batch_rows, len(X64) + 1), d_hidden, n_classes)
    out = network.views(np.full(flat.size, np.nan), d_in, d_hidden, n_classes)
    grads = network.step_gradients(p64, X64, Y, weight_decay, ws, out, True, objective.backward)
    # the parameter gradients are read where training reads them, in `out`; dJ/dx is only returned
    analytic = {name: np.array(out[name]) for name in PARAM_NAMES}
    analytic["x"] = np.array(grads["x"], dtype=np.float64)
    at = gradcheck_eval.point(p64, X64, Y, weight_decay, objective)
    shapes = {**{name: p64[name].shape for name in PARAM_NAMES}, "x": X64.shape}
    # the random draws in their order: each tensor's coordinates, then the direction
    chosen = {name: coordinates(name, shapes[name], coords, rng) for name in TENSORS}
    u = _unit_direction(p64, rng) if directional else None
    moved = gradcheck_eval.evaluate(at, chosen, eps, u)
    limits = _Limits(eps, tol, fail)
    results = [_judge_tensor(name, analytic[name], chosen[name], moved[name], limits) for name in TENSORS]
    direction = None
    if u is not None:
        slope = sum(float(np.vdot(analytic[name], u[name])) for name in PARAM_NAMES)
        direction = _judge_direction(slope, moved[gradcheck_eval.DIRECTION], limits)
    return GradcheckReport(results, direction, eps=eps, tol=tol, fail=fail, rows=len(X64))


@dataclass(frozen=True)
class _Limits:
    eps: float
    tol: float
    fail: float


def _judge_tensor(
    name: str, analytic: np.ndarray, flat_indices: np.ndarray, moved: gradcheck_eval.Moves, limits: _Limits
) -> TensorCheck:
    """Compare `analytic` with the centred differences of J in the coordinates `flat_indices`."""
    eps, tol, fail = limits.eps, limits.tol, limits.fail
    checked = kinks = unresolved = nonfinite = 0
    verdicts: list[Verdict] = []
    max_error, noise_max, worst = 0.0, 0.0, None
    shown_error, shown_index = 0.0, None  # over unresolved coordinates too: shown when none resolved
    # Python floats: the same arithmetic as numpy's float64, without its per-element overhead
    values = analytic.reshape(-1)[flat_indices].tolist()
    plus, minus = moved.loss_plus.tolist(), moved.loss_minus.tolist()
    scales = [max(p, m) for p, m in zip(moved.scale_plus.tolist(), moved.scale_minus.tolist(), strict=True)]
    for n, (flat_index, a) in enumerate(zip(flat_indices.tolist(), values, strict=True)):
        if moved.crossed[n] and math.isfinite(a):  # a non-finite analytic value is wrong on either branch
            kinks += 1
            continue
        numeric = (plus[n] - minus[n]) / (2 * eps)
        error = relative_error(a, numeric)
        noise = roundoff_bound(a, numeric, scales[n], eps)
        if shown_index is None or error >= shown_error:
            shown_error, shown_index = error, flat_index
        if math.isfinite(error) and noise > tol:  # round-off could hide or fake an error: not judged
            unresolved += 1
            noise_max = max(noise_max, noise)
            continue
        checked += 1
        nonfinite += not math.isfinite(error)
        verdicts.append(verdict_for(error, tol, fail))
        if worst is None or error >= max_error:
            max_error, worst = error, flat_index
    if unresolved and not checked:
        verdict, max_error, worst = Verdict.UNRELIABLE, shown_error, shown_index
    else:
        verdict = worst_verdict(verdicts)
    worst_index = None if worst is None else tuple(int(i) for i in np.unravel_index(worst, analytic.shape))
    return TensorCheck(
        name, checked, kinks, max_error, worst_index, verdict, unresolved, noise_max, nonfinite
    )


def _unit_direction(p64: Params, rng: np.random.Generator) -> Params:
    u = {name: rng.standard_normal(p64[name].shape) for name in PARAM_NAMES}
    norm = np.sqrt(sum(float(np.vdot(v, v)) for v in u.values()))
    return {name: v / norm for name, v in u.items()}


def _judge_direction(slope: float, moved: gradcheck_eval.Moves, limits: _Limits) -> DirectionalCheck:
    """grad(J) . u against the centred difference of J along u."""
    eps = limits.eps
    numeric = float(moved.loss_plus[0] - moved.loss_minus[0]) / (2 * eps)
    kink = bool(moved.crossed[0])
    error = relative_error(slope, numeric)
    noise = roundoff_bound(slope, numeric, max(float(moved.scale_plus[0]), float(moved.scale_minus[0])), eps)
    # a kink makes the numeric value meaningless (nothing judged: not a pass), but a non-finite
    # analytic slope is wrong regardless
    if kink and math.isfinite(slope):
        verdict = Verdict.UNRELIABLE
    else:
        verdict = verdict_for(error, limits.tol, limits.fail, noise)
    return DirectionalCheck(slope, numeric, error, kink, verdict, noise)
