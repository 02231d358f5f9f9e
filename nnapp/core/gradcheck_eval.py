"""The loss at every moved point of a finite-difference check at once (nnapp.core.gradcheck).

A move of one coordinate by +/-eps changes little of the forward pass: W[j, k] and b1[j] change only
column j of z (by step * X[:, k], or by step), x[i, k] only row i of z (by step * W[:, k]), and U[c, j]
and b2[c] only column c of theta. So the logits at each moved point are the unmoved ones plus that one
change carried through ReLU and U, computed for all of a check's moves in a few array operations
instead of a forward pass each. The step is the move the float64 entry really makes, fl(p +/- eps) - p,
and 0 where p is not finite (there fl(p +/- eps) is p: the moved point is the unmoved one). A move whose
logits come out non-finite this way (inf - inf on the way, say, at diverged weights) is evaluated by a
full forward pass at the moved point instead, as are the directional check's two points.

The logits so computed equal a forward pass's to round-off, not bit for bit: z moved by step * X[:, k]
is not the matmul's sum. So the kink flag (some z of the rows changed sign) can differ from a forward
pass's where a moved z lands within round-off of 0; that only moves such a coordinate between "kink"
(not judged) and "judged", where the loss is smooth to that resolution.

What is differenced is training's loss, looked up in nnapp.core.network at call time, so a mistake
planted there (nnapp.core.mistakes) is what the check sees:
- `network.cross_entropy` is called once per moved point, on a Forward of that point: its logits and
  their log_norm (Forward's own, computed for all the points in one pass); X, z and h, which the loss
  does not read, by a full forward pass at that point should it read them;
- `network.l2_penalty` is called at each moved point of a parameter on the whole parameter set, with
  that entry moved in place (and put back), whatever form the penalty takes; a move of x leaves the
  parameters, and so the penalty at the unmoved point, as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from nnapp.core import network
from nnapp.core.network import PARAM_NAMES, Forward, Params

# Moves evaluated together are capped so that one copy of their stacked arrays (the (M, B, N_c) logits
# and (M, B) columns of z) holds about this many float64 numbers (8 MiB); the peak is a few times that,
# as intermediate arrays of the same shapes coexist (tracemalloc, coords="all": 1.6x to 2.6x on
# B x D_x x D_h x N_c = 64x64x1024x10, 32x30x256x2, 150x4x64x3): coords="all" on digits with 4096
# hidden units is 2 x 262,144 moves of W.
CHUNK_NUMBERS = 1 << 20
DIRECTION = "direction"  # the name of the directional check's pair of points


@dataclass(frozen=True)
class Unmoved:
    """The unmoved point of a check: float64 parameters and rows, one-hot labels, and the forward pass
    and penalty there (computed once: every move is a change from them)."""

    params: Params
    X: np.ndarray  # (B, D_x)
    Y: np.ndarray  # (B, N_c) one-hot
    weight_decay: float
    fwd: Forward  # at the unmoved point, in its own Workspace
    mask: np.ndarray  # (B, D_h) z > 0 at the unmoved point
    penalty: float  # network.l2_penalty at the unmoved point


def point(params: Params, X: np.ndarray, Y: np.ndarray, weight_decay: float) -> Unmoved:
    fwd = network.forward(params, X, network.Workspace.new(len(X), params["W"].shape[0], len(params["b2"])))
    return Unmoved(params, X, Y, weight_decay, fwd, fwd.z > 0, network.l2_penalty(params, weight_decay))


@dataclass(frozen=True)
class Moves:
    """J and the size S of the terms it is summed from (its round-off scale) at p + eps and p - eps
    in each coordinate (or direction), and whether either move flipped the sign of any z of the rows."""

    loss_plus: np.ndarray  # (P,)
    loss_minus: np.ndarray
    scale_plus: np.ndarray
    scale_minus: np.ndarray
    crossed: np.ndarray  # (P,) bool: a ReLU kink


def evaluate(
    at: Unmoved, chosen: dict[str, np.ndarray], eps: float, direction: Params | None = None
) -> dict[str, Moves]:
    """J(p +/- eps e_i) for the flat indices chosen[name] of each tensor (a parameter, or "x"), and, with
    a unit `direction`, J(p +/- eps u) under the name DIRECTION."""
    n_classes, d_hidden = at.params["U"].shape
    chunk = max(1, CHUNK_NUMBERS // (2 * (len(at.X) * (n_classes + 2) + d_hidden)))  # coordinates
    jobs = [(name, flat[i : i + chunk]) for name, flat in chosen.items() for i in range(0, len(flat), chunk)]
    if direction is not None:
        jobs.append((DIRECTION, np.zeros(1, np.intp)))
    parts: dict[str, list[np.ndarray]] = {name: [np.empty((3, 2, 0))] for name in chosen}  # none: none
    if direction is not None:
        parts[DIRECTION] = []
    for batch in _batches(jobs, chunk):
        pieces = [_piece(at, name, flat, eps, direction) for name, flat in batch]
        table = _losses(at, pieces)  # (3, M)
        start = 0
        for (name, flat), piece in zip(batch, pieces, strict=True):
            end = start + len(piece.penalty)
            parts[name].append(table[:, start:end].reshape(3, 2, len(flat)))  # +eps moves, then -eps
            start = end
    out = {}
    for name, tables in parts.items():
        both = np.concatenate(tables, axis=2)  # (3, 2, P)
        out[name] = Moves(both[0, 0], both[0, 1], both[1, 0], both[1, 1], both[2].any(axis=0))
    return out


def _batches(jobs: list[tuple[str, np.ndarray]], chunk: int) -> Iterator[list[tuple[str, np.ndarray]]]:
    """Consecutive jobs packed into batches of at most `chunk` coordinates."""
    batch: list[tuple[str, np.ndarray]] = []
    size = 0
    for job in jobs:
        if batch and size + len(job[1]) > chunk:
            yield batch
            batch, size = [], 0
        batch.append(job)
        size += len(job[1])
    if batch:
        yield batch


@dataclass(frozen=True)
class _Piece:
    """One job's moved points: the +eps moves of its coordinates, then their -eps moves."""

    theta: np.ndarray  # (M, B, N_c) the logits at each moved point
    crossed: np.ndarray  # (M,) bool: some z of the rows changed sign
    penalty: np.ndarray  # (M,) l2_penalty at each moved point
    forward_at: Callable[[int], Forward]  # the full forward pass at moved point m


