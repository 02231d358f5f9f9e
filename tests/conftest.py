import functools
import os
import re
import textwrap
from pathlib import Path

import pytest
import typer.main
import typer.testing
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


# typer's CliRunner builds the click command tree of the app it is given on every invoke: 24 ms for nnapp's
# commands, ~900 times in the suite. The tree depends on the app alone (click keeps no state in it between
# calls; a process of `nnapp` builds it once too): build each app's once.
typer.testing._get_command = functools.cache(typer.main.get_command)

CHECKOUT_RUNS = Path(__file__).resolve().parents[1] / "runs"


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
