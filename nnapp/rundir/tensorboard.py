"""TensorBoard's event files in RUN_DIR/tensorboard/ (`output.tensorboard: true`, `nnapp export`).

TensorBoard reads the two files of the folder as one run:

- `events.out.tfevents.0.training`, the record of training, one event per epoch: every column of
  metrics.csv as a scalar (rounded to float32, as TensorBoard keeps them), each periodic gradient
  check's max error per tensor (as gradcheck.csv), histograms of W, b1, U, b2 and of their full-data
  gradients at the snapshot epochs and the last one, and the resolved config as text at step 0. It is a
  companion of the checkpoint (`CheckpointWriter(companions=...)`): appended just before each checkpoint
  write with the epochs that checkpoint holds, never later ones, and a resume cuts off whatever a crash
  left past its checkpoint's epoch, so no epoch is ever in it twice.
- `events.out.tfevents.1.outcome`, the run's outcome: the final check, and the hyperparameters with the
  final metrics for TensorBoard's HParams view. Rewritten whole when a run ends; removed when one resumes.

An event file is a sequence of records (uint64 length, its masked CRC-32C, the bytes of an `Event`
protocol buffer, their masked CRC-32C); tensorboardX (the `.[tensorboard]` extra) supplies the protocol
buffers and the checksum. It is imported here only, and only when the option is on.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.config import Config
from nnapp.core import network
from nnapp.errors import ArtifactError, ConfigError
from nnapp.rundir import artifacts, files, runfiles
from nnapp.rundir.snapshots import schedule
from nnapp.rundir.summary import RunSummary
from nnapp.training.records import (
    DIAGNOSTIC_COLUMNS,
    Callback,
    EpochRecord,
    GradcheckRecord,
    TrainResult,
    TrainState,
)

EVENTS_DIR = runfiles.TENSORBOARD.name
TRAINING_EVENTS = "events.out.tfevents.0.training"
OUTCOME_EVENTS = "events.out.tfevents.1.outcome"
INSTALL_HINT = "pip install -e '.[tensorboard]'"
HISTOGRAM_BINS = 30
# metrics.csv's columns as TensorBoard's Scalars tab groups them (by the tag's first part)
SCALAR_TAGS: Mapping[str, str] = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "train_ce": "loss/train_cross_entropy",
    "l2": "loss/l2_penalty",
    "train_acc": "accuracy/train",
    "val_acc": "accuracy/val",
    "lr": "optim/lr",
    "grad_norm": "optim/grad_norm",
    "seconds": "optim/epoch_seconds",
    **{column: f"diagnostics/{column}" for column in DIAGNOSTIC_COLUMNS},
}
GRADCHECK_TAG = "gradcheck/max_error_{}"  # per tensor (W, b1, U, b2, x) and "direction"
FINAL_CHECK_TAG = "gradcheck_final/max_error_{}"
PARAMETERS_TAG, GRADIENTS_TAG = "parameters/{}", "gradients/{}"
CONFIG_TAG = "config"
HPARAM_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "best_epoch")


def available() -> bool:
    """Whether tensorboardX imports (an import, not a look-up: a broken install counts as missing)."""
    try:
        import tensorboardX.proto.event_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def require(available: bool) -> None:
    """Refuse `output.tensorboard: true` (before training) when tensorboardX is not installed."""
    if not available:
        raise ConfigError(
            f"output.tensorboard: true needs tensorboardX, which is not installed: {INSTALL_HINT}"
        )


def events_dir(run_dir: Path) -> Path:
    return Path(run_dir) / EVENTS_DIR


# ------------------------------------------------------------------------------------------ records


def record_bytes(data: bytes) -> bytes:
    """One record of an event file: length, its checksum, the bytes, theirs."""
    from tensorboardX.record_writer import masked_crc32c

    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def read_records(path: Path) -> Iterator[bytes]:
    """The records of an event file, up to the first short or damaged one (a write cut off by a crash)."""
    from tensorboardX.record_writer import masked_crc32c

    blob, at = Path(path).read_bytes(), 0
    while at + 12 <= len(blob):
        header = blob[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        end = at + 12 + length + 4
        if end > len(blob) or struct.unpack("<I", blob[at + 8 : at + 12])[0] != masked_crc32c(header):
            return
        data = blob[at + 12 : end - 4]
        if struct.unpack("<I", blob[end - 4 : end])[0] != masked_crc32c(data):
            return
        yield data
        at = end


def _event(step: int, values: Sequence[Any]) -> Any:
    from tensorboardX.proto.event_pb2 import Event

    event = Event(step=step, wall_time=time.time())
    event.summary.value.extend(values)  # one copy of each value (Event(summary=Summary(...)) made two)
    return event


def _file_version() -> bytes:
    from tensorboardX.proto.event_pb2 import Event

    return record_bytes(Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())


def scalar(tag: str, value: float) -> Any:
    """A scalar value. TensorBoard keeps scalars as float32 (`simple_value`): its default loader shows
    no float64 tensor scalars (checked with TensorBoard 2.21), so metrics.csv's numbers appear rounded to
    float32 there; metrics.csv keeps them whole."""
    from tensorboardX.proto.summary_pb2 import Summary

    return Summary.Value(tag=tag, simple_value=value)


def histograms(tags: Sequence[str], tensors: Sequence[np.ndarray]) -> list[Any]:
    """A histogram value per tensor: np.histogram's HISTOGRAM_BINS equal bins over its values' range, the
    same counts and edges (a tensor of one value, or with a NaN or inf, in one full bin, the last). Every
    tensor's bins are counted by one bincount and each proto is filled in place: per tensor, numpy's and
    protobuf's per-call overheads were most of what the histograms cost a small run."""
    from tensorboardX.proto.summary_pb2 import Summary

    flats = [np.asarray(t, dtype=np.float64).ravel() for t in tensors]
    sizes = [flat.size for flat in flats]
    values = np.concatenate(flats)
    starts = np.cumsum([0, *sizes[:-1]])
    low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
    owner = np.repeat(np.arange(len(flats)), sizes)
    n = HISTOGRAM_BINS
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or inf: not spread, counted below
        span = high - low
        spread = np.isfinite(span) & (span > 0)
        width = np.where(
            spread, span / n, 0.0
        )  # np.linspace's step: edge k is low + k * width, the last high
        limits = low[:, None] + width[:, None] * np.arange(1, n + 1)
        limits[:, -1] = high
        # a span of a few subnormals (0 to 5e-324) has no n increasing edges: np.histogram refuses it ("too
        # many bins"); here it is one full bin, as one value is
        spread &= np.all(np.diff(limits, axis=1, prepend=low[:, None]) > 0, axis=1)
        span = np.where(spread, span, 1.0)
        lo, w = low[owner], width[owner]
        bins = np.where(spread[owner], (values - lo) / span[owner] * n, 0.0).astype(np.intp)
        bins[bins == n] = n - 1  # the maximum closes the last bin
        bins[values < lo + w * bins] -= (
            1  # np.histogram's correction where the division rounds across an edge
        )
        bins[(values >= lo + w * (bins + 1)) & (bins != n - 1)] += 1
    bins[~spread[owner]] = n - 1
    counts = np.bincount(owner * n + bins, minlength=len(flats) * n)
    counts_rows = counts.reshape(len(flats), n).astype(np.float64).tolist()
    limits_rows = limits.tolist()
    chosen = []
    for i, (tag, flat) in enumerate(zip(tags, flats, strict=True)):
        value = Summary.Value(tag=tag)
        histo = value.histo  # filled in place: a HistogramProto passed to Summary.Value is copied
        histo.min, histo.max, histo.num = float(low[i]), float(high[i]), float(flat.size)
        histo.sum, histo.sum_squares = float(flat.sum()), float(flat.dot(flat))
        histo.bucket_limit.extend(limits_rows[i])
        histo.bucket.extend(counts_rows[i])
        chosen.append(value)
    return chosen


