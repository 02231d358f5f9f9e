"""Checks between loading a config and training it: will it fit in memory, and what will be adjusted.

They run before the run directory is created and before anything big is allocated, so a config that
cannot run costs the user one line (with the estimate), not a MemoryError or a swapping machine.
Sizes are computed with Python integers: `model.hidden` of 10^30 must give a number, not an overflow.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from nnapp.config import Config
from nnapp.data.spread import spread_note
from nnapp.data.tables import Dataset
from nnapp.errors import ResourceError

FALLBACK_MEMORY_BYTES = 8 * 2**30  # when the OS does not say how much memory it has
NOTE_MEMORY_BYTES = 2**30  # a run estimated to need more is told its estimate before it starts
# (samples, features, classes) of the bundled datasets, so that their needs are known before loading
BUNDLED_SHAPES = {
    "iris": (150, 4, 3),
    "wine": (178, 13, 3),
    "breast_cancer": (569, 30, 2),
    "digits": (1797, 64, 10),
}


@dataclass(frozen=True)
class MemoryLimit:
    """The memory a run may use, and what sets it (named in the refusal)."""

    bytes: int
    source: str  # "physical memory", "ulimit -v (RLIMIT_AS)" or the cgroup file


CGROUP_ROOT = Path("/sys/fs/cgroup")


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return FALLBACK_MEMORY_BYTES


def _address_space_headroom() -> int | None:
    """RLIMIT_AS (`ulimit -v`) less the address space this process already maps, or None if unlimited.

    The limit counts the interpreter and its libraries too, so only what is left of it can hold the run.
    """
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        mapped = pages * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        mapped = 0
    return max(soft - mapped, 0)


def _read_limit(path: Path) -> int | None:
    """A cgroup memory limit file: a number of bytes, or 'max' / a huge number for no limit."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None  # 'max': unlimited
    value = int(text)
    return value if value < 2**62 else None  # cgroup v1 writes 'unlimited' as 9223372036854771712


def cgroup_memory_limits(root: Path = CGROUP_ROOT, membership: str | None = None) -> list[tuple[int, Path]]:
    """Memory limits of this process's cgroups (v2 memory.max, v1 memory.limit_in_bytes) and their files.

    `membership` is /proc/self/cgroup's text. The process's own group and every group above it are read
    (a parent's limit binds its children), inside the cgroup mount.
    """
    if membership is None:
        try:
            membership = Path("/proc/self/cgroup").read_text()
        except OSError:
            membership = ""
    candidates: list[Path] = []
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, group = parts
        if controllers == "":  # cgroup v2 (unified)
            base = root / "unified" if (root / "unified").is_dir() else root  # hybrid v1+v2 mounts
            name = "memory.max"
        elif "memory" in controllers.split(","):
            base, name = root / "memory", "memory.limit_in_bytes"
        else:
            continue
        folder = base.joinpath(*[p for p in group.split("/") if p and p != ".."])
        while True:
            candidates.append(folder / name)
            if folder == base:
                break
            folder = folder.parent
    limits = []
    for path in dict.fromkeys(candidates):  # in order, once each
        value = _read_limit(path)
        if value is not None:
            limits.append((value, path))
    return limits


def memory_limit() -> MemoryLimit:
    """The smallest of physical memory, RLIMIT_AS headroom (`ulimit -v`) and the cgroup memory limits."""
    limits = [MemoryLimit(_physical_memory(), "physical memory")]
    headroom = _address_space_headroom()
    if headroom is not None:
        limits.append(MemoryLimit(headroom, "ulimit -v (RLIMIT_AS)"))
    limits.extend(MemoryLimit(value, f"cgroup {path}") for value, path in cgroup_memory_limits())
    return min(limits, key=lambda limit: limit.bytes)


def machine_memory_bytes() -> int:
    """The memory a run may use here: see memory_limit."""
    return memory_limit().bytes


def estimate_bytes(cfg: Config, n_rows: int, n_features: int, n_classes: int) -> int:
    """Rough peak memory of a run with n_rows examples in all (train + val + test), in bytes.

    Parameters x 7: the flat vector, its gradient, the velocity, the best and previous copies, the
    returned copy and a checkpoint. Data: the raw table, the standardized copy and the split copies
    (float64), the training rows in the model dtype and one shuffled gather of them per epoch. Activations:
    the forward/backward over all training rows at the end of each epoch (z, h, delta2 at n x hidden; logits,
    probabilities and delta1 at n x classes).
    """
    item = 4 if cfg.model.dtype == "float32" else 8
    hidden = cfg.model.hidden
    n_params = hidden * n_features + hidden + n_classes * hidden + n_classes
    n_train = int(n_rows * (1 - cfg.data.test_size - cfg.data.val_size)) + 1
    data = 3 * 8 * n_rows * n_features + 2 * item * n_train * n_features
    activations = item * (3 * n_train * hidden + 3 * n_train * n_classes)
    return 7 * item * n_params + data + activations


