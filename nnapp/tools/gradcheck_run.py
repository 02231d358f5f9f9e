"""The gradient check on its own (`nnapp gradcheck`): at a config's initial parameters or a run's.

It uses the same rows and random stream as training's periodic check, so at the initial parameters
it reproduces the epoch-0 check a `train` run records in gradcheck.csv.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nnapp.config import LoadedConfig
from nnapp.core import mistakes, network
from nnapp.core.gradcheck import GradcheckReport
from nnapp.orchestration.job import data_base_dir, load_data
from nnapp.rundir.runs import LoadedRun, run_params_for
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
    with `mistake` (a name of nnapp.core.mistakes), planted in the backward pass (and loss) it checks."""
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
        params = run_params_for(run, loaded, data, dims, data_base_dir(loaded))
        where = f"parameters of {run.path}"
    objective = mistakes.planted(mistake) if mistake is not None else network.DERIVED
    report = run_gradcheck(cfg, params, data, state.check_rng, objective=objective)
    return StandaloneCheck(report, where, dims, gradcheck_samples(cfg, data))


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
