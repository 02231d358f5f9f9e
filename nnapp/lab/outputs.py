"""The files the teaching-lab commands write: saliency and attack tables and pictures in a run directory,
and the learning-rate range test's own folder.

Everything is computed and drawn, then written all or none (files.write_all: every target checked and
every file staged on disk before the first rename), so a failure leaves the run directory as it was. A
split other than test gets its own names (saliency_val.csv), as `nnapp evaluate` names confusion_<split>.png.
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
from nnapp.orchestration.report import refresh_report
from nnapp.rundir import artifacts, files, runfiles
from nnapp.rundir.runs import LoadedRun


def split_suffix(split: str) -> str:
    return "" if split == "test" else f"_{split}"


def write_saliency(run: LoadedRun, result: Saliency, split: str) -> tuple[Path, Path]:
    """saliency.csv and saliency.png (per split), both or neither (files.write_all); returns their paths."""
    suffix = split_suffix(split)
    csv_path = run.path / runfiles.SALIENCY.variant(suffix)
    png_path = run.path / runfiles.SALIENCY_PICTURE.variant(suffix)
    files.write_all(
        {
            csv_path: artifacts.csv_text(result.csv_columns(), result.csv_rows()).encode("utf-8"),
            png_path: saliency_png(result, title=run.label),
        }
    )
    refresh_report(run.path)  # report.md shows the test split's saliency.png
    return csv_path, png_path


def write_attack(run: LoadedRun, result: AttackResult, split: str) -> list[Path]:
    """attack.csv, attack_eps.csv (ε in original units), attack.png and, for 8x8 image data,
    attack_examples.png (per split), all or none (files.write_all); returns their paths."""
    suffix = split_suffix(split)
    outputs = {
        run.path / runfiles.ATTACK.variant(suffix): artifacts.csv_text(CSV_COLUMNS, result.csv_rows()),
        run.path / runfiles.ATTACK_EPS.variant(suffix): artifacts.csv_text(
            result.eps_columns(), result.eps_rows()
        ),
    }
    encoded = {path: text.encode("utf-8") for path, text in outputs.items()}
    encoded[run.path / runfiles.ATTACK_PICTURE.variant(suffix)] = attack_png(result, title=run.label)
    if result.examples is not None:
        encoded[run.path / runfiles.ATTACK_EXAMPLES.variant(suffix)] = attack_examples_png(
            result.examples, title=run.label
        )
    files.write_all(encoded)
    refresh_report(run.path)  # report.md shows the test split's attack pictures
    return list(encoded)


def write_lr_find(result: LrFindResult, loaded: LoadedConfig, now: datetime | None = None) -> Path:
    """lr_find.csv and lr_find.png in a fresh `output.dir/<name>-lr-find/<timestamp>/`; returns it."""
    cfg = loaded.config
    png = lr_find_png(result, title=f"{cfg.name}: learning-rate range test")  # drawn before mkdir
    out_dir = artifacts.new_run_dir(cfg.output.dir, f"{cfg.name}-lr-find", now)
    files.write_all(
        {
            out_dir / "lr_find.csv": artifacts.csv_text(LR_FIND_COLUMNS, result.csv_rows()).encode("utf-8"),
            out_dir / "lr_find.png": png,
        }
    )
    return out_dir
