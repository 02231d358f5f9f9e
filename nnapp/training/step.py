"""One SGD step on one mini-batch, shared by the trainer and the learning-rate range test (lr-find):
the gradients by the objective's backward pass, a divergence check, optional clipping, the update."""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum

import numpy as np

from nnapp.config.schema import OptimConfig
from nnapp.core import network
from nnapp.core.optim import SGDState, clip_by_norm, sgd_step


class NonFinite(Enum):
    """What a step found non-finite (the step was not taken, or taken and must be undone)."""

    GRADIENT = "gradient norm"  # found before the update: the parameters are untouched
    PARAMETERS = "parameter"  # found after the update: `before` holds the parameters to go back to


Step = Callable[[np.ndarray, np.ndarray, float], "NonFinite | None"]


def sgd_stepper(
    params: network.Params,
    flat: np.ndarray,
    grads: network.Params,
    grad_flat: np.ndarray,
    sgd: SGDState,
    optim: OptimConfig,
    ws: network.Workspace,
    before: np.ndarray,
    backward: network.Backward = network.backward,
) -> Step:
    """`step(X, Y, lr)`: one SGD step of the parameters on the rows X with one-hot labels Y.

    `params` and `grads` are views of the flat vectors `flat` and `grad_flat` (network.views); the
    gradient goes into `grads`, `ws` the pass's intermediate values (a Workspace of the batch
    size; a short batch uses its first rows), `before` the parameters as they were before the update.
    Returns None, or what went non-finite. Everything the step reads is bound here once, so a step
    pays for no lookups (see benchmarks/hot_path.md).
    """
    weight_decay, clip_norm = optim.weight_decay, optim.clip_norm
    momentum, nesterov = optim.momentum, optim.nesterov
    step_gradients, isfinite = network.step_gradients, math.isfinite

    def step(X: np.ndarray, Y: np.ndarray, lr: float) -> NonFinite | None:
        # the gradient check differentiates this very call (nnapp.core.gradcheck)
        step_gradients(params, X, Y, weight_decay, ws, grads, False, backward)
        # a non-finite loss makes the gradient non-finite: ||g||^2 finds it without a loss evaluation
        squared_norm = grad_flat.dot(grad_flat)
        if not isfinite(squared_norm):
            return NonFinite.GRADIENT
        if clip_norm is not None:
            clip_by_norm(grad_flat, clip_norm, squared_norm)
        before[...] = flat
        sgd_step(flat, grad_flat, sgd, lr, momentum, nesterov)
        # a non-finite weight need not make the next loss non-finite (behind a ReLU it is masked to 0),
        # so the parameters are checked themselves; ||p||^2 overflows only far beyond any useful weight
        if not isfinite(flat.dot(flat)):
            return NonFinite.PARAMETERS
        return None

    return step
