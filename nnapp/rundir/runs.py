"""A finished run directory, read back: its resolved config, its model and its summary.

Everything that reads a run (evaluate, predict, gradcheck --run, plot) goes through `load_run`, so a
missing, truncated or foreign run directory is always the same one-line error naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapp.config import Config, LoadedConfig, config_from_mapping, parse_yaml
from nnapp.core.network import Params, param_shapes
from nnapp.data.datasets import Dataset, load_dataset
from nnapp.data.fingerprint import check_unchanged, csv_file, fingerprint
from nnapp.errors import ArtifactError
from nnapp.rundir import files, runfiles
from nnapp.rundir.artifacts import check_output_file
from nnapp.rundir.checkpoint import CHECKPOINT_NAME, RunInfo, load_checkpoint
from nnapp.rundir.model_file import SavedModel, load_model
from nnapp.rundir.runfiles import run_key
from nnapp.rundir.runlock import refuse_if_still_training
from nnapp.rundir.summary import SUMMARY_TYPES as SUMMARY_TYPES
from nnapp.rundir.summary import RunSummary as RunSummary
from nnapp.rundir.summary import read_summary as read_summary
from nnapp.rundir.summary import write_summary as write_summary
from nnapp.rundir.tables import read_checks as read_checks
from nnapp.rundir.tables import read_history as read_history


@dataclass(frozen=True)
class LoadedRun:
    path: Path
    config: Config
    model: SavedModel
    summary: RunSummary  # summary.json (every field None if the run has none)

    @property
    def params(self) -> Params:
        return dict(self.model.params)

    @property
    def classes(self) -> np.ndarray:
        return self.model.classes

    @property
    def label(self) -> str:
        return f"{self.config.name} ({self.path.name})"


def load_run(path: str | Path, usable: bool = True) -> LoadedRun:
    """Read config.yaml, model.npz and summary.json of a run directory; NnappError on anything amiss.

    `usable`: also refuse weights no command can use (`SavedModel.check_usable`); only the gradient
    check, which reports them, passes False."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such run directory")
    if not path.is_dir():
        raise ArtifactError(f"{path}: not a directory (expected an nnapp run directory)")
    config_path = path / runfiles.CONFIG.name
    raw = parse_yaml(files.read_run_text(config_path), str(config_path))
    if raw is None:
        raise ArtifactError(f"{config_path}: empty (training writes the whole resolved config here)")
    config, _ = config_from_mapping(raw, str(config_path))
    refuse_if_still_training(path)
    model = load_model(path / runfiles.MODEL.name)
    if usable:
        model.check_usable(path / runfiles.MODEL.name)
    summary = read_summary(path) if (path / runfiles.SUMMARY.name).exists() else RunSummary()
    check_config_fits_model(config, model, summary, path)
    check_same_run(path, model, summary)
    check_summary_fits_model(summary, model, path / runfiles.SUMMARY.name)
    return LoadedRun(path, config, model, summary)


def checkpoint_info(run_dir: Path) -> RunInfo | None:
    """The run record of RUN_DIR/checkpoint.npz; None if there is none, or it is damaged (that is
    resume's error: readers of a finished run only use it to cross-check the other files)."""
    if not (run_dir / CHECKPOINT_NAME).is_file():
        return None
    try:
        return load_checkpoint(run_dir).info
    except ArtifactError:
        return None


def check_same_run(run_dir: Path, model: SavedModel, summary: RunSummary) -> None:
    """model.npz, summary.json and checkpoint.npz carry the run key they were written with: one of
    them copied from another run disagrees with the others. (A config.yaml edited since is refused by
    `check_config_fits_model`, the data checks, and, for a resume, `check_run_key`.)"""
    info = checkpoint_info(run_dir)
    keys = {
        name: key
        for name, key in (
            (runfiles.MODEL.name, model.run_key),
            (runfiles.SUMMARY.name, summary.run_key),
            (CHECKPOINT_NAME, info.run_key if info is not None else None),
        )
        if key is not None  # summary.json or checkpoint.npz absent (an interrupted run, a deleted file)
    }
    if len(set(keys.values())) <= 1:
        return
    values = list(keys.values())
    majority = max(values, key=values.count)
    odd = [name for name, key in keys.items() if key != majority] if values.count(majority) > 1 else []
    foreign = odd[0] if odd else list(keys)[1]
    others = ", ".join(f"{name} {key}" for name, key in keys.items() if name != foreign)
    raise ArtifactError(
        f"{run_dir / foreign}: run key {keys[foreign]} is not the run's ({others}): a file of another run?"
    )


def check_run_key(config: Config, recorded: str, where: Path, run_dir: Path) -> None:
    """A file of the run (model.npz, summary.json, checkpoint.npz) must carry the run key of the
    config.yaml next to it: a file copied from another run, or a config edited since, is refused."""
    expected = run_key(config)
    if recorded != expected:
        raise ArtifactError(
            f"{where}: not written by the run of {run_dir / 'config.yaml'} (run key {recorded}, the "
            f"config gives {expected}: a file of another run, or a config edited since?)"
        )


