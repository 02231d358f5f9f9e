"""`run_experiment`: a new run prepared and executed in one call (job.py), for scripts and tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from nnapp.config import LoadedConfig
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
) -> RunOutcome:
    """prepare_new + execute: train a config and write its run directory."""
    return execute(prepare_new(loaded, run_dir, data), callbacks, stop_event)
