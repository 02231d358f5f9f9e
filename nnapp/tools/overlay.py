"""Several runs in one figure (`nnapp plot RUN_DIR RUN_DIR ...`): labels that tell them apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnapp.rundir.runs import LoadedRun, read_history

IGNORED_PREFIXES = ("output.",)  # where a run was written says nothing about what it learned


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differing_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Dotted keys whose values are not the same in every config (name and output.* left out)."""
    flats = [flatten(c) for c in configs]
    keys = sorted({k for f in flats for k in f})
    return [
        k
        for k in keys
        if k != "name" and not k.startswith(IGNORED_PREFIXES) and len({repr(f.get(k)) for f in flats}) > 1
    ]


def run_labels(runs: Sequence[LoadedRun]) -> list[str]:
    """'name key=value ...' per run, with the keys that differ; the run directory added if still ambiguous."""
    configs = [r.config.to_dict() for r in runs]
    keys = differing_keys(configs)
    labels = []
    for run, config in zip(runs, configs, strict=True):
        flat = flatten(config)
        settings = " ".join(f"{k}={flat.get(k)}" for k in keys)
        labels.append(f"{run.config.name} {settings}".strip())
    if len(set(labels)) < len(labels):
        names = [run.path.name for run in runs]
        if len(set(names)) < len(names):
            names = [str(run.path) for run in runs]
        labels = [f"{label} [{name}]" for label, name in zip(labels, names, strict=True)]
    return labels


def comparison_png(runs: Sequence[LoadedRun]) -> bytes:
    from nnapp.pictures import overlay_curves_png

    histories = [read_history(run.path) for run in runs]
    bests = [run.summary.best_epoch for run in runs]
    return overlay_curves_png(
        list(zip(run_labels(runs), histories, strict=True)),
        f"{len(runs)} runs compared",
        [b if isinstance(b, int) else None for b in bests],
    )
