"""The files the teaching-lab commands write: saliency and attack tables and pictures in a run directory,
and the learning-rate range test's own folder.

Everything is computed and drawn before the first file is written, and each file goes to a temporary
name renamed into place, so a failure leaves the run directory as it was. A split other than test gets
its own names (saliency_val.csv), as `nnapp evaluate` names confusion_<split>.png.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nnapp.config import LoadedConfig
from nnapp.lab.attack import CSV_COLUMNS, AttackResult
from nnapp.lab.lr_find import CSV_COLUMNS as LR_FIND_COLUMNS
from nnapp.lab.lr_find import LrFindResult
from nnapp.lab.pictures import attack_examples_png, attack_png, lr_find_png, saliency_png
from nnapp.lab.saliency import Saliency
from nnapp.rundir import artifacts
from nnapp.rundir.runs import LoadedRun


def split_suffix(split: str) -> str:
    return "" if split == "test" else f"_{split}"


def write_saliency(run: LoadedRun, result: Saliency, split: str) -> tuple[Path, Path]:
    """saliency.csv and saliency.png (per split); returns their paths."""
    png = saliency_png(result, title=run.label)
    suffix = split_suffix(split)
    csv_path, png_path = run.path / f"saliency{suffix}.csv", run.path / f"saliency{suffix}.png"
    artifacts.atomic_write_text(csv_path, artifacts.csv_text(result.csv_columns(), result.csv_rows()))
    artifacts.atomic_write_bytes(png_path, png)
    return csv_path, png_path


def write_attack(run: LoadedRun, result: AttackResult, split: str) -> list[Path]:
    """attack.csv, attack_eps.csv (ε in original units), attack.png and, for 8x8 image data,
    attack_examples.png (per split); returns their paths."""
    suffix = split_suffix(split)
    pictures = {run.path / f"attack{suffix}.png": attack_png(result, title=run.label)}
    if result.examples is not None:
        pictures[run.path / f"attack_examples{suffix}.png"] = attack_examples_png(
            result.examples, title=run.label
        )
    csv_path, eps_path = run.path / f"attack{suffix}.csv", run.path / f"attack_eps{suffix}.csv"
    artifacts.atomic_write_text(csv_path, artifacts.csv_text(CSV_COLUMNS, result.csv_rows()))
    artifacts.atomic_write_text(eps_path, artifacts.csv_text(result.eps_columns(), result.eps_rows()))
    for path, png in pictures.items():
        artifacts.atomic_write_bytes(path, png)
    return [csv_path, eps_path, *pictures]


def write_lr_find(result: LrFindResult, loaded: LoadedConfig, now: datetime | None = None) -> Path:
    """lr_find.csv and lr_find.png in a fresh `output.dir/<name>-lr-find/<timestamp>/`; returns it."""
    cfg = loaded.config
    png = lr_find_png(result, title=f"{cfg.name}: learning-rate range test")  # drawn before mkdir
    out_dir = artifacts.new_run_dir(cfg.output.dir, f"{cfg.name}-lr-find", now)
    artifacts.atomic_write_text(
        out_dir / "lr_find.csv", artifacts.csv_text(LR_FIND_COLUMNS, result.csv_rows())
    )
    artifacts.atomic_write_bytes(out_dir / "lr_find.png", png)
    return out_dir
