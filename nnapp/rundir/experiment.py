"""The names new runs had before nnapp.rundir.job, kept as thin aliases for callers not yet moved."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from nnapp.config import LoadedConfig
from nnapp.data.datasets import Dataset
from nnapp.rundir.job import RunOutcome, data_base_dir, execute, load_data, prepare_new
from nnapp.training.records import Callback

__all__ = ["RunOutcome", "data_base_dir", "prepare", "run_experiment"]

prepare = load_data


def run_experiment(
    loaded: LoadedConfig,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
    data: Dataset | None = None,
    run_dir: Path | None = None,
) -> RunOutcome:
    """prepare_new + execute: train a config and write its run directory."""
    return execute(prepare_new(loaded, run_dir, data), callbacks, stop_event)
