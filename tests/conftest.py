import os
import re
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
from _shared import SHARED_RUNS_VARIABLE
from hypothesis import HealthCheck, settings

# Tables are asserted on whole lines: give every console (in this process and in the test workers) one wide
# terminal, whatever runs the tests. Tests of narrow terminals set COLUMNS themselves.
os.environ.setdefault("COLUMNS", "160")

# CI must be reproducible: the same examples on every run, so a red main means a real regression.
# Locally, hypothesis explores new examples each run (and keeps failures in .hypothesis/).
# A loaded CI machine must not turn slow example generation into a failure either.
settings.register_profile("ci", derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("CI"):
    settings.load_profile("ci")


CHECKOUT_RUNS = Path(__file__).resolve().parents[1] / "runs"
_SHARED_RUNS = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """The folder of the session's shared runs (_shared.trained), made by the process that starts the pytest
    workers, before it starts them: they inherit it, and each run is trained once, not once per worker."""
    if hasattr(config, "workerinput") or SHARED_RUNS_VARIABLE in os.environ:
        return
    folder = Path(tempfile.mkdtemp(prefix="nnapp-test-runs-"))
    os.environ[SHARED_RUNS_VARIABLE] = str(folder)
    config.stash[_SHARED_RUNS] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_SHARED_RUNS, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ[SHARED_RUNS_VARIABLE]


def with_output_dir(body: str, runs: Path) -> str:
    """`body` with output.dir set to `runs` unless it names a directory itself: an `output:` block that
    only sets plots would otherwise send the run to ./runs, the checkout's own."""
    if re.search(r"^\s+dir:|^output:\s*\{[^}]*\bdir:", body, re.MULTILINE):
        return body
    if re.search(r"^output:\s*\{", body, re.MULTILINE):
        return re.sub(r"^output:\s*\{", f"output: {{dir: '{runs}', ", body, count=1, flags=re.MULTILINE)
    if re.search(r"^output:\s*$", body, re.MULTILINE):
        return re.sub(r"^output:\s*$", f"output:\n  dir: {runs}", body, count=1, flags=re.MULTILINE)
    return body + f"\noutput:\n  dir: {runs}\n"


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a YAML config into tmp_path (runs go to tmp_path/runs) and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(with_output_dir(textwrap.dedent(text), tmp_path / "runs"))
        return path

    return write


def _run_names() -> set[str]:
    return set(os.listdir(CHECKOUT_RUNS)) if CHECKOUT_RUNS.is_dir() else set()


@pytest.fixture(autouse=True)
def no_run_in_the_checkout():
    """Tests write runs only under temporary directories: the checkout's runs/ is the user's."""
    before = _run_names()
    yield
    added = _run_names() - before
    assert not added, f"a test wrote {sorted(added)} into {CHECKOUT_RUNS}: give its config an output.dir"
