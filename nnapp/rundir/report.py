"""A run's pictures beyond the curves (confusion matrix, decision regions, hidden units, first-layer
weights) and its report.md.

`write_extras` is what every `train` run and `nnapp plot RUN_DIR` call: it draws from the model and
the data, then writes report.md from what the run directory holds (summary.json, gradcheck.csv and
the pictures present), so the report always describes the files next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnapp.config import Config, load_config
from nnapp.core import network
from nnapp.core.network import Params
from nnapp.data.datasets import Dataset
from nnapp.errors import NnappError
from nnapp.rundir import artifacts
from nnapp.rundir.scoring import Evaluation, score
from nnapp.training.alarms import run_alarms

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nnapp.rundir.runs import Run, RunSummary
    from nnapp.training.records import EpochRecord, GradcheckRecord

PICTURES = (
    ("curves.png", "Learning curves"),
    ("diagnostics.png", "Inside training: update ratios, hidden units, gradient norms"),
    ("gradcheck.png", "Gradient checks"),
    ("confusion.png", "Confusion matrix (test split)"),
    ("decision_boundary.png", "Decision regions"),
    ("hidden_units.png", "Hidden units over the input plane"),
    ("weights.png", "First-layer weights as images"),
)

# How to read the pictures that are not self-explanatory, written under their heading in report.md
READING = {
    "diagnostics.png": "Left: how far each epoch's last step moved W and U (~1e-3 is healthy). Middle: units "
    "inactive on every training row (dead), active per row. Right: each tensor's full-data gradient norm.",
    "decision_boundary.png": "Colour: the predicted class, paler where its probability is lower. Dots: "
    "training rows; diamonds: test rows, ringed in red where the model is wrong.",
    "hidden_units.png": "Each panel is one hidden unit's activation relu(w_j·x + b1_j) over the plane: grey "
    "where the unit is off (no gradient flows through it), its hinge w_j·x + b1_j = 0 drawn. U: what one "
    "unit of activation adds to each class's logit; the decision regions are the sum of these half-planes.",
    "weights.png": "Each panel is one hidden unit's row of W as an image: red pixels raise the unit's input, "
    "blue ones lower it. Training starts from random weights, so after a short run much of each image is "
    "still that noise; grey pixels are constant in the training rows and never get a gradient.",
}

# Datasets whose inputs are pixels of one image, and the image's shape (rows, columns)
IMAGE_SHAPES = {"digits": (8, 8)}
PLANE_RESOLUTION = 300  # grid points per side of decision_boundary.png: a smooth boundary
UNIT_MAP_RESOLUTION = 90  # per side of each hidden unit's small map


def plane_grid(X_raw: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy) covering two-feature points X_raw (original units) with a 10% margin, and the grid's
    points in the same units as rows (resolution**2, 2)."""
    low, high = X_raw.min(axis=0), X_raw.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _standardise(data: Dataset, points: np.ndarray, params: Params) -> np.ndarray:
    return ((points - data.scaler_mean) / data.scaler_scale).astype(params["W"].dtype, copy=False)


def _raw(data: Dataset, X: np.ndarray) -> np.ndarray:
    return X * data.scaler_scale + data.scaler_mean  # back to the data's own units


def is_plane(data: Dataset) -> bool:
    return data.n_features == 2 and not data.categories  # two measured features, not a one-hot pair


def decision_boundary_figure(data: Dataset, params: Params, title: str = "") -> Figure:
    """Predicted probabilities over the plane of a two-feature dataset, training and test points on top."""
    from nnapp.rundir import plots

    X_train, X_test = _raw(data, data.X_train), _raw(data, data.X_test)
    xx, yy, points = plane_grid(np.vstack([X_train, X_test]), PLANE_RESOLUTION)
    proba = network.predict_proba(params, _standardise(data, points, params))
    predicted = network.predict(params, data.X_test.astype(params["W"].dtype, copy=False))
    return plots.decision_boundary_figure(
        xx,
        yy,
        proba.reshape(*xx.shape, -1),
        (X_train, data.y_train),
        (X_test, data.y_test, predicted),
        [str(c) for c in data.classes],
        data.feature_names,
        title,
    )


def hidden_unit_maps(
    data: Dataset, params: Params, resolution: int = UNIT_MAP_RESOLUTION
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, z) with z[j] = W[j]·x + b1[j] at every grid point x of the plane (standardised as the
    network sees it), shape (D_h, resolution, resolution): each hidden unit's input; relu(z[j]) is
    what the unit passes on."""
    xx, yy, points = plane_grid(_raw(data, np.vstack([data.X_train, data.X_test])), resolution)
    z = network.forward(params, _standardise(data, points, params)).z  # (G*G, D_h)
    return xx, yy, z.T.reshape(-1, *xx.shape)


def hidden_units_figure(data: Dataset, params: Params, title: str = "") -> Figure:
    from nnapp.rundir import plots

    xx, yy, maps = hidden_unit_maps(data, params)
    classes = [str(c) for c in data.classes]
    train = (_raw(data, data.X_train), data.y_train)
    return plots.hidden_units_figure(xx, yy, maps, params["U"], classes, data.feature_names, title, train)


def weights_figure(data: Dataset, params: Params, title: str = "") -> Figure:
    """Each hidden unit's row of W as an image, for image datasets (IMAGE_SHAPES)."""
    from nnapp.rundir import plots

    unseen = np.ptp(data.X_train, axis=0) == 0  # constant pixels: their weights get no gradient
    return plots.weight_images_figure(params["W"], IMAGE_SHAPES[data.name], unseen, title)


