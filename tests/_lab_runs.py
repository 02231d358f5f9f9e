"""Fully trained runs for the teaching-lab tests (saliency, attack), trained once per session.

FGSM's lesson needs a model that has learnt something: digits and breast_cancer are trained with their
shipped configs (gradient checks and pictures off, which changes no weight).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from nnapp.config import load_config
from nnapp.orchestration.experiment import run_experiment

ROOT = Path(__file__).resolve().parents[1]
_BASE = Path(tempfile.mkdtemp(prefix="nnapp-test-lab-"))
atexit.register(shutil.rmtree, _BASE, ignore_errors=True)


@functools.cache
def trained_full(name: str) -> Path:
    """The run directory of configs/<name>.yaml trained in full (never modify it in a test)."""
    overrides = ["gradcheck.enabled=false", "output.plots=false", f"output.dir={_BASE}"]
    return run_experiment(load_config(ROOT / "configs" / f"{name}.yaml", overrides)).run_dir


def copy_of_full(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(trained_full(name), target)
    return target
