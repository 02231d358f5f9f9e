"""report.md, `nnapp evaluate`'s confusion picture and `nnapp plot`'s redraw.

A run's pictures are drawn by one function, `pictures.run.run_pictures`, both when a run is written and
when `nnapp plot RUN_DIR` redraws it. report.md has one composer, `report_markdown`, fed by one record,
`ReportRecord`: built in memory from a run just trained, or read back from a run directory's files for a
redraw or a new picture. Both are built after the pictures are written, so the report lists the files next
to it, and both give the same text for the same run (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnapp.config import Config, load_config
from nnapp.errors import NnappError
from nnapp.pictures.run import run_title
from nnapp.rundir import artifacts, files, runfiles
from nnapp.training.alarms import run_alarms
from nnapp.training.scoring import Scores

if TYPE_CHECKING:
    from nnapp.rundir.runs import LoadedRun, RunSummary
    from nnapp.training.records import EpochRecord, GradcheckRecord


def write_confusion(run: LoadedRun, evaluation: Scores, data_path: Path | None = None) -> str:
    """`nnapp evaluate`'s picture in the run directory; for the test split the same file (and bytes)
    that training drew, for another split or CSV confusion_<split or CSV name>.png. Returns the name."""
    from nnapp import pictures

    test = data_path is None and evaluation.source == "test split"
    name = (
        runfiles.CONFUSION.name
        if test
        else f"confusion_{data_path.stem if data_path else evaluation.source.split()[0]}.png"
    )
    title = f"{run_title(run.config.name, run.summary.dataset or '?')}, {evaluation.source}"
    png = pictures.confusion_png(evaluation.confusion, evaluation.classes, title)
    files.write(run.path / name, png)
    return name


@dataclass(frozen=True)
class ReportRecord:
    """Everything report.md says about a run: built from a run just trained (`of_training`, values in
    memory) or read back from a run directory (`read`), then written by the one composer,
    `report_markdown`. Both are built after the pictures are written, so `pictures` lists the files next
    to the report."""

    run_dir: Path
    summary: RunSummary
    config: Config | None  # None: config.yaml could not be read back (`config_problem` says why)
    config_problem: str
    last_check: GradcheckRecord | None  # the run's last gradient check; None when checks were off
    alarms: list[str]  # the first warning of each kind over the run's epochs
    pictures: list[runfiles.RunFile]  # the reported pictures present in the run directory

    @classmethod
    def of_training(
        cls,
        run_dir: Path,
        cfg: Config,
        summary: RunSummary,
        checks: Sequence[GradcheckRecord],
        history: Sequence[EpochRecord] = (),
    ) -> ReportRecord:
        alarms = [alarm.message for alarm in run_alarms(history)]
        last = checks[-1] if checks else None
        return cls(run_dir, summary, cfg, "", last, alarms, _pictures_present(run_dir))

    @classmethod
    def read(cls, run_dir: Path) -> ReportRecord:
        """From summary.json, config.yaml, gradcheck.csv, metrics.csv and the pictures in `run_dir`; a
        summary.json or gradcheck.csv that is not what nnapp writes is a one-line error, an unreadable
        config.yaml or metrics.csv a line in the report."""
        from nnapp.rundir.runs import read_checks, read_summary

        summary = read_summary(run_dir)  # checked: a key of the wrong type is an error naming the file
        cfg, problem = _read_config(run_dir / runfiles.CONFIG.name)
        checks = read_checks(run_dir)
        last = checks[-1] if checks else None
        return cls(run_dir, summary, cfg, problem, last, _read_alarms(run_dir), _pictures_present(run_dir))


def report_markdown(record: ReportRecord) -> str:
    """report.md's text: the run's summary, hyperparameters, features, last gradient check, pictures."""
    summary, run_dir = record.summary, record.run_dir
    lines = [f"# Run `{summary.name or run_dir.name}` on {summary.dataset or '?'}", ""]
    overrides = " ".join(summary.overrides or []) or "none"
    hyperparameters = (
        hyperparameter_lines(record.config)
        if record.config is not None
        else [f"- hyperparameters: not readable ({record.config_problem})"]
    )
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
        f"- features: {_names_text(summary.feature_names or [])}",
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
    found = [f"- warning: {a}" for a in record.alarms] + [
        f"- {line}" for line in summary.baseline_sentences()
    ]
    lines += [
        "",
        "## Diagnostics",
        "",
        *(found or ["No warning line was crossed (docs/run-directory.md: Diagnostics)."]),
    ]
    lines += ["", "## Gradient check", "", *_check_lines(record.last_check, summary)]
    for picture in record.pictures:
        lines += ["", f"## {picture.caption}", ""]
        if picture.reading:
            lines += [picture.reading, ""]
        lines.append(f"![{picture.caption}]({picture.name})")
    return "\n".join(lines) + "\n"


def _check_lines(check: GradcheckRecord | None, summary: RunSummary) -> list[str]:
    """The last check's table, one row per tensor and the directional one, as gradcheck.csv holds them."""
    if check is None:
        return ["Gradient checks were off for this run."]
    lines = [
        f"Analytic gradients against centred finite differences, {check.when} check at epoch "
        f"{check.epoch}: overall **{summary.gradcheck_verdict}**.",
        "",
        "| tensor | checked | kinks skipped | max error | verdict |",
        "|---|---:|---:|---:|---|",
    ]
    for row in artifacts.gradcheck_rows([check]):
        lines.append(f"| {row.tensor} | {row.checked} | {row.kinks} | {row.max_error:.2e} | {row.verdict} |")
    return lines