def check_config_fits_model(config: Config, model: SavedModel, summary: RunSummary, run_dir: Path) -> None:
    """config.yaml must describe the model.npz next to it: the same hidden units, dtype and dataset
    (an edited config.yaml would otherwise be reported as the run's, and rebuild other data)."""
    config_path, model_path = run_dir / runfiles.CONFIG.name, run_dir / runfiles.MODEL.name
    hidden, dtype = model.params["W"].shape[0], str(model.params["W"].dtype)
    if config.model.hidden != hidden:
        raise ArtifactError(
            f"{config_path}: model.hidden is {config.model.hidden}, but {model_path} has {hidden} "
            "hidden units (edited since training?)"
        )
    if config.model.dtype != dtype:
        raise ArtifactError(
            f"{config_path}: model.dtype is {config.model.dtype}, but {model_path} holds {dtype} weights "
            "(edited since training?)"
        )
    is_csv = config.data.dataset == "csv"
    dataset = Path(config.data.path or "").name if is_csv else config.data.dataset
    # a CSV model records its columns, a built-in dataset's none (summary.json may be absent: None)
    if bool(model.columns) != is_csv or summary.dataset not in (None, dataset):
        trained_on = summary.dataset or ("a CSV file" if model.columns else "a built-in dataset")
        raise ArtifactError(
            f"{config_path}: data.dataset gives {dataset}, but {model_path} was trained on {trained_on} "
            "(edited since training?)"
        )


def check_summary_fits_model(summary: RunSummary, model: SavedModel, path: Path) -> None:
    """summary.json's classes must be the model's (reports and pictures label rows with them)."""
    if summary.classes is not None and summary.classes != [str(c) for c in model.classes]:
        raise ArtifactError(
            f"{path}: classes {summary.classes} are not the {len(model.classes)} classes of its model.npz"
        )


def run_inputs(run: LoadedRun) -> list[Path]:
    """The files a run was made from (its CSV, its source config): an output must never replace them."""
    found: list[Path] = []
    if run.config.data.dataset == "csv" and run.config.data.path:
        found.append(csv_file(run.config.data, run.path))
    if run.summary.data_source and not run.summary.data_source.startswith("dataset "):
        found.append(Path(run.summary.data_source))
    info = checkpoint_info(run.path)
    if info is not None:
        sources = (info.config_path, info.data_source)
        found += [Path(p) for p in sources if p and not p.startswith("dataset ")]
    return found


def check_output(option: str, target: Path, runs: list[LoadedRun], inputs: list[Path]) -> None:
    """artifacts.check_output_file with every run's own sources (run_inputs) among the inputs."""
    check_output_file(option, target, [*inputs, *(p for run in runs for p in run_inputs(run))])


def recorded_data_hash(run: LoadedRun) -> tuple[str | None, str]:
    """The hash of the data the run was trained on, and the file recording it: summary.json's, else
    (summary.json missing, or `{}`) checkpoint.npz's. Both present and different: the run is damaged."""
    info = checkpoint_info(run.path)
    checkpoint_hash = info.data_sha256 if info is not None else None
    summary_hash = run.summary.data_sha256
    if summary_hash is not None and checkpoint_hash is not None and summary_hash != checkpoint_hash:
        raise ArtifactError(
            f"{run.path / 'summary.json'}: data_sha256 {summary_hash[:12]}... is not the "
            f"{checkpoint_hash[:12]}... that {run.path / CHECKPOINT_NAME} records (a file of another run?)"
        )
    if summary_hash is not None:
        return summary_hash, runfiles.SUMMARY.name
    return checkpoint_hash, CHECKPOINT_NAME


def run_params_for(
    run: LoadedRun, loaded: LoadedConfig, data: Dataset, dims: tuple[int, int, int], base_dir: Path | None
) -> Params:
    """The run's weights, if they were trained on this data (its recorded hash) and fit these shapes
    (D_x, D_h, N_c); `base_dir`: where the config's relative CSV path is resolved."""
    source = str(loaded.path or "config")
    expected = param_shapes(*dims)
    for name, shape in expected.items():
        got = tuple(np.shape(run.model.params[name]))
        if got != shape:
            raise ArtifactError(
                f"{run.path / runfiles.MODEL.name}: {name} has shape {got}, but {source} gives {shape} "
                f"(D_x={dims[0]}, model.hidden={dims[1]}, N_c={dims[2]}); pass the run's own config"
            )
    current = fingerprint(loaded.config.data, data, base_dir)
    recorded, where = recorded_data_hash(run)
    check_unchanged(recorded, current, run.path, where, source)
    return run.params


def target_column(config: Config) -> str:
    """The label column of a CSV to evaluate: data.target for CSV runs, 'target' for built-in datasets."""
    return config.data.target or "target"


def rebuild_dataset(run: LoadedRun) -> Dataset:
    """The run's train/val/test split, rebuilt from its config and seed, checked against the model.

    The data's hash must be the one summary.json (or, without it, checkpoint.npz) records. The scaler
    is also refit on the rebuilt training rows; if it (or the classes) differ from the saved model's,
    the data changed since training and the rebuilt split would not be the run's.
    """
    csv_path = run.config.data.path
    if run.config.data.dataset == "csv" and csv_path and not Path(csv_path).exists():
        raise ArtifactError(
            f"{run.path / 'config.yaml'}: data.path {csv_path!r} not found from {Path.cwd()} (moved or "
            "deleted since training? score another CSV with the same columns)"
        )
    data = load_dataset(run.config.data, run.config.seed, base_dir=run.path)
    current = fingerprint(run.config.data, data, run.path)
    recorded, where = recorded_data_hash(run)
    check_unchanged(recorded, current, run.path, where, run.path / runfiles.CONFIG.name)
    same = data_matches_model(data, run.model)
    if not same:
        raise ArtifactError(
            f"{run.path / 'config.yaml'}: the data rebuilt from this config no longer matches "
            f"{run.path / 'model.npz'} (has {data.name} changed since training?)"
        )
    return data


def data_matches_model(data: Dataset, model: SavedModel) -> bool:
    """The classes, scaler and feature names a model was saved with, refit from `data`: the same?"""
    return (
        [str(c) for c in data.classes] == [str(c) for c in model.classes]
        and np.array_equal(data.scaler_mean, model.scaler_mean)
        and np.array_equal(data.scaler_scale, model.scaler_scale)
        and data.feature_names == model.feature_names
        and data.scaling == model.scaling
    )