def _builtin_shape(cfg: Config) -> tuple[int, int, int] | None:
    d = cfg.data
    if d.dataset in BUNDLED_SHAPES:
        return BUNDLED_SHAPES[d.dataset]
    if d.dataset in ("moons", "circles", "xor", "gauss"):
        return d.n_samples, 2, 2
    if d.dataset == "spiral":
        return d.n_samples, 2, d.centers
    if d.dataset == "blobs":
        return d.n_samples, d.n_features, d.centers
    return None  # csv: known once read


def _gib(size: int) -> str:
    """Bytes in GiB; exact integers for sizes a float cannot hold (model.hidden=10^400 is a valid integer)."""
    return f"{size / 2**30:,.1f}" if size < 2**1000 else f"{size // 2**30:,}"


def _refuse_if_too_big(cfg: Config, source: str, n_rows: int, n_features: int, n_classes: int) -> None:
    limit = memory_limit()
    need, have = estimate_bytes(cfg, n_rows, n_features, n_classes), limit.bytes
    if need <= have:
        return
    data_part = 3 * 8 * n_rows * n_features
    if data_part > need // 2:
        culprit = f"{n_rows:,} rows x {n_features:,} features (data.n_samples, data.n_features)"
        advice = "use fewer samples or features"
    else:
        culprit = f"model.hidden={cfg.model.hidden:,} on {n_features} features and {n_classes} classes"
        advice = "use a smaller model.hidden"
    raise ResourceError(
        f"{source}: {culprit} would need about {_gib(need)} GiB of memory, this machine allows "
        f"{_gib(have)} GiB ({limit.source}); {advice}"
    )


def check_memory_before_data(cfg: Config, source: str) -> None:
    """Refuse a built-in or generated dataset's run that cannot fit, before generating any data."""
    shape = _builtin_shape(cfg)
    if shape is not None:
        _refuse_if_too_big(cfg, source, *shape)


def check_memory(cfg: Config, data: Dataset, source: str) -> None:
    """Refuse a run that cannot fit, now that the data (a CSV's size) is known."""
    n_rows = len(data.y_train) + len(data.y_val) + len(data.y_test)
    _refuse_if_too_big(cfg, source, n_rows, data.n_features, data.n_classes)


def notes(cfg: Config, data: Dataset) -> list[str]:
    """What the run will adjust in the user's config, one sentence each (printed and kept in summary.json)."""
    out = list(data.notes)
    n_train = len(data.y_train)
    if cfg.train.batch_size > n_train:
        out.append(
            f"train.batch_size={cfg.train.batch_size} is larger than the {n_train} training rows: "
            f"each step uses all {n_train} (full-batch gradient descent)"
        )
    if cfg.gradcheck.enabled and cfg.gradcheck.samples > n_train:
        out.append(
            f"gradcheck.samples={cfg.gradcheck.samples} is more than the {n_train} training rows: "
            f"the gradient checks use all {n_train}"
        )
    if cfg.gradcheck.enabled and cfg.gradcheck.samples < min(data.n_classes, n_train):
        out.append(
            f"gradcheck.samples={cfg.gradcheck.samples} is fewer than the {data.n_classes} classes: "
            f"the gradient checks use {data.n_classes} rows, at least one of every class"
        )
    far = spread_note(data)
    if far is not None:
        out.append(far)
    if data.dropped_rows:
        out.append(f"{data.dropped_rows} row(s) with missing values were dropped (data.missing: drop)")
    n_rows = n_train + len(data.y_val) + len(data.y_test)
    need = estimate_bytes(cfg, n_rows, data.n_features, data.n_classes)
    if need >= NOTE_MEMORY_BYTES:  # a big run says what it will take (a run that cannot fit was refused)
        limit = memory_limit()
        out.append(
            f"{n_rows:,} rows x {data.n_features:,} features: this run needs about {_gib(need)} GiB of "
            f"memory (estimate; this machine allows {_gib(limit.bytes)} GiB, {limit.source})"
        )
    return out
