"""The file layer: every file nnapp writes goes through `write` (or `writing`, `write_all`), and every run
file it reads back through `read_text` or `read_npz`. The bottom of the run directory: imports no other
module of nnapp.rundir. It also declares the run files' format version (FORMAT_VERSION) and checks it:
`read_npz` for every .npz, `read_run_text` for config.yaml and the CSVs, `check_format` for the rest.

A write never follows a link planted in the target folder: the new bytes go to a temporary name chosen
at random and created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW: an existing name or link is refused,
never opened), are fsync'ed, then renamed over the target. The rename replaces whatever the target name
was, a link included, without touching what it pointed to. A library that wants a file name (Pillow's
GIF writer) gets one inside a private folder (mode 0700) made the same way, so nobody can plant a link
at the name it writes.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.errors import ArtifactError

TEMP_SUFFIX = ".tmp"  # every temporary name is ".<target name>.<random>.tmp", in the target's folder
MAX_TEXT_BYTES = 2**20  # config.yaml and summary.json: a real one is a few KiB
MAX_TABLE_BYTES = 256 * 2**20  # metrics.csv, gradcheck.csv: 10^6 epochs take about 100 MiB
MAX_NPZ_BYTES = 4 * 2**30  # model.npz and checkpoint.npz of the largest model the memory check allows

# Every run file nnapp writes and reads back carries this version: an .npz as its FORMAT_ENTRY, summary.json
# as its FORMAT_ENTRY key, config.yaml and the CSVs as their first line (a YAML and pandas comment:
# `pd.read_csv(path, comment="#")`). nnapp 0.1.0 has no runs in the wild, so a file of another version is
# refused, never converted.
FORMAT_VERSION = 1
FORMAT_ENTRY = "format_version"
_FORMAT_LINE = "# nnapp run file format "


def check_format(path: Path, found: object) -> None:
    """A run file's recorded format version must be this nnapp's: ArtifactError in one line naming the
    file and both versions otherwise (`found` None: the file records none)."""
    if isinstance(found, int) and not isinstance(found, bool) and found == FORMAT_VERSION:
        return
    recorded = "records no format version" if found is None else f"is format version {str(found)[:20]!r}"
    raise ArtifactError(
        f"{path}: {recorded}; this nnapp reads run files of format version {FORMAT_VERSION} only"
    )


def write_run_text(path: Path, text: str) -> None:
    """A run's config.yaml or CSV: its format line, then `text`."""
    write_text(path, f"{_FORMAT_LINE}{FORMAT_VERSION}\n{text}")


