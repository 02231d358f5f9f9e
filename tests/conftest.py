import os
import textwrap
from pathlib import Path

import pytest
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


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a YAML config into tmp_path (runs go to tmp_path/runs) and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        body = textwrap.dedent(text)
        if "output:" not in body:
            body += f"\noutput:\n  dir: {tmp_path / 'runs'}\n"
        path.write_text(body)
        return path

    return write


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