def _losses(at: Unmoved, pieces: list[_Piece]) -> np.ndarray:
    """(3, M): J, S and the kink flag (0 or 1) at each moved point of the pieces, in their order."""
    theta = np.concatenate([piece.theta for piece in pieces])  # (M, B, N_c)
    rows = _MovedForward(theta.reshape(-1, theta.shape[-1]), None, _no_forward)  # every point's rows
    log_norm = rows.log_norm.reshape(theta.shape[:2])  # (M, B): Forward.log_norm, in one pass
    cross_entropy = network.cross_entropy  # training's, as it is now (a planted mistake included)
    points = [(piece.forward_at, m) for piece in pieces for m in range(len(piece.penalty))]
    data = [
        cross_entropy(_MovedForward(logits, norm, forward_at, m), at.Y)
        for logits, norm, (forward_at, m) in zip(theta, log_norm, points, strict=True)
    ]
    table = np.empty((3, len(theta)))
    penalty = np.concatenate([piece.penalty for piece in pieces])
    loss = np.add(data, penalty, out=table[0])
    # J = mean(logsumexp(theta_i) - theta_i . y_i) + L2 cancels: its round-off is relative to its
    # terms, which at confident (trained or blown-up) weights are far larger than J itself
    terms = np.mean(np.abs(log_norm), axis=1) + np.mean(np.abs(np.einsum("mik,ik->mi", theta, at.Y)), axis=1)
    size, bound = np.abs(loss), terms + np.abs(penalty)
    table[1] = np.where(bound > size, bound, size)  # max(size, bound) as Python's max: a NaN bound is ignored
    table[2] = np.concatenate([piece.crossed for piece in pieces])
    return table


class _MovedForward(Forward):
    """The Forward of a moved point as the loss reads it: its logits, and their log_norm computed with
    all the others (None: Forward's own, from theta). X, z and h, which training's loss does not read,
    come from the full forward pass at that point on first read, so a loss that read them would still
    see the moved point."""

    def __init__(
        self,
        theta: np.ndarray,
        log_norm: np.ndarray | None,
        forward_at: Callable[[int], Forward],
        move: int = 0,
    ) -> None:
        self.theta = theta
        self._log_norm = log_norm
        self._forward_at = forward_at
        self._move = move

    @property
    def log_norm(self) -> np.ndarray:
        return super().log_norm if self._log_norm is None else self._log_norm

    def __getattr__(self, name: str) -> np.ndarray:  # reached only for X, z, h and ws, not set above
        if name not in ("X", "z", "h", "ws"):
            raise AttributeError(name)
        full = self._forward_at(self._move)
        self.X, self.z, self.h, self.ws = full.X, full.z, full.h, full.ws
        return getattr(full, name)


def _no_forward(move: int) -> Forward:
    raise AssertionError("the stacked logits of many points have no single forward pass")


# ----------------------------------------------------------------------------- a job's moved points


