"""A sweep's grid: `KEY=V1,V2,...` axes and seeds, and the points of their Cartesian product."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from nnapp.errors import ConfigError


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[str, ...]  # as written; each is read as YAML, like any override


@dataclass(frozen=True)
class GridPoint:
    """One run of the sweep: the swept settings (in axis order) and a seed."""

    settings: tuple[tuple[str, str], ...]
    seed: int

    @property
    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.settings] + [f"seed={self.seed}"]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.settings)

    @property
    def dirname(self) -> str:
        text = "_".join(self.overrides)
        safe = re.sub(r"[^A-Za-z0-9._=,+-]", "-", text)
        if safe != text:  # keep names unique when characters had to be replaced
            safe += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
        return safe


def split_values(text: str) -> list[str]:
    """'0.01,0.1,[a,b]' -> ['0.01', '0.1', '[a,b]']: commas inside brackets or quotes stay."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(specs: Sequence[str]) -> tuple[list[Axis], list[str]]:
    """KEY=V1,V2,... become axes; KEY=V (one value) a fixed override for every point."""
    axes: list[Axis] = []
    fixed: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        key, sep, value = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"sweep {spec!r}: expected KEY=V1,V2,... e.g. optim.lr=0.01,0.1,1")
        if key in seen:
            raise ConfigError(f"sweep {spec!r}: {key} is given twice")
        if key == "seed":
            raise ConfigError(f"sweep {spec!r}: sweep seeds with --seeds 0,1,2")
        seen.add(key)
        values = split_values(value)
        if any(v == "" for v in values):
            raise ConfigError(f"sweep {spec!r}: empty value in the list (write KEY=V1,V2 without gaps)")
        if len(set(values)) != len(values):
            raise ConfigError(f"sweep {spec!r}: a value is listed twice")
        if len(values) == 1:
            fixed.append(f"{key}={values[0]}")
        else:
            axes.append(Axis(key, tuple(values)))
    return axes, fixed


def parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    seeds = []
    for part in split_values(text):
        if not re.fullmatch(r"\d+", part):
            raise ConfigError("expected non-negative integers, e.g. 0,1,2", option="seeds", value=repr(text))
        seeds.append(int(part))
    if len(set(seeds)) != len(seeds):
        raise ConfigError("a seed is listed twice", option="seeds", value=repr(text))
    return seeds


def points(axes: Sequence[Axis], seeds: Sequence[int]) -> list[GridPoint]:
    grid = itertools.product(*[[(a.key, v) for v in a.values] for a in axes])
    return [GridPoint(tuple(settings), seed) for settings in grid for seed in seeds]
