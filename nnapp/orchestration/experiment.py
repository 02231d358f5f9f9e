"""`run_experiment`: a new run prepared and executed in one call (job.py), for scripts and tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from nnapp.config import LoadedConfig
from nnapp.core import network
from nnapp.data.datasets import Dataset
from nnapp.orchestration.job import RunOutcome, execute, prepare_new
from nnapp.training.records import Callback

__all__ = ["RunOutcome", "run_experiment"]


def run_experiment(
    loaded: LoadedConfig,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
    data: Dataset | None = None,
    run_dir: Path | None = None,
    objective: network.Objective = network.DERIVED,
) -> RunOutcome:
    """prepare_new + execute: train a config and write its run directory (with `objective`'s loss and
    backward pass: a planted mistake, nnapp.core.mistakes, trains as a real bug would)."""
    return execute(prepare_new(loaded, run_dir, data), callbacks, stop_event, objective)
