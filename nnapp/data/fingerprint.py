"""What a run was trained on, as a content hash: evaluate, resume and gradcheck --run refuse other data.

For a CSV the hash is of the file's bytes (any edit counts, even one that leaves the summary statistics
alone); a built-in or generated dataset has no file, so the hash is of the loaded, split arrays, which
the config and seed determine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config import DataConfig
from nnapp.data.datasets import Dataset
from nnapp.errors import ArtifactError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataFingerprint:
    source: str  # the CSV file as it was found, or "dataset <name>"
    sha256: str


def csv_file(cfg: DataConfig, base_dir: Path | None) -> Path:
    """The CSV file `data.load_dataset` reads for this config: as written, else next to `base_dir`."""
    path = Path(cfg.path or "")
    if base_dir is not None and not path.is_absolute() and not path.exists():
        path = base_dir / path  # the same fallback as data.csv_table
    return path


def fingerprint(cfg: DataConfig, data: Dataset, base_dir: Path | None) -> DataFingerprint:
    """The hash of the data a config loads: the CSV's bytes, or a built-in dataset's split arrays."""
    if cfg.dataset == "csv":
        path = csv_file(cfg, base_dir)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot read ({exc.strerror or exc})") from None
        return DataFingerprint(str(path), digest.hexdigest())
    digest = hashlib.sha256()
    for array in (*(a for split in ("train", "val", "test") for a in data.split(split)), data.classes):
        array = np.ascontiguousarray(array if array.dtype.kind != "U" else array.astype(str))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)  # the bytes tobytes() would copy, read in place
    return DataFingerprint(f"dataset {cfg.dataset}", digest.hexdigest())


def check_unchanged(
    recorded: str | None, current: DataFingerprint, run_dir: Path, where: str, config_file: Path | str
) -> None:
    """ArtifactError naming the data if its hash is not the one recorded in `where` (a run's file).

    `recorded` None (neither summary.json nor checkpoint.npz is there to record it) passes: the callers'
    other checks apply.
    """
    if recorded is None or recorded == current.sha256:
        return
    builtin = current.source.startswith("dataset ")  # no file of its own: name the config it comes from
    what = f"{config_file} ({current.source})" if builtin else current.source
    raise ArtifactError(
        f"{what}: not the data {run_dir} was trained on (sha256 {current.sha256[:12]}..., "
        f"{run_dir / where} records {recorded[:12]}...; edited since, or other data?)"
    )
