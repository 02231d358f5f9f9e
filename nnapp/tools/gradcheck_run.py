"""The gradient check on its own (`nnapp gradcheck`): at a config's initial parameters or a run's.

It uses the same rows and random stream as training's periodic check, so at the initial parameters
it reproduces the epoch-0 check a `train` run records in gradcheck.csv.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import numpy as np

from nnapp.config import LoadedConfig
from nnapp.core import mistakes, network
from nnapp.core.gradcheck import GradcheckReport
from nnapp.data.datasets import Dataset
from nnapp.data.fingerprint import check_unchanged, fingerprint
from nnapp.errors import NnappError
from nnapp.orchestration.job import data_base_dir, load_data
from nnapp.rundir.runs import LoadedRun, recorded_data_hash
from nnapp.training.start import dimensions, gradcheck_samples, init_state, run_gradcheck


@dataclass(frozen=True)
class StandaloneCheck:
    report: GradcheckReport
    where: str  # "initial parameters (seed 0)" or "parameters of RUN_DIR"
    dims: tuple[int, int, int]  # D_x, D_h, N_c
    rows: int = 0  # training rows checked (gradcheck.samples, raised to N_c)


def check_config(
    loaded: LoadedConfig,
    every_coordinate: bool = False,
    run: LoadedRun | None = None,
    mistake: str | None = None,
) -> StandaloneCheck:
    """Run the config's gradient check (gradcheck.* settings) at its initial or at a run's parameters;
    with `mistake` (a name of nnapp.core.mistakes), planted in the training path's backward."""
    cfg = loaded.config
    if every_coordinate:
        cfg = dataclasses.replace(cfg, gradcheck=dataclasses.replace(cfg.gradcheck, coords="all"))
    data = load_data(loaded)
    state = init_state(cfg, data)
    dims = dimensions(data, cfg)
    if run is None:
        params = network.views(state.flat, *dims)
        where = f"initial parameters (seed {cfg.seed}, {cfg.model.init} init)"
    else:
        params = _run_params(run, loaded, data, dims)
        where = f"parameters of {run.path}"
    with mistakes.planted(mistake) if mistake is not None else contextlib.nullcontext():
        report = run_gradcheck(cfg, params, data, state.check_rng)
    return StandaloneCheck(report, where, dims, gradcheck_samples(cfg, data))


def _run_params(
    run: LoadedRun, loaded: LoadedConfig, data: Dataset, dims: tuple[int, int, int]
) -> network.Params:
    """The run's weights, if they were trained on this data (its recorded hash) and fit these shapes."""
    source = str(loaded.path or "config")
    expected = network.param_shapes(*dims)
    for name, shape in expected.items():
        got = tuple(np.shape(run.model.params[name]))
        if got != shape:
            raise NnappError(
                f"{run.path / 'model.npz'}: {name} has shape {got}, but {source} gives {shape} "
                f"(D_x={dims[0]}, model.hidden={dims[1]}, N_c={dims[2]}); pass the run's own config"
            )
    current = fingerprint(loaded.config.data, data, data_base_dir(loaded))
    recorded, where = recorded_data_hash(run)
    check_unchanged(recorded, current, run.path, where, source)
    return run.params


def unreliable_reason(report: GradcheckReport) -> str:
    """Why a check is unreliable, for the console: round-off (eps too small for the loss) or kinks
    only (eps too large); "" for any other verdict."""
    if report.verdict != "unreliable":
        return ""
    if any(t.unresolved for t in report.tensors):
        return (
            ": finite differences cannot resolve these gradients (round-off exceeds tol: "
            "gradcheck.eps too small, or the loss too large for it)"
        )
    return ": no coordinate could be judged (every step crossed a ReLU kink: gradcheck.eps too large?)"