def draw_model_pictures(
    run_dir: Path, cfg: Config, data: Dataset, params: Params, test: Evaluation | None = None
) -> list[str]:
    """confusion.png on the test split; decision_boundary.png and hidden_units.png when the data has
    two features; weights.png for image data (digits)."""
    pictures = model_pictures(cfg, data, params, test)
    for name, png in pictures.items():
        artifacts.atomic_write_bytes(run_dir / name, png)
    return list(pictures)


def model_pictures(
    cfg: Config, data: Dataset, params: Params, test: Evaluation | None = None
) -> dict[str, bytes]:
    """The PNG bytes of draw_model_pictures, by file name, drawn without writing anything.

    `test`: the test split already scored with `params` (a run scores it once for summary.json too)."""
    from nnapp.rundir import plots

    classes = [str(c) for c in data.classes]
    title = _title(cfg.name, data.name)
    pictures = {}
    if test is None:
        test = score(params, data.X_test, data.y_test, classes, "test split")
    pictures["confusion.png"] = plots.confusion_png(test.confusion, classes, f"{title}, test split")
    if is_plane(data):
        pictures["decision_boundary.png"] = plots.png_bytes(
            decision_boundary_figure(data, params, f"{title}: decision regions")
        )
        pictures["hidden_units.png"] = plots.png_bytes(hidden_units_figure(data, params, title))
    if data.name in IMAGE_SHAPES and data.n_features == math.prod(IMAGE_SHAPES[data.name]):
        pictures["weights.png"] = plots.png_bytes(weights_figure(data, params, title))
    return pictures


def _title(name: str, dataset: str) -> str:
    return name if name == dataset else f"{name} ({dataset})"  # "iris", not "iris (iris)"


def write_confusion(run: Run, evaluation: Evaluation, data_path: Path | None = None) -> str:
    """`nnapp evaluate`'s picture in the run directory; for the test split the same file (and bytes)
    that training drew, for another split or CSV confusion_<split or CSV name>.png. Returns the name."""
    from nnapp.rundir import plots

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
    """report.md's text read back from summary.json, config.yaml, model.npz, gradcheck.csv and the
    pictures in the run directory (`nnapp plot`)."""
    from nnapp.rundir.runs import read_summary

    summary = read_summary(run_dir)  # checked: a key of the wrong type is an error naming the file
    return _report_text(
        run_dir,
        summary,
        _hyperparameter_lines(run_dir / "config.yaml"),
        _features_text(run_dir / "model.npz"),
        _last_check_rows(run_dir / "gradcheck.csv"),
        _alarm_lines(run_dir),
    )


def run_report_markdown(
    run_dir: Path, summary: RunSummary, cfg: Config, checks: Sequence[GradcheckRecord], alarms: list[str]
) -> str:
    """report.md's text from the values a run just wrote (the same text `report_markdown` reads back)."""
    rows = [
        {key: repr(value) if isinstance(value, float) else str(value) for key, value in row.items()}
        for row in artifacts.gradcheck_rows(checks)
    ]  # the cells as gradcheck.csv holds them
    return _report_text(
        run_dir,
        summary,
        hyperparameter_lines(cfg),
        _names_text(summary.feature_names or []),
        _last_rows(rows),
        alarms,
    )


def _report_text(
    run_dir: Path,
    summary: RunSummary,
    hyperparameters: list[str],
    features: str,
    rows: list[dict[str, str]],
    alarms: list[str],
) -> str:
    """report.md's text: the run's summary, hyperparameters, features, last gradient check, pictures."""
    lines = [f"# Run `{summary.name or run_dir.name}` on {summary.dataset or '?'}", ""]
    overrides = " ".join(summary.overrides or []) or "none"
    lines += [
        f"- run directory: `{run_dir.name}`, started {summary.started_at or '?'}, seed {summary.seed}",
        f"- overrides: `{overrides}`",
        f"- stopped: {summary.stop_reason} after {summary.epochs_trained} epochs; "
        f"best epoch {summary.best_epoch}" + (f" ({summary.message})" if summary.message else ""),
        f"- rows: train {summary.n_train}, val {summary.n_val}, test {summary.n_test}; "
        f"{summary.n_features} features; classes {', '.join(summary.classes or [])}",
        f"- initial loss {_num(summary.initial_loss)}; chance level ln N_c = "
        f"{_num(summary.chance_loss)} (the loss of predicting 1/N_c for every class: "
        "a trained network should end far below it)",
        f"- features: {features}",
        *hyperparameters,
        "",
        "## Summary",
        "",
        "| split | accuracy | loss (CE) | majority class |",
        "|---|---:|---:|---:|",
    ]
    for split in ("train", "val", "test"):  # majority class: always answering training's most frequent
        values = (getattr(summary, f"{split}_{key}") for key in ("acc", "loss", "majority_rate"))
        lines.append(f"| {split} | " + " | ".join(_num(v) for v in values) + " |")
    found = [f"- warning: {a}" for a in alarms] + [f"- {line}" for line in summary.baseline_sentences()]
    lines += ["", "## Diagnostics", "", *(found or ["No warning line was crossed (README: Diagnostics)."])]
    lines += ["", "## Gradient check", ""]
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
            lines += ["", f"## {caption}", ""]
            if file in READING:
                lines += [READING[file], ""]
            lines.append(f"![{caption}]({file})")
    return "\n".join(lines) + "\n"


