"""Finite-difference checks of the hand-derived gradients. Returns reports; never prints.

Error measure (per coordinate), with a = analytic and n = numeric (centred difference):

    err = |a - n| / max(|a|, |n|, FLOOR)

A bare relative error |a - n| / max(|a|, |n|) raises false alarms on tiny entries: the centred
difference carries absolute round-off of about |J| * 1e-16 / eps. Measured over every coordinate of
every shipped config, at the initial and at the trained weights (eps = 1e-5, float64), and on digits
with up to 4096 hidden units: max |a - n| = 5.5e-11. On an entry of 1e-6 that is 5e-5 "relative".
Below |g| = FLOOR the measure becomes absolute: that noise then reads at most 5.5e-11 / FLOOR = 5.5e-8,
20 times under the default tol of 1e-6. The price is sensitivity on entries far below FLOOR: there an
absolute error must exceed fail * FLOOR = 1e-7 to fail, which is about what float64 differences with
eps = 1e-5 can resolve anyway (a floor of 1e-4 would leave only a 2x margin over the noise).

ReLU kinks: where a +/-eps move flips the sign of any pre-activation z of the checked rows, the two
sides of the difference see different branches and the numeric value is meaningless. Such a
coordinate is detected (by comparing the masks z > 0), counted and excluded, never reported as an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import PARAM_NAMES, Params, Workspace, backward, cross_entropy, forward, l2_penalty

FLOOR = 1e-3
TENSORS = (*PARAM_NAMES, "x")


@dataclass(frozen=True)
class TensorCheck:
    name: str
    checked: int  # coordinates compared
    kinks: int  # coordinates skipped because a +/-eps move crossed a ReLU kink
    max_error: float  # over the compared coordinates (0.0 when none)
    worst_index: tuple[int, ...] | None
    verdict: str  # "pass" | "warn" | "fail"


@dataclass(frozen=True)
class DirectionalCheck:
    """grad(J) . u against (J(p + eps u) - J(p - eps u)) / 2 eps for a random unit direction u."""

    analytic: float
    numeric: float
    error: float
    kink: bool
    verdict: str


@dataclass(frozen=True)
class GradcheckReport:
    tensors: list[TensorCheck]
    directional: DirectionalCheck | None = None
    eps: float = 1e-5
    tol: float = 1e-6
    fail: float = 1e-4
    rows: int = 0

    @property
    def verdict(self) -> str:
        verdicts = [t.verdict for t in self.tensors]
        if self.directional is not None:
            verdicts.append(self.directional.verdict)
        for v in ("fail", "warn"):
            if v in verdicts:
                return v
        return "pass"

    @property
    def max_error(self) -> float:
        errors = [t.max_error for t in self.tensors]
        if self.directional is not None and not self.directional.kink:
            errors.append(self.directional.error)
        return max(errors, default=0.0)

    def worst(self) -> TensorCheck:
        return max(self.tensors, key=lambda t: t.max_error)


def relative_error(analytic: float, numeric: float) -> float:
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), FLOOR)


def verdict_for(error: float, tol: float, fail: float) -> str:
    if error > fail:
        return "fail"
    return "pass" if error <= tol else "warn"


def _loss_and_mask(
    params: Params, X: np.ndarray, y: np.ndarray, weight_decay: float, ws: Workspace | None = None
) -> tuple[float, np.ndarray]:
    """J and the ReLU mask z > 0 at these parameters (the mask is a new array; `ws` is reused)."""
    fwd = forward(params, X, ws)
    return cross_entropy(fwd, y) + l2_penalty(params, weight_decay), fwd.z > 0


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
) -> GradcheckReport:
    """Check dJ/dW, dJ/db1, dJ/dU, dJ/db2 and dJ/dx on the rows (X, y), in float64 on copies.

    `coords`: how many coordinates per tensor to compare, drawn at random without replacement
    (None: every coordinate). `directional`: also compare one random directional derivative over all
    parameters at once (two loss evaluations).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    # float64 copies: the check never touches the caller's (possibly float32) parameters
    p64 = {name: np.array(params[name], dtype=np.float64) for name in PARAM_NAMES}
    X64 = np.array(X, dtype=np.float64)
    y = np.asarray(y)
    fwd = forward(p64, X64)
    analytic = backward(p64, fwd, y, weight_decay, input_grad=True)
    base_mask = fwd.z > 0
    tensors_by_name = {**p64, "x": X64}
    ws = Workspace.new(len(X64), p64["W"].shape[0], p64["U"].shape[0])  # reused by every evaluation

    results = []
    for name in TENSORS:
        tensor = tensors_by_name[name]
        size = tensor.size
        if coords is None or coords >= size:
            flat_indices = np.arange(size)
        else:
            flat_indices = np.sort(rng.choice(size, size=coords, replace=False))
        checked = kinks = 0
        max_error, worst = 0.0, None
        for flat_index in flat_indices:
            index = np.unravel_index(flat_index, tensor.shape)
            original = tensor[index]
            tensor[index] = original + eps
            loss_plus, mask_plus = _loss_and_mask(p64, X64, y, weight_decay, ws)
            tensor[index] = original - eps
            loss_minus, mask_minus = _loss_and_mask(p64, X64, y, weight_decay, ws)
            tensor[index] = original
            if not (np.array_equal(mask_plus, base_mask) and np.array_equal(mask_minus, base_mask)):
                kinks += 1
                continue
            numeric = (loss_plus - loss_minus) / (2 * eps)
            error = relative_error(float(analytic[name][index]), numeric)
            checked += 1
            if error >= max_error:
                max_error, worst = error, tuple(int(i) for i in index)
        results.append(TensorCheck(name, checked, kinks, max_error, worst, verdict_for(max_error, tol, fail)))

    direction = None
    if directional:
        direction = _directional(p64, X64, y, weight_decay, analytic, base_mask, eps, tol, fail, rng)
    return GradcheckReport(results, direction, eps=eps, tol=tol, fail=fail, rows=len(y))


def _directional(
    p64: Params,
    X64: np.ndarray,
    y: np.ndarray,
    weight_decay: float,
    analytic: Params,
    base_mask: np.ndarray,
    eps: float,
    tol: float,
    fail: float,
    rng: np.random.Generator,
) -> DirectionalCheck:
    u = {name: rng.standard_normal(p64[name].shape) for name in PARAM_NAMES}
    norm = np.sqrt(sum(float(np.vdot(v, v)) for v in u.values()))
    u = {name: v / norm for name, v in u.items()}
    slope = sum(float(np.vdot(analytic[name], u[name])) for name in PARAM_NAMES)
    plus = {name: p64[name] + eps * u[name] for name in PARAM_NAMES}
    minus = {name: p64[name] - eps * u[name] for name in PARAM_NAMES}
    loss_plus, mask_plus = _loss_and_mask(plus, X64, y, weight_decay)
    loss_minus, mask_minus = _loss_and_mask(minus, X64, y, weight_decay)
    numeric = (loss_plus - loss_minus) / (2 * eps)
    kink = not (np.array_equal(mask_plus, base_mask) and np.array_equal(mask_minus, base_mask))
    error = relative_error(slope, numeric)
    verdict = "pass" if kink else verdict_for(error, tol, fail)
    return DirectionalCheck(slope, numeric, error, kink, verdict)
