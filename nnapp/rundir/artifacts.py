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
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config.schema import SCALING_KINDS
from nnapp.core.network import PARAM_NAMES, Params
from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.training.records import GradcheckRecord
from nnapp.version import __version__

GRADCHECK_COLUMNS = ("epoch", "when", "tensor", "checked", "kinks", "max_error", "verdict")
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


def model_arrays(
    params: Params,
    classes: np.ndarray,
    scaler_mean: np.ndarray,
    scaler_scale: np.ndarray,
    feature_names: list[str],
    columns: list[str],
    categories: Mapping[str, list[str]],
    key: str,
    scaling: str,
) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {name: np.asarray(params[name]) for name in PARAM_NAMES}
    arrays["classes"] = np.asarray(classes).astype(str)
    arrays["class_dtype"] = np.asarray(np.asarray(classes).dtype.kind)
    arrays["scaler_mean"] = np.asarray(scaler_mean, dtype=np.float64)
    arrays["scaler_scale"] = np.asarray(scaler_scale, dtype=np.float64)
    arrays["scaling"] = np.asarray(scaling)  # data.scaling's kind: shown, never needed to apply the scaler
    arrays["feature_names"] = np.asarray(feature_names, dtype=str)
    arrays["columns"] = np.asarray(columns, dtype=str)
    arrays["categories"] = np.asarray(json.dumps(dict(categories), sort_keys=True))
    arrays["nnapp_version"] = np.asarray(__version__)
    arrays["run_key"] = np.asarray(key)
    return arrays


def load_model(path: str | Path) -> dict[str, Any]:
    """Read a model.npz written by nnapp; a missing, truncated or foreign file is a one-line error."""
    path = Path(path)
    if path.is_dir() and path.name != runfiles.MODEL.name:  # a run directory: its model
        path = path / runfiles.MODEL.name
    if not path.exists():
        raise ArtifactError(f"{path}: no such model file (is this an nnapp run directory?)")
    if not stat.S_ISREG(path.stat().st_mode):
        raise ArtifactError(
            f"{path}: not a regular file (a directory, a device or a pipe?); expected a model"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:  # zipfile, format and value errors: all mean "not a readable model"
        raise ArtifactError(f"{path}: not a readable nnapp model ({exc.__class__.__name__})") from None
    files.check_format(path, files.npz_format(arrays))
    needed = {*PARAM_NAMES, "classes", "class_dtype", "scaler_mean", "scaler_scale", "scaling"}
    needed |= {"feature_names", "columns", "categories", "run_key"}
    if not needed <= set(arrays):
        missing = ", ".join(sorted(needed - set(arrays)))
        raise ArtifactError(f"{path}: not an nnapp model (missing {missing})")
    return _validated_model(arrays, path)


def _validated_model(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    """Every entry checked for the kind and shape nnapp writes: a crafted file is an error, not a crash."""

    def refuse(what: str) -> ArtifactError:
        return ArtifactError(f"{path}: not an nnapp model ({what})")

    for name in PARAM_NAMES:
        if arrays[name].dtype not in (np.float32, np.float64):
            raise refuse(f"{name} holds {arrays[name].dtype}, expected float32 or float64 weights")
    if len({arrays[name].dtype for name in PARAM_NAMES}) != 1:
        raise refuse("its weights mix float32 and float64")
    for name in ("scaler_mean", "scaler_scale"):
        if arrays[name].dtype.kind != "f" or arrays[name].ndim != 1 or not np.isfinite(arrays[name]).all():
            raise refuse(f"{name} is not a vector of finite numbers")
    if (arrays["scaler_scale"] <= 0).any():
        raise refuse("scaler_scale holds a value that is not positive")
    for name in ("classes", "feature_names", "columns"):
        if arrays[name].dtype.kind != "U" or arrays[name].ndim != 1:
            raise refuse(f"{name} is not a list of strings")
    for name in ("class_dtype", "categories", "run_key", "scaling"):
        if arrays[name].dtype.kind != "U" or arrays[name].ndim != 0:
            raise refuse(f"{name} is not a string")
    if str(arrays["scaling"]) not in SCALING_KINDS:
        raise refuse(f"scaling {str(arrays['scaling'])!r} is not one of {', '.join(SCALING_KINDS)}")
    model: dict[str, Any] = dict(arrays)
    kind = str(arrays["class_dtype"])
    if kind not in ("U", "i", "u"):
        raise refuse(f"class_dtype {kind!r} is not one of U, i, u")
    try:
        model["classes"] = arrays["classes"].astype(np.int64) if kind in "iu" else arrays["classes"]
    except (ValueError, OverflowError):
        raise refuse("its integer classes are not integers") from None
    if len(set(arrays["classes"].tolist())) != len(arrays["classes"]):
        raise refuse("a class is listed twice")
    model["categories"] = _categories(str(arrays["categories"]), refuse)
    model["params"] = {name: arrays[name] for name in PARAM_NAMES}
    _check_model_shapes(model, refuse)
    return model


def _categories(text: str, refuse: Callable[[str], ArtifactError]) -> dict[str, list[str]]:
    try:
        categories = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise refuse("categories is not JSON") from None
    if not isinstance(categories, dict) or not all(
        isinstance(values, list) and values and all(isinstance(v, str) for v in values)
        for values in categories.values()
    ):
        raise refuse("categories is not a JSON object of column -> list of category names")
    return categories


def _check_model_shapes(model: dict[str, Any], refuse: Callable[[str], ArtifactError]) -> None:
    W, b1, U, b2 = (model[name] for name in PARAM_NAMES)
    ok = W.ndim == 2 and U.ndim == 2 and b1.ndim == 1 and b2.ndim == 1
    if ok:
        d_h, d_x = W.shape
        n_c = U.shape[0]
        ok = (
            d_h > 0
            and d_x > 0
            and n_c >= 2
            and b1.shape == (d_h,)
            and U.shape == (n_c, d_h)
            and b2.shape == (n_c,)
            and len(model["classes"]) == n_c
            and model["scaler_mean"].shape == (d_x,)
            and model["scaler_scale"].shape == (d_x,)
            and len(model["feature_names"]) == d_x
        )
    if not ok:
        raise refuse("its arrays have inconsistent shapes")


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


def gradcheck_rows(checks: Iterable[GradcheckRecord]) -> list[dict[str, Any]]:
    rows = []
    for check in checks:
        for t in check.report.tensors:
            rows.append(
                dict(
                    epoch=check.epoch,
                    when=check.when,
                    tensor=t.name,
                    checked=t.checked,
                    kinks=t.kinks,
                    max_error=t.max_error,
                    verdict=t.verdict,
                )
            )
        d = check.report.directional
        if d is not None:
            rows.append(
                dict(
                    epoch=check.epoch,
                    when=check.when,
                    tensor="direction",
                    checked=0 if d.kink else 1,
                    kinks=1 if d.kink else 0,
                    max_error=0.0 if d.kink else d.error,
                    verdict=d.verdict,
                )
            )
    return rows


def write_gradcheck(path: Path, checks: Iterable[GradcheckRecord]) -> None:
    files.write_run_text(path, csv_text(GRADCHECK_COLUMNS, gradcheck_rows(checks)))


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