def _hyperparameter_lines(config_path: Path) -> list[str]:
    try:
        cfg = load_config(config_path).config
    except NnappError as exc:
        return [f"- hyperparameters: not readable ({exc})"]
    return hyperparameter_lines(cfg)


def hyperparameter_lines(cfg: Config) -> list[str]:
    o, t = cfg.optim, cfg.train
    schedule = {
        "constant": "constant",
        "step": f"step (× {o.decay:g} every {o.step_every} epochs)",
        "cosine": "cosine",
        "invscaling": f"invscaling (power_t {o.power_t:g})",
        "plateau": f"plateau (× {o.decay:g} after {o.plateau_patience} epochs without progress)",
    }.get(o.schedule, o.schedule)
    momentum = f"{o.momentum:g}" + (" (Nesterov)" if o.nesterov else "")
    return [
        f"- hyperparameters: lr {o.lr:g}, schedule {schedule}, momentum {momentum}, weight decay "
        f"{o.weight_decay:g}, hidden units {cfg.model.hidden} ({cfg.model.init} init, {cfg.model.dtype}), "
        f"batch size {t.batch_size}, epochs {t.epochs} (early stopping on {t.early_stopping.monitor}, "
        f"patience {t.early_stopping.patience})" + (f", clip norm {o.clip_norm:g}" if o.clip_norm else ""),
    ]


def _features_text(model_path: Path, shown: int = 12) -> str:
    try:
        names = [str(n) for n in artifacts.load_model(model_path)["feature_names"].tolist()]
    except (NnappError, KeyError):
        return "not readable from model.npz"
    return _names_text(names, shown)


def _names_text(names: list[str], shown: int = 12) -> str:
    if len(names) > shown:
        return f"{len(names)}: " + ", ".join(names[: shown - 2]) + ", …, " + ", ".join(names[-2:])
    return f"{len(names)}: " + ", ".join(names)


def write_report(run_dir: Path) -> None:
    artifacts.atomic_write_text(run_dir / "report.md", report_markdown(run_dir))


def write_extras(
    run_dir: Path,
    cfg: Config,
    data: Dataset,
    params: Params,
    summary: RunSummary,
    checks: Sequence[GradcheckRecord],
    test: Evaluation,
    history: Sequence[EpochRecord] = (),
) -> None:
    """The pictures of the model (if output.plots) and report.md, from the values the run just wrote
    (`test`: its test split scored with `params`); called after summary.json exists."""
    if cfg.output.plots:
        draw_model_pictures(run_dir, cfg, data, params, test)
    alarms = [alarm.message for alarm in run_alarms(history)]
    artifacts.atomic_write_text(
        run_dir / "report.md", run_report_markdown(run_dir, summary, cfg, checks, alarms)
    )


def _alarm_lines(run_dir: Path) -> list[str]:
    from nnapp.rundir.runs import read_history

    try:  # report.md without a readable metrics.csv still describes the rest
        return [alarm.message for alarm in run_alarms(read_history(run_dir))]
    except NnappError:
        return []


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _last_check_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return _last_rows(artifacts.read_csv_rows(path))


def _last_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of the last check (one per tensor, and the directional one)."""
    if not rows:
        return []
    last = (rows[-1]["epoch"], rows[-1]["when"])
    return [row for row in rows if (row["epoch"], row["when"]) == last]


def redraw_run(run_dir: Path) -> list[str]:
    """`nnapp plot RUN_DIR`: every picture of a run and its report.md again, from its files and model."""
    from nnapp.rundir import plots
    from nnapp.rundir.runs import load_run, read_checks, read_history, rebuild_dataset

    run = load_run(run_dir)
    history = read_history(run.path)
    checks = read_checks(run.path)
    data = rebuild_dataset(run)
    cfg = run.config
    best = run.summary.best_epoch
    title = _title(cfg.name, data.name)
    chance = run.summary.chance_loss
    # every picture and the report drawn in memory first: a failure half-way must leave the old files
    pictures = {"curves.png": plots.curves_png(history, best, title, chance)}
    pictures["diagnostics.png"] = plots.diagnostics_png(history, title)
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