def epoch_values(record: EpochRecord) -> list[Any]:
    """metrics.csv's row of the epoch, as `scalar` values."""
    from tensorboardX.proto.summary_pb2 import Summary

    value = Summary.Value  # the import and look-up once per epoch, not per column
    return [
        value(tag=tag, simple_value=float(getattr(record, column))) for column, tag in SCALAR_TAGS.items()
    ]


def check_values(record: GradcheckRecord, template: str = GRADCHECK_TAG) -> list[Any]:
    """The check's max error per tensor (and for the direction), as gradcheck.csv's rows hold them."""
    rows = artifacts.gradcheck_rows([record])
    return [scalar(template.format(row.tensor), float(row.max_error)) for row in rows]


def parameter_values(params: network.Params, grads: network.Params | None) -> list[Any]:
    tags = [PARAMETERS_TAG.format(name) for name in network.PARAM_NAMES]
    tensors = [params[name] for name in network.PARAM_NAMES]
    if grads is not None:
        tags += [GRADIENTS_TAG.format(name) for name in network.PARAM_NAMES]
        tensors += [grads[name] for name in network.PARAM_NAMES]
    return histograms(tags, tensors)


def config_values(config_yaml: str) -> list[Any]:
    from tensorboardX.summary import text

    indented = "\n".join("    " + line for line in config_yaml.splitlines())  # markdown: a code block
    return list(text(CONFIG_TAG, indented).value)


