"""The files the teaching-lab commands leave in a run directory: saliency and attack tables and pictures.

Everything is computed and drawn before the first file is written, and each file goes to a temporary
name renamed into place, so a failure leaves the run directory as it was. A split other than test gets
its own names (saliency_val.csv), as `nnapp evaluate` names confusion_<split>.png.
"""

from __future__ import annotations

from pathlib import Path

from nnapp.rundir import artifacts, files
from nnapp.rundir.runs import Run
from nnapp.tools.attack import CSV_COLUMNS, AttackResult
from nnapp.tools.lab_plots import attack_examples_png, attack_png, saliency_png
from nnapp.tools.saliency import Saliency


def split_suffix(split: str) -> str:
    return "" if split == "test" else f"_{split}"


def write_saliency(run: Run, result: Saliency, split: str) -> tuple[Path, Path]:
    """saliency.csv and saliency.png (per split); returns their paths."""
    png = saliency_png(result, title=run.label)
    suffix = split_suffix(split)
    csv_path, png_path = run.path / f"saliency{suffix}.csv", run.path / f"saliency{suffix}.png"
    files.write_text(csv_path, artifacts.csv_text(result.csv_columns(), result.csv_rows()))
    files.write(png_path, png)
    return csv_path, png_path


def write_attack(run: Run, result: AttackResult, split: str) -> list[Path]:
    """attack.csv, attack_eps.csv (ε in original units), attack.png and, for 8x8 image data,
    attack_examples.png (per split); returns their paths."""
    suffix = split_suffix(split)
    pictures = {run.path / f"attack{suffix}.png": attack_png(result, title=run.label)}
    if result.examples is not None:
        pictures[run.path / f"attack_examples{suffix}.png"] = attack_examples_png(
            result.examples, title=run.label
        )
    csv_path, eps_path = run.path / f"attack{suffix}.csv", run.path / f"attack_eps{suffix}.csv"
    files.write_text(csv_path, artifacts.csv_text(CSV_COLUMNS, result.csv_rows()))
    files.write_text(eps_path, artifacts.csv_text(result.eps_columns(), result.eps_rows()))
    for path, png in pictures.items():
        files.write(path, png)
    return [csv_path, eps_path, *pictures]
