"""One writer per run directory: an exclusive `flock` on the run directory itself while a run trains.

Locking the directory (not a lock file in it) adds no file to the run. The kernel drops the lock when
its holder exits, however it exits, so a killed run never leaves a stale lock behind. The holder's pid
comes from /proc/locks (Linux); elsewhere the message says "another process".
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from nnapp.errors import ArtifactError
from nnapp.rundir import runfiles


class RunLock:
    """Held until `release` (or until the process ends)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __del__(self) -> None:  # a run that raised releases its lock when the lock is dropped
        self.release()


def lock_run_dir(run_dir: Path) -> RunLock:
    """Lock RUN_DIR for writing; ArtifactError naming the holder's pid if another process has it."""
    try:
        fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ArtifactError(f"{run_dir}: cannot open the run directory ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = lock_holder(fd)
        os.close(fd)
        who = f"pid {holder}" if holder is not None else "another process"
        raise ArtifactError(
            f"{run_dir}: in use by another nnapp process ({who}) that writes this run directory; "
            "wait for it to finish"
        ) from None
    return RunLock(fd)


def training_pid(run_dir: Path) -> int | None:
    """The pid of the process that holds RUN_DIR's lock (a run training there), 0 if one does but its
    pid cannot be told, None if no process holds it. Takes no lock itself."""
    try:
        fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return lock_holder(fd) or 0
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def refuse_if_still_training(run_dir: Path) -> None:
    """A run directory without model.npz that a process is training: say so, not "no such model file"."""
    if (run_dir / runfiles.MODEL.name).exists():
        return
    pid = training_pid(run_dir)
    if pid is not None:
        who = f" (pid {pid})" if pid else ""
        raise ArtifactError(
            f"{run_dir}: still training{who}; model.npz is written when the run ends (Ctrl-C there stops "
            "it and saves the model so far)"
        )


def lock_holder(fd: int) -> int | None:
    """The pid holding a flock on the file behind `fd`, from /proc/locks; None if it cannot be told."""
    stat = os.fstat(fd)
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()  # "1: FLOCK  ADVISORY  WRITE 2411 fd:01:1234567 0 EOF"
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device and fields[4].isdigit():
            return int(fields[4])
    return None
