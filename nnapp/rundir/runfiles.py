"""A run directory's own files, guarded: the one bounded reader of its text files, the check that a
resume can write every file it will write, and the run key that ties its files to one run.

Below artifacts (which reads CSVs through `read_run_text`): this module imports no other of rundir.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from nnapp.config import Config
from nnapp.errors import ArtifactError

MAX_RUN_TEXT_BYTES = 2**20  # config.yaml and summary.json: a real one is a few KiB
MAX_RUN_TABLE_BYTES = 256 * 2**20  # metrics.csv, gradcheck.csv: 10^6 epochs take about 100 MiB


def read_run_text(path: Path, limit: int = MAX_RUN_TEXT_BYTES) -> str:
    """A run directory's text file, read with a size bound: the one reader for config.yaml, summary.json,
    metrics.csv and gradcheck.csv. Missing, not a regular file (/dev/zero, a FIFO: never read), larger
    than `limit` or not UTF-8: an ArtifactError naming the file. A symbolic link to a regular file is read.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing (is {path.parent} an nnapp run directory?)") from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device or a pipe?)"
        raise ArtifactError(f"{path}: is {kind}; a run directory holds the file nnapp wrote there")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ArtifactError(f"{path}: larger than {limit:,} bytes; nnapp does not write it that large")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.__class__.__name__})") from None


def run_key(cfg: Config) -> str:
    """What ties a run's model.npz, checkpoint.npz and summary.json to its config.yaml: a hash of every
    setting that shapes the numbers, except those a run may change or move without changing them
    (train.epochs: a resume extends it; data.path: its bytes are hashed apart; name, output.*)."""
    settings = cfg.to_dict()
    for key in ("name", "output"):
        settings.pop(key)
    settings["train"].pop("epochs")
    settings["data"].pop("path")
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


RUN_OUTPUTS = (  # every file training (or a resume) writes into a run directory
    "config.yaml",
    "checkpoint.npz",
    "snapshots.npz",
    "metrics.csv",
    "gradcheck.csv",
    "model.npz",
    "summary.json",
    "curves.png",
    "gradcheck.png",
    "confusion.png",
    "decision_boundary.png",
    "hidden_units.png",
    "weights.png",
    "report.md",
)


def check_run_writable(run_dir: Path) -> None:
    """Before a resume writes anything: the folder must take new files and none of the run's outputs
    may be a directory, device or pipe (the rename would fail half-way, after the checkpoint and
    config.yaml were rewritten). ArtifactError naming the path."""
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise ArtifactError(f"{run_dir}: cannot write in this run directory (permission denied)")
    for name in RUN_OUTPUTS:
        path = run_dir / name
        if path.exists() and not path.is_file():
            raise ArtifactError(
                f"{path}: is not a regular file (a directory or a device?); the run cannot write it there"
            )
