"""The random problems a learner's gradients are graded on, and their expected gradients.

Sizes: several, with D_h = 1 and N_c = 2 among them, and in each problem no two of D_x, D_h, N_c, B
equal (B = 1 in the column layout), so that a transposed or unsummed result cannot have the right shape
by accident. The parameters are drawn until some hidden units are active and some are not (so a missing
ReLU mask shows) and no pre-activation lies near 0. One more problem puts one pre-activation at exactly 0
(dyadic numbers, so every summation order gives 0): there the mask z > 0 and z >= 0 differ.

Expected values: centred float64 finite differences of nnapp's own J (core/reference.py), never an
analytic formula. Coordinates whose +/-eps move would flip the sign of a pre-activation z (a ReLU kink)
have no derivative to compare against: they are marked and skipped, as `gradcheck` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnapp.core import reference

EPS = 1e-5
SEED = 20_251_207
# (D_x, D_h, N_c, B): every size distinct within a problem; D_h = 1 and N_c = 2 among them
BATCH_SIZES = ((4, 3, 2, 5), (5, 1, 3, 2), (2, 6, 4, 3), (6, 4, 3, 7))
COLUMN_SIZES = ((4, 3, 2, 1), (5, 1, 3, 1), (2, 6, 4, 1), (6, 4, 3, 1))
KINK_SIZES = {True: (3, 4, 2, 5), False: (3, 4, 2, 1)}
PARAMETERS = ("W", "b1", "U", "b2")


@dataclass(frozen=True)
class Problem:
    """One graded problem in nnapp's canonical form (rows are examples, weights out-in)."""

    X: np.ndarray  # (B, D_x)
    y: np.ndarray  # (B,) integer labels
    W: np.ndarray  # (D_h, D_x)
    b1: np.ndarray  # (D_h,)
    U: np.ndarray  # (N_c, D_h)
    b2: np.ndarray  # (N_c,)

    @property
    def dims(self) -> dict[str, int]:
        return {"D_x": self.W.shape[1], "D_h": self.W.shape[0], "N_c": self.U.shape[0], "B": len(self.y)}

    def params(self) -> dict[str, np.ndarray]:
        return {"W": self.W, "b1": self.b1, "U": self.U, "b2": self.b2}

    def array(self, name: str) -> np.ndarray:
        return self.X if name == "x" else self.params()[name]


@dataclass(frozen=True)
class Expected:
    """The finite-difference gradients of one problem (canonical shapes) and the kink coordinates."""

    grads: dict[str, np.ndarray]  # U, b2, W, b1, x
    kinks: dict[str, np.ndarray]  # boolean, same shapes: True where a +/-eps move crosses a ReLU kink
    loss: float


def _draw(rng: np.random.Generator, d_x: int, d_h: int, n_c: int, b: int) -> Problem:
    for _ in range(1000):
        X = rng.normal(size=(b, d_x))
        W = rng.normal(scale=1.0 / np.sqrt(d_x), size=(d_h, d_x))
        b1 = rng.normal(scale=0.3, size=d_h)
        z = X @ W.T + b1
        active = z > 0
        if active.any() and (not active.all() or d_h * b == 1) and np.abs(z).min() > 1e-2:
            break
    U = rng.normal(size=(n_c, d_h))
    b2 = rng.normal(scale=0.3, size=n_c)
    y = rng.permutation(np.arange(b) % n_c)  # every class present once B >= N_c
    return Problem(X, y, W, b1, U, b2)


def _kink_problem(rng: np.random.Generator, batched: bool) -> Problem:
    """A problem whose z[0, 0] is exactly 0: dyadic values make W x exact in any summation order."""
    d_x, d_h, n_c, b = KINK_SIZES[batched]
    p = _draw(rng, d_x, d_h, n_c, b)
    X = np.round(p.X * 4) / 4
    W = np.round(p.W * 8) / 8
    b1 = p.b1.copy()
    b1[0] = -float(W[0] @ X[0])
    return Problem(X, p.y, W, b1, p.U, p.b2)


def make_problems(batched: bool, seed: int = SEED) -> tuple[Problem, ...]:
    """The graded problems: the random sizes, then the one with an exact ReLU kink."""
    rng = np.random.default_rng(seed)
    sizes = BATCH_SIZES if batched else COLUMN_SIZES
    return (*(_draw(rng, *size) for size in sizes), _kink_problem(rng, batched))


def kink_mask(problem: Problem, name: str, eps: float = EPS) -> np.ndarray:
    """Coordinates of `name` whose +/-eps move can flip the sign of some z = x W^T + b1 (or hit 0)."""
    z = problem.X @ problem.W.T + problem.b1  # (B, D_h)
    near = np.abs(z)  # distance of each pre-activation to its kink
    if name in ("U", "b2"):
        return np.zeros(problem.array(name).shape, dtype=bool)
    if name == "b1":
        return (near <= eps).any(axis=0)
    if name == "W":  # W[i, j] moves z[:, i] by eps X[:, j]
        return (near[:, :, None] <= eps * np.abs(problem.X)[:, None, :]).any(axis=0) | (
            (near == 0).any(axis=0)[:, None]
        )
    # x[b, j] moves z[b, :] by eps W[:, j]
    return (near[:, :, None] <= eps * np.abs(problem.W)[None, :, :]).any(axis=1) | (
        (near == 0).any(axis=1)[:, None]
    )


def penalty(params: dict[str, np.ndarray], weight_decay: float) -> float:
    """nnapp's L2 term (λ/2)(‖W‖² + ‖U‖²); biases are not decayed (docs/gradients.md)."""
    return 0.5 * weight_decay * float(np.sum(params["W"] ** 2) + np.sum(params["U"] ** 2))


def expected(problem: Problem, eps: float = EPS, weight_decay: float = 0.0) -> Expected:
    """Centred finite differences of nnapp's J (+ the L2 term) on float64 copies of the problem's arrays."""
    params = {name: array.astype(np.float64, copy=True) for name, array in problem.params().items()}
    X = problem.X.astype(np.float64, copy=True)

    def J() -> float:
        return reference.loss(params, X, problem.y) + penalty(params, weight_decay)

    grads = {name: reference.numeric_gradient(J, params[name], eps) for name in PARAMETERS}
    grads["x"] = reference.numeric_gradient(J, X, eps)
    kinks = {name: kink_mask(problem, name, eps) for name in grads}
    return Expected(grads, kinks, J())