def _pictures_present(run_dir: Path) -> list[runfiles.RunFile]:
    return [picture for picture in runfiles.REPORTED if (run_dir / picture.name).exists()]


def _read_config(config_path: Path) -> tuple[Config | None, str]:
    try:
        files.read_run_text(config_path)  # a config.yaml of another format version is not this run's
        return load_config(config_path).config, ""
    except NnappError as exc:
        return None, str(exc)


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
        f"patience {t.early_stopping.patience})"
        + (f", clip norm {o.clip_norm:g}" if o.clip_norm else "")
        + f", inputs scaled {cfg.data.scaling} (data.scaling)",
    ]


def _names_text(names: list[str], shown: int = 12) -> str:
    if len(names) > shown:
        return f"{len(names)}: " + ", ".join(names[: shown - 2]) + ", …, " + ", ".join(names[-2:])
    return f"{len(names)}: " + ", ".join(names)


def write_report(run_dir: Path) -> None:
    """report.md again from the run directory's files (`nnapp plot`, `nnapp report`, a new picture)."""
    files.write_text(run_dir / runfiles.REPORT.name, report_markdown(ReportRecord.read(run_dir)))


def refresh_report(run_dir: Path) -> bool:
    """report.md again, for a finished run (one with summary.json) that has gained a picture (saliency,
    attack, the GIF); a run still training keeps its report for the trainer to write. True if written."""
    if not (Path(run_dir) / runfiles.SUMMARY.name).is_file():
        return False
    write_report(Path(run_dir))
    return True


def write_run_report(
    run_dir: Path,
    cfg: Config,
    summary: RunSummary,
    checks: Sequence[GradcheckRecord],
    history: Sequence[EpochRecord] = (),
) -> None:
    """report.md of a run just written, from its values in memory; called after summary.json and the
    pictures exist."""
    record = ReportRecord.of_training(run_dir, cfg, summary, checks, history)
    files.write_text(run_dir / runfiles.REPORT.name, report_markdown(record))


def _read_alarms(run_dir: Path) -> list[str]:
    from nnapp.rundir.runs import read_history

    try:  # report.md without a readable metrics.csv still describes the rest
        return [alarm.message for alarm in run_alarms(read_history(run_dir))]
    except NnappError:
        return []


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def redraw_run(run_dir: Path) -> list[str]:
    """`nnapp plot RUN_DIR`: every picture of a run and its report.md again, from its files and model."""
    from nnapp.pictures.curves import stop_mark
    from nnapp.pictures.run import run_pictures
    from nnapp.rundir.runs import load_run, read_checks, read_history, rebuild_dataset

    run = load_run(run_dir)
    history = read_history(run.path)
    checks = read_checks(run.path)
    data = rebuild_dataset(run)
    s = run.summary
    stop = stop_mark(s.stop_reason, s.message, s.epochs_trained or 0)
    # every picture drawn in memory first: a failure half-way must leave the old files
    drawn = run_pictures(run.config, data, run.params, history, checks, s.best_epoch, s.chance_loss, stop)
    files.write_all({run.path / name: png for name, png in drawn.items()})  # all pictures or none
    written = list(drawn)
    if (run.path / runfiles.SUMMARY.name).exists():
        write_report(run.path)  # its summary was checked by load_run; it lists the pictures just written
        written.append(runfiles.REPORT.name)
    return written