# ------------------------------------------------------------------------------- the training events


@dataclass
class _Pending:
    step: int
    values: list[Any]


class TrainingEvents(Callback):
    """Writes TRAINING_EVENTS as training goes: a training callback and a companion of the checkpoint.

    `dims`: the network's (D_x, D_h, N_c), to name the parts of the flat parameters and gradients."""

    def __init__(self, run_dir: Path, cfg: Config, config_yaml: str, dims: tuple[int, int, int]) -> None:
        self.folder, self.dims, self.config_yaml = events_dir(run_dir), dims, config_yaml
        self.path = self.folder / TRAINING_EVENTS
        self.plan = set(schedule(cfg.train.epochs))  # the histograms' epochs: the snapshots' schedule
        self.pending: list[_Pending] = []
        self.gradient = np.zeros(0)  # the last full-data gradient reported
        self.done_flat = np.zeros(0)  # the parameters and gradient of the last epoch done
        self.done_gradient = np.zeros(0)
        self.done_params: network.Params = {}  # named views of the two, made once (~50 us each)
        self.done_grads: network.Params = {}
        self.drawn = -1  # the last epoch with histograms

    def on_begin(self, state: TrainState) -> None:
        self.folder.mkdir(exist_ok=True)
        (self.folder / OUTCOME_EVENTS).unlink(missing_ok=True)  # a resumed run's outcome is to come
        self.gradient = np.zeros_like(state.flat)
        self.done_flat, self.done_gradient = np.zeros_like(state.flat), np.zeros_like(state.flat)
        self.done_params = network.views(self.done_flat, *self.dims)
        self.done_grads = network.views(self.done_gradient, *self.dims)
        if state.history:
            self.drawn = state.epoch  # its last epoch's histograms, if any, came with its checkpoint
            cut_after(self.path, state.epoch)
        else:
            files.write(self.path, _file_version(), fsync=False)
            self.pending.append(_Pending(0, config_values(self.config_yaml)))

    def on_gradient(self, epoch: int, gradient: np.ndarray) -> None:
        np.copyto(self.gradient, gradient)

    def on_start(self, initial: EpochRecord, chance_loss: float, far_off: bool) -> None:
        self.pending.append(_Pending(0, epoch_values(initial)))

    def on_epoch_end(self, record: EpochRecord, state: TrainState) -> None:
        self.pending.append(_Pending(record.epoch, epoch_values(record)))

    def on_gradcheck(self, record: GradcheckRecord) -> None:
        if record.when == "epoch":  # the final check is the outcome's
            self.pending.append(_Pending(record.epoch, check_values(record)))

    def on_epoch_done(self, state: TrainState) -> None:
        np.copyto(self.done_flat, state.flat)
        np.copyto(self.done_gradient, self.gradient)
        if state.epoch in self.plan:
            self._draw(state.epoch)

    def on_end(self, result: TrainResult) -> None:
        if result.done_epoch > self.drawn:  # the last epoch done, whatever stopped the run
            self._draw(result.done_epoch)

    def _draw(self, epoch: int) -> None:
        self.pending.append(_Pending(epoch, parameter_values(self.done_params, self.done_grads)))
        self.drawn = epoch

    def flush(self, epoch: int) -> None:
        """Append the events of the epochs up to `epoch` (the checkpoint about to be written)."""
        ready = [p for p in self.pending if p.step <= epoch]
        if not ready:
            return
        self.pending = [p for p in self.pending if p.step > epoch]
        blob = b"".join(record_bytes(_event(p.step, p.values).SerializeToString()) for p in ready)
        try:
            with self.path.open("ab") as handle:  # not fsync'ed, as snapshots.npz
                handle.write(blob)
        except OSError as exc:
            raise ArtifactError(f"{self.path}: cannot write ({exc.strerror or exc})") from None


