"""The tests' shared helpers, in one place: the TINY config, a sweepable config, a stop request on a
count, and trained runs made once per session (tiny ones for evaluate/predict/gradcheck/plot, full ones for
the teaching-lab tests). Fixtures live in conftest.py.

FGSM's lesson needs a model that has learnt something: digits and breast_cancer are trained in full with
their shipped configs (gradient checks and pictures off, which changes no weight).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import io
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import load_config
from nnapp.orchestration.experiment import run_experiment

ROOT = Path(__file__).resolve().parents[1]
FLOWERS = ROOT / "data" / "flowers.csv"
# Names the folder of the session's shared runs, one for every pytest worker: conftest.py makes it before the
# workers start and removes it at the end, so each run is trained once per session, not once per worker.
SHARED_RUNS_VARIABLE = "NNAPP_TEST_SHARED_RUNS"


@functools.cache
def _shared_runs() -> Path:
    if SHARED_RUNS_VARIABLE in os.environ:
        return Path(os.environ[SHARED_RUNS_VARIABLE])
    folder = Path(tempfile.mkdtemp(prefix="nnapp-test-runs-"))  # outside pytest: this process's own
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


# A config that trains in a blink: iris, 6 epochs, 8 hidden units, checks every 2 epochs. add output.dir
# (the write_config fixture does).
TINY = """
name: tiny
seed: 3
data:
  dataset: iris
model:
  hidden: 8
train:
  epochs: 6
  batch_size: 16
gradcheck:
  every: 2
  coords: 3
"""


class StopAfter(threading.Event):
    """A stop request that arrives at the n-th time the trainer polls it (after each step and epoch)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.calls, self.n = 0, n

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls >= self.n


# A sweep point that trains in a blink (4 epochs of iris, no checks, no pictures); add output.dir.
SMALL_SWEEP = """
name: small
seed: 0
data:
  dataset: iris
model:
  hidden: 8
train:
  epochs: 4
  batch_size: 16
gradcheck:
  every: 0
  coords: 2
output:
  plots: false
"""

# The shipped configs shortened to a few epochs, as `trained` runs them
SHORTENED = {
    "iris": ["train.epochs=3"],
    "moons": ["train.epochs=3", "data.n_samples=120", "model.hidden=16"],  # 16 unit maps to draw, not 32
    "flowers_csv": ["train.epochs=3", f"data.path={FLOWERS}"],
}


def _trained_once(name: str, folder: str, overrides: list[str]) -> Path:
    """configs/<name>.yaml trained with `overrides` into the shared runs' `folder`, by whichever worker asks
    first; the others wait for it (a lock in the folder) and read where the run went."""
    out = _shared_runs() / folder / name
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        where = out / ".run-directory"
        if not where.exists():
            config = load_config(ROOT / "configs" / f"{name}.yaml", [*overrides, f"output.dir={out}"])
            where.write_text(str(run_experiment(config).run_dir))
        return Path(where.read_text())


@functools.cache
def trained(name: str, pictures: bool = True) -> Path:
    """The run directory of configs/<name>.yaml trained for a few epochs (never modify it in a test).

    `pictures=False`: the same run with output.plots off, for tests where no picture is the subject (a
    run's pictures cost 30 times its training here, and a resume of the run draws them again)."""
    lean = [] if pictures else ["output.plots=false"]
    folder = "shared" if pictures else "shared-without-pictures"
    return _trained_once(name, folder, [*SHORTENED[name], *lean])


def copy_of(name: str, tmp_path: Path, pictures: bool = True) -> Path:
    """A private copy of a trained run, for tests that change or write into the run directory."""
    target = tmp_path / name
    shutil.copytree(trained(name, pictures), target)
    return target


@functools.cache
def trained_full(name: str) -> Path:
    """The run directory of configs/<name>.yaml trained in full (never modify it in a test)."""
    return _trained_once(name, "full", ["gradcheck.enabled=false", "output.plots=false"])


def copy_of_full(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(trained_full(name), target)
    return target


def rewrite_npz(path: Path, **entries: np.ndarray) -> None:
    """Rewrite an .npz run file with `entries` replaced or added, as a hostile user would (a plain zip:
    the file layer's format entry kept, nothing else of nnapp's writer)."""
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays.update(entries)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, array in arrays.items():
            payload = io.BytesIO()
            np.lib.format.write_array(payload, np.asarray(array), allow_pickle=False)
            archive.writestr(f"{key}.npy", payload.getvalue())
    path.write_bytes(buffer.getvalue())


@contextlib.contextmanager
def local_dask_client(**scheduler_config: Any) -> Iterator[Any]:
    """A client of a local dask cluster of two single-threaded worker processes on 127.0.0.1, closed with
    it afterwards. `scheduler_config`: dask settings the scheduler starts with (a cluster takes about 1.7 s
    of CPU to start)."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(scheduler_config):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # leaves port 8787 free
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
