"""The run directory's formats: CSV, JSON and byte-stable .npz encodings, written through `files`.

<output.dir>/<name>/<YYYYmmdd-HHMMSS>[-N]/
    config.yaml  metrics.csv  gradcheck.csv  model.npz  summary.json  curves.png  gradcheck.png
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.training.records import GradcheckRecord
from nnapp.version import __version__

GRADCHECK_COLUMNS = (
    "epoch",
    "when",
    "tensor",
    "checked",
    "kinks",
    "max_error",
    "verdict",
)  # CheckRow's fields
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # np.savez stamps the current time; a fixed one keeps bytes stable


def check_output_file(option: str, target: Path, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output path that would destroy something: ArtifactError naming `option` and the path.

    Refused: a symbolic link or anything but a regular file (a device, a FIFO: replacing it with a
    file would be wrong, writing into it is not what --out means), one of the command's `inputs`,
    and a file inside a run directory (its model, config, metrics: a run is only written by training).
    """
    where = f"{option} {target}"
    if target.is_symlink():
        raise ArtifactError(f"{where}: is a symbolic link; give the file it points to, or another name")
    if target.is_dir():
        raise ArtifactError(f"{where}: is a directory, expected a file name")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise ArtifactError(f"{where}: exists and is not a regular file (a device or a pipe?); refusing it")
    if not target.parent.is_dir():
        raise ArtifactError(f"{where}: no such directory {target.parent}")
    resolved = target.resolve()
    for source in inputs:
        if not source.exists():
            continue  # a missing input is the reader's error, named when it is read
        same = target.exists() and os.path.samefile(target, source)  # also a hard link to it
        if same or resolved == source.resolve():
            raise ArtifactError(f"{where}: is the input {source}; it would be overwritten")
    folder = enclosing_run_dir(resolved.parent)
    if folder is not None:
        raise ArtifactError(f"{where}: is inside the run directory {folder}; write it elsewhere")
    if target.name in SWEEP_OUTPUTS and any(is_run_dir(child) for child in resolved.parent.iterdir()):
        raise ArtifactError(f"{where}: is the table of the sweep in {target.parent}; write it elsewhere")


SWEEP_OUTPUTS = ("sweep.csv", "sweep.png")  # next to a sweep's point run directories


def is_run_dir(folder: Path) -> bool:
    """A run directory: a config.yaml with a model or a checkpoint beside it."""
    return (folder / runfiles.CONFIG.name).is_file() and any(
        (folder / name).exists() for name in (runfiles.MODEL.name, runfiles.CHECKPOINT.name)
    )


def enclosing_run_dir(folder: Path) -> Path | None:
    """`folder` itself or the folder above it that is a run directory, if any."""
    resolved = Path(folder).resolve()
    return next((f for f in (resolved, *resolved.parents) if is_run_dir(f)), None)


def check_not_in_run_dir(option: str, folder: Path) -> None:
    """Refuse an output folder (train's output.dir, sweep's --out) that is, or is inside, a run
    directory: a run is only written by its own training. Sweep: call from plan_sweep on sweep_dir."""
    run_dir = enclosing_run_dir(folder)
    if run_dir is not None:
        raise ArtifactError(
            f"{option} {folder}: is inside the run directory {run_dir}; choose another folder"
        )


def new_run_dir(output_dir: str | Path, name: str, now: datetime | None = None) -> Path:
    """A fresh directory `output_dir/name/YYYYmmdd-HHMMSS`, with a suffix -2, -3... if taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    check_not_in_run_dir("output.dir", Path(output_dir))
    parent = Path(output_dir) / name
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"output.dir: cannot create {parent} ({exc.strerror})") from None
    for suffix in range(1, 10_000):
        candidate = parent / (stamp if suffix == 1 else f"{stamp}-{suffix}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise ArtifactError(f"output.dir: no free run directory name under {parent}")


NPY_HEADER_MAX = 2**20  # far above any .npy header this package writes (a dict of dtype, order, shape)


def arrays_to_npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz run file (readable by np.load) whose bytes depend only on the arrays: the run files'
    format version (files.FORMAT_ENTRY) first, then `arrays`."""
    buffer = io.BytesIO()
    versioned = {files.FORMAT_ENTRY: np.asarray(files.FORMAT_VERSION, dtype=np.int64), **arrays}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in versioned.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_ZIP_TIME)
            array = np.asarray(value)
            # straight into the archive, not through a copy of each entry (the bytes of writestr: it also
            # writes through open(), whose header is rewritten with the sizes and CRC once they are known).
            # open() picks zip64 from the size it is told, 0 here: an entry that may pass the zip limit
            # (2 GiB) must ask for it, or close() refuses it (writestr knew the size beforehand)
            large = array.nbytes + NPY_HEADER_MAX > zipfile.ZIP64_LIMIT
            with archive.open(info, "w", force_zip64=large) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)
    return buffer.getvalue()


def save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    files.write(path, arrays_to_npz_bytes(arrays))


def csv_text(columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _format(v) for k, v in row.items()})
    return buffer.getvalue()


def csv_line(values: Iterable[Any]) -> str:
    """One row as csv_text writes it (floats in repr form), for a writer that encodes each row once."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_format(v) for v in values])
    return buffer.getvalue()


def _format(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value  # repr: shortest round-trip form


class CheckRow(NamedTuple):
    """One row of gradcheck.csv: a tensor's result in one check, or the directional check's."""

    epoch: int
    when: str
    tensor: str  # W, b1, U, b2, x, or "direction"
    checked: int
    kinks: int
    max_error: float
    verdict: str


GRADCHECK_COLUMNS = CheckRow._fields


def gradcheck_rows(checks: Iterable[GradcheckRecord]) -> list[CheckRow]:
    """gradcheck.csv's rows: each check's tensors, then its directional check (a kink: 0 checked, 1 kink,
    max_error 0)."""
    rows = []
    for check in checks:
        for t in check.report.tensors:
            rows.append(CheckRow(check.epoch, check.when, t.name, t.checked, t.kinks, t.max_error, t.verdict))
        d = check.report.directional
        if d is not None:
            kink = bool(d.kink)
            error = 0.0 if kink else d.error
            rows.append(
                CheckRow(check.epoch, check.when, "direction", int(not kink), int(kink), error, d.verdict)
            )
    return rows


def write_gradcheck(path: Path, checks: Iterable[GradcheckRecord]) -> None:
    files.write_run_text(path, csv_text(GRADCHECK_COLUMNS, (row._asdict() for row in gradcheck_rows(checks))))


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A run directory's CSV (metrics.csv, gradcheck.csv) as rows, read through `files.read_run_text`."""
    text = files.read_run_text(path, files.MAX_TABLE_BYTES)
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.__class__.__name__})") from None


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    files.write_text(path, json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def versions() -> dict[str, str]:
    import platform
    from importlib.metadata import version

    return {
        "nnapp": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": version("scikit-learn"),  # read from metadata: `import sklearn` takes ~1 s
    }