def _piece(at: Unmoved, name: str, flat: np.ndarray, eps: float, direction: Params | None) -> _Piece:
    if name == DIRECTION:
        assert direction is not None
        return _direction_piece(at, direction, eps)
    tensor = at.X if name == "x" else at.params[name]
    index = tuple(
        np.concatenate((i, i)) for i in np.unravel_index(flat, tensor.shape)
    )  # +eps, then -eps moves
    original = tensor[index]
    P = len(flat)
    values = np.concatenate([original[:P] + eps, original[P:] - eps])  # fl(p +/- eps): the moved entries
    with np.errstate(invalid="ignore"):  # inf - inf: replaced by 0 just below
        step = values - original
    step[~np.isfinite(original)] = 0.0  # fl(inf +/- eps) is inf, NaN +/- eps NaN: the entry does not move

    def forward_at(m: int) -> Forward:  # on copies: the unmoved point's arrays are shared by every move
        params, X = dict(at.params), at.X
        moved = X.copy() if name == "x" else params[name].copy()
        moved[tuple(i[m] for i in index)] = values[m]
        return network.forward(params, moved) if name == "x" else network.forward({**params, name: moved}, X)

    with np.errstate(invalid="ignore", over="ignore"):  # non-finite logits are recomputed below
        theta, crossed = _MOVED_LOGITS[name](at, index, step)
    for m in np.flatnonzero(~np.isfinite(theta).all(axis=(1, 2))):  # a forward pass there instead
        fwd = forward_at(int(m))
        theta[m], crossed[m] = fwd.theta, not np.array_equal(fwd.z > 0, at.mask)
    return _Piece(theta, crossed, _penalties(at, name, index, values), forward_at)


def _direction_piece(at: Unmoved, u: Params, eps: float) -> _Piece:
    """The directional check's points p + eps u and p - eps u: forward passes of every parameter moved."""
    step = {n: eps * u[n] for n in PARAM_NAMES}
    points = [
        {n: at.params[n] + step[n] for n in PARAM_NAMES},
        {n: at.params[n] - step[n] for n in PARAM_NAMES},
    ]
    forwards = [network.forward(params, at.X) for params in points]
    crossed = np.array([not np.array_equal(fwd.z > 0, at.mask) for fwd in forwards])
    penalty = np.array([network.l2_penalty(params, at.weight_decay) for params in points])
    return _Piece(np.stack([fwd.theta for fwd in forwards]), crossed, penalty, forwards.__getitem__)


def _penalties(at: Unmoved, name: str, index: tuple[np.ndarray, ...], values: np.ndarray) -> np.ndarray:
    """network.l2_penalty at each moved point: on the whole parameter set with that one entry moved in
    place, then put back (a move of x: the unmoved point's penalty, the parameters do not move)."""
    if name == "x":
        return np.full(len(values), at.penalty)
    l2_penalty = network.l2_penalty  # training's, as it is now (a planted mistake included)
    tensor, params, weight_decay = at.params[name], at.params, at.weight_decay
    out = np.empty(len(values))
    for m, entry in enumerate(zip(*(i.tolist() for i in index), strict=True)):
        original = tensor[entry]
        tensor[entry] = values[m]
        try:
            out[m] = l2_penalty(params, weight_decay)
        finally:
            tensor[entry] = original
    return out


# ---------------------------------------------------------------------- the logits at each moved point


def _logits_b2(at: Unmoved, index: tuple[np.ndarray, ...], step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    (c,) = index
    theta = np.repeat(at.fwd.theta[None], len(step), axis=0)  # (M, B, N_c)
    theta[np.arange(len(step)), :, c] += step[:, None]  # theta[:, c] += step
    return theta, np.zeros(len(step), bool)  # z does not move


def _logits_U(at: Unmoved, index: tuple[np.ndarray, ...], step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c, j = index
    theta = np.repeat(at.fwd.theta[None], len(step), axis=0)
    theta[np.arange(len(step)), :, c] += step[:, None] * at.fwd.h[:, j].T  # theta[:, c] += step h[:, j]
    return theta, np.zeros(len(step), bool)


def _logits_column(at: Unmoved, j: np.ndarray, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column j of z moved by dz (M, B), through ReLU and U into the logits; a kink where a sign flips."""
    fwd = at.fwd
    z = fwd.z[:, j].T + dz  # (M, B)
    dh = np.maximum(z, 0) - fwd.h[:, j].T
    theta = fwd.theta + dh[:, :, None] * at.params["U"][:, j].T[:, None, :]  # (M, B, N_c)
    return theta, ((z > 0) != at.mask[:, j].T).any(axis=1)


def _logits_b1(at: Unmoved, index: tuple[np.ndarray, ...], step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    (j,) = index
    return _logits_column(at, j, np.broadcast_to(step[:, None], (len(step), len(at.X))))  # z[:, j] += step


def _logits_W(at: Unmoved, index: tuple[np.ndarray, ...], step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    j, k = index
    return _logits_column(at, j, step[:, None] * at.X[:, k].T)  # z[:, j] += step X[:, k]


def _logits_x(at: Unmoved, index: tuple[np.ndarray, ...], step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, k = index
    fwd = at.fwd
    z = fwd.z[i] + step[:, None] * at.params["W"][:, k].T  # row i of z: (M, D_h)
    dh = np.maximum(z, 0) - fwd.h[i]
    theta = np.repeat(fwd.theta[None], len(step), axis=0)
    theta[np.arange(len(step)), i] += dh @ at.params["U"].T  # row i of theta
    return theta, ((z > 0) != at.mask[i]).any(axis=1)


_MOVED_LOGITS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "W": _logits_W,
    "b1": _logits_b1,
    "U": _logits_U,
    "b2": _logits_b2,
    "x": _logits_x,
}
