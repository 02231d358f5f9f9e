"""A run's pictures beyond the curves (confusion matrix, decision regions) and its report.md.

`write_extras` is what every `train` run and `nnapp plot RUN_DIR` call: it draws from the model and
the data, then writes report.md from what the run directory holds (summary.json, gradcheck.csv and
the pictures present), so the report always describes the files next to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import artifacts
from .config import Config
from .data import Dataset
from .network import Params

if TYPE_CHECKING:
    from .evaluation import Evaluation
    from .runs import Run

PICTURES = (
    ("curves.png", "Learning curves"),
    ("gradcheck.png", "Gradient checks"),
    ("confusion.png", "Confusion matrix (test split)"),
    ("decision_boundary.png", "Decision regions"),
)


def draw_model_pictures(run_dir: Path, cfg: Config, data: Dataset, params: Params) -> list[str]:
    """confusion.png on the test split, and decision_boundary.png when the data has two features."""
    pictures = model_pictures(cfg, data, params)
    for name, png in pictures.items():
        artifacts.atomic_write_bytes(run_dir / name, png)
    return list(pictures)


def model_pictures(cfg: Config, data: Dataset, params: Params) -> dict[str, bytes]:
    """The PNG bytes of draw_model_pictures, by file name, drawn without writing anything."""
    from . import plots
    from .evaluation import decision_grid, score

    classes = [str(c) for c in data.classes]
    title = _title(cfg.name, data.name)
    pictures = {}
    test = score(params, data.X_test, data.y_test, classes, "test split")
    pictures["confusion.png"] = plots.confusion_png(test.confusion, classes, f"{title}, test split")
    if data.n_features == 2 and not data.categories:  # two measured features, not a one-hot pair
        X_raw = data.X_train * data.scaler_scale + data.scaler_mean  # back to the data's own units
        xx, yy, grid = decision_grid(params, data.scaler_mean, data.scaler_scale, X_raw)
        pictures["decision_boundary.png"] = plots.decision_boundary_png(
            xx, yy, grid, X_raw, data.y_train, classes, data.feature_names, f"{title}: decision regions"
        )
    return pictures


def _title(name: str, dataset: str) -> str:
    return name if name == dataset else f"{name} ({dataset})"  # "iris", not "iris (iris)"


def write_confusion(run: Run, evaluation: Evaluation, data_path: Path | None = None) -> str:
    """`nnapp evaluate`'s picture in the run directory; for the test split the same file (and bytes)
    that training drew, for another split or CSV confusion_<split or CSV name>.png. Returns the name."""
    from . import plots

    test = data_path is None and evaluation.source == "test split"
    name = (
        "confusion.png"
        if test
        else f"confusion_{data_path.stem if data_path else evaluation.source.split()[0]}.png"
    )
    title = f"{_title(run.config.name, run.summary.dataset or '?')}, {evaluation.source}"
    png = plots.confusion_png(evaluation.confusion, evaluation.classes, title)
    artifacts.atomic_write_bytes(run.path / name, png)
    return name


def report_markdown(run_dir: Path) -> str:
    """report.md's text from summary.json, gradcheck.csv and the pictures in the run directory."""
    from .runs import read_summary

    summary = read_summary(run_dir)  # checked: a key of the wrong type is an error naming the file
    lines = [f"# Run `{summary.name or run_dir.name}` on {summary.dataset or '?'}", ""]
    overrides = " ".join(summary.overrides or []) or "none"
    lines += [
        f"- run directory: `{run_dir.name}`, started {summary.started_at or '?'}, seed {summary.seed}",
        f"- overrides: `{overrides}`",
        f"- stopped: {summary.stop_reason} after {summary.epochs_trained} epochs; "
        f"best epoch {summary.best_epoch}" + (f" ({summary.message})" if summary.message else ""),
        f"- rows: train {summary.n_train}, val {summary.n_val}, test {summary.n_test}; "
        f"{summary.n_features} features; classes {', '.join(summary.classes or [])}",
        f"- initial loss {_num(summary.initial_loss)} (chance level ln N_c = {_num(summary.chance_loss)})",
        "",
        "## Summary",
        "",
        "| split | accuracy | loss (CE) |",
        "|---|---:|---:|",
    ]
    for split in ("train", "val", "test"):
        accuracy, loss = getattr(summary, f"{split}_acc"), getattr(summary, f"{split}_loss")
        lines.append(f"| {split} | {_num(accuracy)} | {_num(loss)} |")
    lines += ["", "## Gradient check", ""]
    rows = _last_check_rows(run_dir / "gradcheck.csv")
    if rows:
        first = rows[0]
        lines += [
            f"Analytic gradients against centred finite differences, {first['when']} check at epoch "
            f"{first['epoch']}: overall **{summary.gradcheck_verdict}**.",
            "",
            "| tensor | checked | kinks skipped | max error | verdict |",
            "|---|---:|---:|---:|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['tensor']} | {row['checked']} | {row['kinks']} | "
                f"{float(row['max_error']):.2e} | {row['verdict']} |"
            )
    else:
        lines.append("Gradient checks were off for this run.")
    for file, caption in PICTURES:
        if (run_dir / file).exists():
            lines += ["", f"## {caption}", "", f"![{caption}]({file})"]
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path) -> None:
    artifacts.atomic_write_text(run_dir / "report.md", report_markdown(run_dir))


def write_extras(run_dir: Path, cfg: Config, data: Dataset, params: Params) -> None:
    """The pictures of the model (if output.plots) and report.md; called after summary.json exists."""
    if cfg.output.plots:
        draw_model_pictures(run_dir, cfg, data, params)
    write_report(run_dir)


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _last_check_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    rows = artifacts.read_csv_rows(path)
    if not rows:
        return []
    last = (rows[-1]["epoch"], rows[-1]["when"])
    return [row for row in rows if (row["epoch"], row["when"]) == last]


def redraw_run(run_dir: Path) -> list[str]:
    """`nnapp plot RUN_DIR`: every picture of a run and its report.md again, from its files and model."""
    from . import plots
    from .runs import load_run, read_checks, read_history, rebuild_dataset

    run = load_run(run_dir)
    history = read_history(run.path)
    checks = read_checks(run.path)
    data = rebuild_dataset(run)
    cfg = run.config
    best = run.summary.best_epoch
    title = _title(cfg.name, data.name)
    # every picture and the report drawn in memory first: a failure half-way must leave the old files
    pictures = {"curves.png": plots.curves_png(history, best, title)}
    if checks:
        pictures["gradcheck.png"] = plots.gradcheck_png(checks, cfg.gradcheck.tol, cfg.gradcheck.fail)
    pictures.update(model_pictures(cfg, data, run.params))
    for name, png in pictures.items():
        artifacts.atomic_write_bytes(run.path / name, png)
    written = list(pictures)
    if (run.path / "summary.json").exists():
        write_report(run.path)  # its summary was checked by load_run; it lists the pictures just written
        written.append("report.md")
    return written
