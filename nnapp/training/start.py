"""Where a run starts: its random streams, fresh parameters and optimizer state, and the fixed
training rows its gradient checks use. Every random number of a run derives from cfg.seed here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnapp.config import Config
from nnapp.core import network
from nnapp.core.gradcheck import GradcheckReport, check_gradients
from nnapp.core.optim import schedule_init, sgd_init
from nnapp.data.datasets import Dataset
from nnapp.training.records import TrainState


@dataclass(frozen=True)
class RunStreams:
    """The independent random streams of one run, children of SeedSequence(cfg.seed) in this order
    (the order fixes the numbers: saved models and checkpoints depend on it)."""

    init: np.random.SeedSequence  # the initial weights
    shuffle: np.random.SeedSequence  # each epoch's order of the training rows
    check: np.random.SeedSequence  # the coordinates and directions each gradient check draws
    check_rows: np.random.SeedSequence  # which training rows the gradient checks use (once per run)


def run_streams(seed: int) -> RunStreams:
    init, shuffle, check, check_rows = np.random.SeedSequence(seed).spawn(4)
    return RunStreams(init=init, shuffle=shuffle, check=check, check_rows=check_rows)


def dimensions(data: Dataset, cfg: Config) -> tuple[int, int, int]:
    return data.n_features, cfg.model.hidden, data.n_classes


def init_state(cfg: Config, data: Dataset) -> TrainState:
    """Fresh parameters and optimizer state; all randomness derives from cfg.seed."""
    streams = run_streams(cfg.seed)
    dims = dimensions(data, cfg)
    params = network.init_params(
        *dims, np.random.default_rng(streams.init), init=cfg.model.init, dtype=np.dtype(cfg.model.dtype)
    )
    flat = network.flatten(params)
    return TrainState(
        flat=flat,
        sgd=sgd_init(flat),
        schedule=schedule_init(cfg.optim),
        shuffle_rng=np.random.default_rng(streams.shuffle),
        check_rng=np.random.default_rng(streams.check),
    )


def gradcheck_samples(cfg: Config, data: Dataset) -> int:
    """How many rows the checks use: gradcheck.samples, raised to N_c (one row of every class at
    least; preflight.notes says so), at most every training row."""
    return min(max(cfg.gradcheck.samples, data.n_classes), len(data.y_train))


def gradcheck_rows(cfg: Config, data: Dataset) -> np.ndarray:
    """The fixed training rows the periodic checks use, stratified: one seeded row of every class
    present, then the first of a seeded permutation of the others, `gradcheck_samples` in all.

    A mistake that touches one class only (say, class 9 of digits) shows only in rows of that class.
    """
    rng = np.random.default_rng(run_streams(cfg.seed).check_rows)
    y = data.y_train
    one_each = [int(rng.choice(np.flatnonzero(y == c))) for c in np.unique(y)]
    others = rng.permutation(np.setdiff1d(np.arange(len(y)), one_each))
    n_rows = gradcheck_samples(cfg, data)
    return np.sort(np.concatenate([one_each, others])[:n_rows])


def run_gradcheck(
    cfg: Config,
    params: network.Params,
    data: Dataset,
    rng: np.random.Generator,
    rows: np.ndarray | None = None,
    objective: network.Objective = network.DERIVED,
) -> GradcheckReport:
    """Check the gradients at `params` on the training `rows` (default: gradcheck_rows, which a
    training run computes once and passes to each of its checks); `objective`: training's."""
    g = cfg.gradcheck
    rows = gradcheck_rows(cfg, data) if rows is None else rows
    return check_gradients(
        params,
        data.X_train[rows],
        data.y_train[rows],
        cfg.optim.weight_decay,
        eps=g.eps,
        coords=None if g.coords == "all" else int(g.coords),
        tol=g.tol,
        fail=g.fail,
        rng=rng,
        directional=g.directional,
        batch_rows=min(cfg.train.batch_size, len(data.y_train)),  # the Workspace training steps use
        objective=objective,
    )
