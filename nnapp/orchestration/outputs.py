"""The files of a finished (or stopped) run, written once from the values in memory.

model.npz, metrics.csv, gradcheck.csv, summary.json, the pictures and report.md: the test split is
scored once (summary.json's test metrics and confusion.png), and report.md is written from the same
summary, config and checks, not read back from the files just written.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from nnapp.config import LoadedConfig
from nnapp.data.datasets import Dataset
from nnapp.data.fingerprint import DataFingerprint
from nnapp.rundir import artifacts, files, runfiles
from nnapp.rundir.model_file import SavedModel
from nnapp.rundir.runfiles import run_key
from nnapp.rundir.runs import RunSummary, write_summary
from nnapp.training.model import Model
from nnapp.training.records import TrainResult
from nnapp.training.scoring import Scores, score


def write_run(
    run_dir: Path,
    loaded: LoadedConfig,
    data: Dataset,
    result: TrainResult,
    started_at: datetime,
    data_hash: DataFingerprint,
    notes: list[str],
    metrics_csv: str,
) -> tuple[RunSummary, SavedModel]:
    """Write every file of the run from `result`; returns what summary.json and model.npz hold.

    `metrics_csv`: metrics.csv's text, from the checkpoint writer, which has encoded its rows already
    (encoding 3000 epochs' rows again costs 48 ms)."""
    cfg = loaded.config
    classes = [str(c) for c in data.classes]
    test = score(result.params, data.X_test, data.y_test, classes, "test split")
    model = SavedModel.of(Model.trained(result.params, data), run_key(cfg))
    model.save(run_dir / runfiles.MODEL.name)
    files.write_run_text(run_dir / runfiles.METRICS.name, metrics_csv)
    artifacts.write_gradcheck(run_dir / runfiles.GRADCHECK.name, result.checks)
    summary = _summary(loaded, data, result, started_at, data_hash, notes, test)
    write_summary(run_dir, summary)
    if cfg.output.plots:
        from nnapp.pictures.curves import stop_mark
        from nnapp.pictures.run import run_pictures

        stop = stop_mark(result.stop_reason, result.message, result.state.epoch)
        drawn = run_pictures(
            cfg, data, result.params, result.history, result.checks, result.best_epoch, result.chance_loss,
            stop, test,
        )  # fmt: skip
        files.write_all({run_dir / name: png for name, png in drawn.items()})
    from nnapp.orchestration.report import write_run_report

    write_run_report(run_dir, cfg, summary, result.checks, result.history)  # lists the pictures just written
    return summary, model


def _summary(
    loaded: LoadedConfig,
    data: Dataset,
    result: TrainResult,
    started_at: datetime,
    data_hash: DataFingerprint,
    notes: list[str],
    test: Scores,
) -> RunSummary:
    cfg = loaded.config
    # The returned weights are the best epoch's end weights, which its record measured already: its
    # cross-entropy (without the L2 term, as for the test split) and accuracy on both splits, the same
    # numbers evaluate() gives (on every shipped config, bit for bit) without two more passes over the rows.
    best = result.history[result.best_epoch]
    split_metrics = {"train": (best.train_ce, best.train_acc), "val": (best.val_loss, best.val_acc)}
    last_check = result.checks[-1].report if result.checks else None
    majority, rates = _baselines(data)
    return RunSummary(
        name=cfg.name,
        dataset=data.name,
        seed=cfg.seed,
        stop_reason=result.stop_reason,
        message=result.message,
        epochs_trained=result.state.epoch,
        best_epoch=result.best_epoch,
        train_loss=float(split_metrics["train"][0]),
        train_acc=float(split_metrics["train"][1]),
        val_loss=float(split_metrics["val"][0]),
        val_acc=float(split_metrics["val"][1]),
        test_loss=float(test.log_loss),
        test_acc=float(test.accuracy),
        train_majority_rate=rates[0],
        val_majority_rate=rates[1],
        test_majority_rate=rates[2],
        majority_class=majority,
        test_recall=[float(r) for r in test.recall],
        initial_loss=float(result.initial_loss),
        chance_loss=float(result.chance_loss),
        gradcheck_verdict=str(last_check.verdict) if last_check else "off",
        gradcheck_max_error=max(c.report.max_error for c in result.checks) if result.checks else None,
        classes=[str(c) for c in data.classes],
        feature_names=list(data.feature_names),
        n_features=data.n_features,
        n_train=len(data.y_train),
        n_val=len(data.y_val),
        n_test=len(data.y_test),
        dropped_rows=data.dropped_rows,
        data_source=data_hash.source,
        data_sha256=data_hash.sha256,
        run_key=run_key(cfg),
        notes=list(notes),
        overrides=list(loaded.overrides),
        started_at=started_at.isoformat(timespec="seconds"),
        train_seconds=result.seconds,
        versions=artifacts.versions(),
    )


def _baselines(data: Dataset) -> tuple[str, list[float]]:
    """The training split's most frequent class, and the accuracy of always answering it on each split."""
    majority = int(np.argmax(np.bincount(data.y_train, minlength=len(data.classes))))
    rates = [float(np.mean(data.split(split)[1] == majority)) for split in ("train", "val", "test")]
    return str(data.classes[majority]), rates