def write_training(folder: Path, epochs: Sequence[tuple[int, list[Any]]]) -> None:
    """FOLDER/TRAINING_EVENTS written whole, from (step, values) in order (`nnapp export`)."""
    blob = b"".join(record_bytes(_event(step, values).SerializeToString()) for step, values in epochs)
    folder.mkdir(parents=True, exist_ok=True)
    files.write(folder / TRAINING_EVENTS, _file_version() + blob)


def cut_after(path: Path, epoch: int) -> None:
    """Keep the events of `path` up to `epoch` (a resume's checkpoint), drop later ones and any record
    cut off by a crash."""
    from tensorboardX.proto.event_pb2 import Event

    if not path.is_file():  # a run started without the option, or the folder removed: start the file
        files.write(path, _file_version(), fsync=False)
        return
    kept = [record_bytes(data) for data in read_records(path) if Event.FromString(data).step <= epoch]
    files.write(path, b"".join(kept) or _file_version(), fsync=False)


# ------------------------------------------------------------------------------------- the outcome


@dataclass(frozen=True)
class Outcome:
    """What the outcome file holds: the final check, and the run's settings and final metrics."""

    hparams: Mapping[str, float | int | str | bool]
    metrics: Mapping[str, float]
    step: int  # epochs trained
    final_check: GradcheckRecord | None


def hparams_of(cfg: Config) -> dict[str, float | int | str | bool]:
    """Every setting of the config as a flat `section.key` table (lists and unset keys left out), the
    same keys for every run, so that the HParams view lines up the runs of any sweep."""
    flat: dict[str, float | int | str | bool] = {}

    def walk(prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                walk(f"{prefix}{key}.", value)
            elif isinstance(value, bool | int | float | str):
                flat[prefix + key] = value

    walk("", cfg.to_dict())
    return flat


def write_outcome(folder: Path, outcome: Outcome) -> None:
    """FOLDER/OUTCOME_EVENTS (a run's `events_dir`), written whole (atomically)."""
    from tensorboardX.summary import hparams

    metrics = {f"hparam/{name}": value for name, value in outcome.metrics.items()}
    experiment, start, end = hparams(dict(outcome.hparams), metrics)
    events = [_event(0, list(summary.value)) for summary in (experiment, start)]
    scalars = [scalar(tag, value) for tag, value in metrics.items()]
    if outcome.final_check is not None:
        scalars += check_values(outcome.final_check, FINAL_CHECK_TAG)
    events += [_event(outcome.step, scalars), _event(outcome.step, list(end.value))]
    blob = _file_version() + b"".join(record_bytes(e.SerializeToString()) for e in events)
    folder.mkdir(parents=True, exist_ok=True)
    files.write(folder / OUTCOME_EVENTS, blob)


def outcome_of(cfg: Config, summary: RunSummary, result: TrainResult) -> Outcome:
    """The outcome of a run from its summary.json and what training returned."""
    metrics = {name: float(getattr(summary, name)) for name in HPARAM_METRICS}
    final = result.checks[-1] if result.checks and result.checks[-1].when == "final" else None
    return Outcome(hparams_of(cfg), metrics, result.state.epoch, final)
