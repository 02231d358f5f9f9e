"""Tiny trained runs shared by the tests of evaluate/predict/gradcheck/plot (trained once per session)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from nnapp.config import load_config
from nnapp.orchestration.experiment import run_experiment

ROOT = Path(__file__).resolve().parents[1]
FLOWERS = ROOT / "data" / "flowers.csv"
_BASE = Path(tempfile.mkdtemp(prefix="nnapp-test-runs-"))
atexit.register(shutil.rmtree, _BASE, ignore_errors=True)

TINY = {
    "iris": ["train.epochs=3"],
    "moons": ["train.epochs=3", "data.n_samples=120"],
    "flowers_csv": ["train.epochs=3", f"data.path={FLOWERS}"],
}


@functools.cache
def trained(name: str) -> Path:
    """The run directory of configs/<name>.yaml trained for a few epochs (never modify it in a test)."""
    loaded = load_config(ROOT / "configs" / f"{name}.yaml", [*TINY[name], f"output.dir={_BASE / 'shared'}"])
    return run_experiment(loaded).run_dir


def copy_of(name: str, tmp_path: Path) -> Path:
    """A private copy of a trained run, for tests that change or write into the run directory."""
    target = tmp_path / name
    shutil.copytree(trained(name), target)
    return target