def read_run_text(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """The text after a run file's format line (`write_run_text`), once the version there is checked."""
    first, _, rest = read_text(path, limit).partition("\n")
    found: object = None
    if first.startswith(_FORMAT_LINE):
        value = first[len(_FORMAT_LINE) :].strip()
        found = int(value) if value.isdigit() and value.isascii() else value
    check_format(path, found)
    return rest


def file_mode() -> int:
    """The mode open() would give a new file under the process's umask now (O_EXCL creation gives 0600
    here). Read at each write, not at import: a program may set its umask after importing nnapp. Linux
    reports the umask in /proc/self/status; elsewhere it is read by setting it and putting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}{TEMP_SUFFIX}")


def _refused(path: Path, exc: OSError) -> ArtifactError:
    return ArtifactError(f"{path}: cannot write ({exc.strerror or exc})")


def _create_exclusive(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, opened for writing; never an existing name or link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):  # a clash of 64 random bits: only if someone plants names as fast as we draw
        tmp = _temp_name(path)
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _refused(path, exc) from None
    raise ArtifactError(f"{path}: cannot write (no free temporary name in {path.parent})")


def _check_target(path: Path) -> None:
    """The rename would fail on a directory, and must not replace a device or a pipe."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refused(path, exc) from None
    if stat.S_ISDIR(mode):
        raise ArtifactError(f"{path}: is a directory; nnapp writes a file by that name here")
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise ArtifactError(f"{path}: is not a regular file (a device or a pipe?); nnapp will not replace it")


def _stage(path: Path, data: bytes, fsync: bool) -> Path:
    """`data` in a new temporary file beside `path`, on disk; returns its name."""
    fd, tmp = _create_exclusive(path)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _refused(path, exc) from None
        raise
    return tmp


def _commit(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)  # the one rename of nnapp: it replaces a link at `path`, never follows it
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _refused(path, exc) from None


def write(path: Path, data: bytes, fsync: bool = True) -> None:
    """Replace `path` with `data`, atomically; ArtifactError naming the path on any file-system error.

    `fsync=False`: for a file rewritten many times a second whose loss in a power cut costs nothing."""
    path = Path(path)
    _check_target(path)
    _commit(_stage(path, data, fsync), path)


def write_text(path: Path, text: str) -> None:
    write(path, text.encode("utf-8"))


def write_all(outputs: Mapping[Path, bytes]) -> None:
    """All of `outputs` or none: each target checked and each file staged on disk before the first
    rename, so a directory in the way, a full disk or a refused folder leaves every target as it was."""
    targets = {Path(p): data for p, data in outputs.items()}
    for path in targets:
        _check_target(path)
    staged: dict[Path, Path] = {}
    try:
        for path, data in targets.items():
            staged[path] = _stage(path, data, fsync=True)
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    for path, tmp in staged.items():
        _commit(tmp, path)


@contextlib.contextmanager
def writing(path: Path) -> Iterator[Path]:
    """A file name for a library writer (one that opens by name), in a private folder beside `path`;
    when the block ends without error, the file is fsync'ed and renamed over `path`. The name keeps
    `path`'s suffix (Pillow picks the format by it)."""
    path = Path(path)
    _check_target(path)
    folder = _temp_name(path)
    try:
        os.mkdir(folder, 0o700)  # fails on any existing name, a link included
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        inner = folder / f"out{path.suffix}"
        yield inner
        try:
            fd = os.open(inner, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise _refused(path, exc) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ArtifactError(f"{path}: the writer left no regular file")
            os.fchmod(fd, file_mode())
            os.fsync(fd)
        finally:
            os.close(fd)
        _commit(inner, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale(folder: Path) -> None:
    """Temporary files and folders left in `folder` by a process killed while writing."""
    for stale in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------- reading


def _regular_size(path: Path, what: str) -> int:
    """The size of a regular file (a link to one is followed); ArtifactError naming it otherwise."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing (is {path.parent} an nnapp {what}?)") from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device or a pipe?)"
        raise ArtifactError(f"{path}: is {kind}; a run directory holds the file nnapp wrote there")
    return info.st_size


def read_bytes(path: Path, limit: int, what: str = "run directory") -> bytes:
    """A regular file's bytes, at most `limit` of them (/dev/zero or a FIFO is never read)."""
    path = Path(path)
    if _regular_size(path, what) > limit:  # refused without reading: 256 MiB read to learn it took 1.3 s
        raise ArtifactError(f"{path}: larger than {limit:,} bytes; nnapp does not write it that large")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    if len(data) > limit:
        raise ArtifactError(f"{path}: larger than {limit:,} bytes; nnapp does not write it that large")
    return data


def read_text(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """A run file's text, read with a size bound; missing, not a regular file, too large or not UTF-8:
    an ArtifactError naming the file."""
    data = read_bytes(Path(path), limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{path}: cannot read (UnicodeDecodeError)") from None


@dataclass(frozen=True)
class Entry:
    """What one array of an .npz may hold: dtype kinds (numpy's letters: "f" float, "i" signed
    integer, "U" text), its number of dimensions (None: any), whether every value must be finite,
    and whether the archive must have it."""

    kinds: str
    ndim: int | None = None
    finite: bool = False
    required: bool = True
    expected: str = ""  # what nnapp writes there, in words, for the message

    def problem(self, array: np.ndarray) -> str | None:
        if array.dtype.kind not in self.kinds or array.dtype.hasobject:
            return f"holds {array.dtype}, " + (
                f"expected {self.expected}" if self.expected else "not what nnapp writes there"
            )
        if self.ndim is not None and array.ndim != self.ndim:
            return f"has {array.ndim} dimensions, expected {self.ndim}"
        if self.finite and not np.isfinite(array).all():
            return "holds a non-finite value (NaN or inf)"
        return None


def read_npz(
    path: Path, spec: Mapping[str, Entry], what: str, limit: int = MAX_NPZ_BYTES
) -> dict[str, np.ndarray]:
    """The entries of `spec` from an .npz archive, each checked against its Entry (entries not in the
    spec are not read). Damage is one ArtifactError naming the file: "not a readable nnapp <what>" for
    a file that is not an archive of arrays (or misses one), "damaged <what>" for an entry of the wrong
    kind, shape or value."""
    path = Path(path)
    data = read_bytes(path, limit)

    def refuse(reason: str) -> ArtifactError:
        return ArtifactError(f"{path}: not a readable nnapp {what} ({reason})")

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            present = set(archive.files)
            check_format(path, npz_format(archive))
            missing = [name for name, entry in spec.items() if entry.required and name not in present]
            if missing:
                raise refuse(f"missing {', '.join(missing)}")
            arrays = {name: np.asarray(archive[name]) for name in spec if name in present}
    except ArtifactError:
        raise
    except Exception as exc:  # zip, npy and value errors: all mean "not a file nnapp wrote"
        raise refuse(exc.__class__.__name__) from None
    for name, array in arrays.items():
        problem = spec[name].problem(array)
        if problem is not None:
            raise ArtifactError(f"{path}: damaged {what} ({name} {problem})")
    return arrays


def npz_format(archive: Mapping[str, np.ndarray]) -> int | str | None:
    """The format version an .npz archive (or its loaded entries) records: None if it records none."""
    if FORMAT_ENTRY not in archive:
        return None
    value = np.asarray(archive[FORMAT_ENTRY])
    if value.ndim != 0 or value.dtype.kind not in "iu":
        return f"{value.dtype} {value.shape}"
    return int(value)
