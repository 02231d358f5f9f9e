"""Checkpoints: the whole `TrainState` in one atomically written, byte-stable `checkpoint.npz`.

Arrays (parameters, velocity, best weights, the metric history) are stored as .npy entries, so they
come back bit for bit; everything else (epoch, schedule and early-stopping counters, the two RNG
states, the gradient-check records, where the run came from) is one JSON string inside the same
archive. One file means one rename: a crash leaves the previous checkpoint or the new one, never a mix.

Writes are throttled (`CheckpointWriter.interval`): with epochs of a millisecond, saving after each
one would cost more than training. The writer keeps an in-memory copy of the state after every epoch
and writes it when `interval` seconds have passed, and always at the end (`flush`), so an interrupted
run keeps its last full epoch and a killed one loses at most `interval` seconds of work.

Neither the copy nor the encoding grows with the run's history (measured: a 3000-epoch run spent a fifth
of its time re-encoding it): the records are frozen and the history and checks only grow, so the writer
encodes each record once, as it arrives (`_Encoded`), keeps only how many of them belong to the copied
state (`_Capture`), and a write joins the pieces it already has. The file itself still holds the whole
history, so a write's bytes grow with it (2 MB, 3-7 ms of CPU after 3000 iris epochs): writes are spaced
at least 1/MAX_WRITE_SHARE times the last one's duration apart, so that however long the history, they
take at most that share of the run (a killed run then loses at most that many write times of work).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nnapp.core.optim import ScheduleState
from nnapp.errors import ArtifactError
from nnapp.rundir import artifacts, files, runfiles
from nnapp.rundir import checkpoint_fields as fields
from nnapp.training.records import (
    METRIC_COLUMNS,
    Callback,
    EpochRecord,
    GradcheckRecord,
    TrainResult,
    TrainState,
)

CHECKPOINT_NAME = runfiles.CHECKPOINT.name
DEFAULT_INTERVAL = 0.5  # seconds between checkpoint writes when epochs are faster than that
MAX_WRITE_SHARE = 0.05  # of the time between periodic writes spent writing (binds once a write takes 25 ms)


@dataclass(frozen=True)
class RunInfo:
    """Where a run came from, kept in its checkpoint so that `--resume` can rebuild the same data."""

    config_path: str | None  # absolute path of the config it was started from (CSV paths are relative to it)
    overrides: tuple[str, ...] = ()
    started_at: str = ""
    cwd: str | None = None  # the working directory it started in (CSV paths may be relative to it)
    data_sha256: str | None = None  # fingerprint.DataFingerprint of what it trains on (a checkpoint needs it)
    data_source: str | None = None
    run_key: str | None = None  # artifacts.run_key of the run's config (a checkpoint needs it)


@dataclass
class Checkpoint:
    state: TrainState
    info: RunInfo
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Capture:
    """What a checkpoint holds of a `TrainState` after one epoch. The vectors are copies (into buffers
    reused from epoch to epoch), the RNG states plain values; of the history and the checks, which
    training only appends to and whose records are frozen, only how many belong to this epoch."""

    flat: np.ndarray
    velocity: np.ndarray
    best_flat: np.ndarray | None
    sgd_steps: int
    schedule: ScheduleState
    shuffle_rng: Mapping[str, Any]
    check_rng: Mapping[str, Any]
    epoch: int
    best_score: float
    best_epoch: int
    bad_epochs: int
    n_history: int
    n_checks: int


def _capture(state: TrainState, reuse: _Capture | None = None) -> _Capture:
    """`state` as a checkpoint needs it, independent of it: O(parameters), whatever the history's length."""

    def copied(source: np.ndarray | None, name: str) -> np.ndarray | None:
        buffer = None if reuse is None else getattr(reuse, name)
        if source is None:
            return None
        if buffer is None or buffer.shape != source.shape or buffer.dtype != source.dtype:
            return source.copy()
        np.copyto(buffer, source)
        return buffer

    flat, velocity = copied(state.flat, "flat"), copied(state.sgd.velocity, "velocity")
    assert flat is not None and velocity is not None
    return _Capture(
        flat=flat,
        velocity=velocity,
        best_flat=copied(state.best_flat, "best_flat"),
        sgd_steps=state.sgd.steps,
        schedule=replace(state.schedule),
        shuffle_rng=state.shuffle_rng.bit_generator.state,  # a new dict of plain ints at each call
        check_rng=state.check_rng.bit_generator.state,
        epoch=state.epoch,
        best_score=state.best_score,
        best_epoch=state.best_epoch,
        bad_epochs=state.bad_epochs,
        n_history=len(state.history),
        n_checks=len(state.checks),
    )


class _Encoded:
    """Each record of a run's history and checks, encoded once, as it arrives: its row of the checkpoint's
    history array, its line of metrics.csv, its JSON text. A write joins the first n of each."""

    def __init__(self) -> None:
        self.rows = np.zeros((0, len(METRIC_COLUMNS)), dtype=np.float64)  # capacity doubles as it fills
        self.metric_lines: list[str] = []
        self.check_texts: list[str] = []
        self.metrics_header = artifacts.csv_line(METRIC_COLUMNS)

    def extend(self, history: list[EpochRecord], checks: list[GradcheckRecord]) -> None:
        """Encode the records appended since the last call (both lists only ever grow)."""
        done = len(self.metric_lines)
        if len(history) > len(self.rows):
            grown = np.zeros((max(len(history), 2 * len(self.rows), 64), len(METRIC_COLUMNS)))
            grown[:done] = self.rows[:done]
            self.rows = grown
        for k, record in enumerate(history[done:], start=done):
            values = record.row().values()
            self.rows[k] = [float(v) for v in values]
            self.metric_lines.append(artifacts.csv_line(values))
        self.check_texts.extend(
            json.dumps(_check_to_json(c), default=_plain) for c in checks[len(self.check_texts) :]
        )

    def metrics_text(self, n: int) -> str:
        """metrics.csv of the first n epochs: csv_text(METRIC_COLUMNS, rows), from rows encoded once."""
        return self.metrics_header + "".join(self.metric_lines[:n])


def _archive(saved: _Capture, encoded: _Encoded, info: RunInfo) -> bytes:
    arrays: dict[str, np.ndarray] = {
        "flat": saved.flat,
        "velocity": saved.velocity,
        "history": encoded.rows[: saved.n_history],
    }
    if saved.best_flat is not None:
        arrays["best_flat"] = saved.best_flat
    checks = "[" + ", ".join(encoded.check_texts[: saved.n_checks]) + "]"
    fields = {
        "metric_columns": list(METRIC_COLUMNS),
        "epoch": saved.epoch,
        "sgd_steps": saved.sgd_steps,
        "schedule": asdict(saved.schedule),
        "shuffle_rng": saved.shuffle_rng,
        "check_rng": saved.check_rng,
        "best_score": saved.best_score,
        "best_epoch": saved.best_epoch,
        "bad_epochs": saved.bad_epochs,
        "checks": None,  # its text is joined from the encoded records
        "info": asdict(info),
    }
    # json.dumps(fields) written piece by piece (its default separators), so that the checks, the one
    # part that grows, are not encoded again. json writes floats with repr (shortest round-trip form)
    # and inf as Infinity: values come back exact.
    text = ", ".join(
        f"{json.dumps(key)}: {checks if key == 'checks' else json.dumps(value, default=_plain)}"
        for key, value in fields.items()
    )
    arrays["state_json"] = np.asarray("{" + text + "}")
    return artifacts.arrays_to_npz_bytes(arrays)


def checkpoint_bytes(state: TrainState, info: RunInfo) -> bytes:
    encoded = _Encoded()
    encoded.extend(state.history, state.checks)
    return _archive(_capture(state), encoded, info)


def save_checkpoint(run_dir: Path, state: TrainState, info: RunInfo) -> None:
    files.write(Path(run_dir) / CHECKPOINT_NAME, checkpoint_bytes(state, info))


class _Damage(Exception):
    """A field of the checkpoint that nnapp cannot have written; its message names the field."""


def _fields(value: Any, types: Mapping[str, tuple[type, ...]], where: str) -> dict[str, Any]:
    """`value` as a JSON object holding exactly `types`' keys, each of one of its types (a JSON true
    is not a number, NaN is no value nnapp writes but where a float may be infinite)."""
    if not isinstance(value, dict) or set(value) != set(types):
        raise _Damage(f"{where} does not hold the fields nnapp writes")
    for key, allowed in types.items():
        item = value[key]
        if (isinstance(item, bool) and bool not in allowed) or not isinstance(item, allowed):
            raise _Damage(f"{where}.{key} holds {json.dumps(item)[:40]}, not what nnapp writes there")
        if isinstance(item, float) and math.isnan(item):
            raise _Damage(f"{where}.{key} is NaN")
        if isinstance(item, int) and not isinstance(item, bool) and item < 0 and float not in allowed:
            raise _Damage(f"{where}.{key} is negative")
    return value


def load_checkpoint(run_dir: str | Path) -> Checkpoint:
    """Read RUN_DIR/checkpoint.npz, every field checked; any damage is a one-line ArtifactError."""
    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT_NAME
    if run_dir.exists() and not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: not a directory (--resume takes a run directory, not a file)")
    if not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: no such run directory")
    if not path.exists():
        raise ArtifactError(
            f"{path}: no checkpoint here (the run stopped before its first epoch was saved, "
            "or this is not an nnapp run directory)"
        )
    arrays = files.read_npz(path, fields.CHECKPOINT_ARRAYS, "checkpoint")
    try:
        s = json.loads(str(arrays["state_json"]))
        state, info = fields.decode_state(arrays, fields.fields(s, fields.STATE_TYPES, "state"))
    except ArtifactError:
        raise
    except fields.Damage as exc:
        raise ArtifactError(f"{path}: damaged checkpoint ({exc})") from None
    except Exception as exc:  # JSON, RNG state and value errors: "not a checkpoint we wrote"
        raise ArtifactError(f"{path}: not a readable nnapp checkpoint ({exc.__class__.__name__})") from None
    fields.check_consistent(state, path)
    run_info = RunInfo(
        info["config_path"],
        tuple(info["overrides"]),
        info["started_at"],
        info["cwd"],
        info["data_sha256"],
        info["data_source"],
        info["run_key"],
    )
    return Checkpoint(state, run_info, s)


def _check_consistent(state: TrainState, path: Path) -> None:
    vectors = [state.flat, state.sgd.velocity, *([] if state.best_flat is None else [state.best_flat])]
    if (
        any(v.shape != state.flat.shape or v.dtype != state.flat.dtype for v in vectors)
        or len(state.history) != state.epoch + 1
        or any(r.epoch != k for k, r in enumerate(state.history))
    ):
        raise ArtifactError(f"{path}: inconsistent checkpoint (parameters, velocity and history disagree)")


class Companion(Protocol):
    """A file kept in lockstep with the checkpoint (snapshots.npz, TensorBoard's events): flushed just
    before each checkpoint write, never ahead of it. A crash between the two leaves the companion ahead
    by at most the epochs since the previous checkpoint; a resume (`Callback.on_begin`) drops those, so
    no epoch is ever in it twice and none that the checkpoint holds is missing."""

    def flush(self, epoch: int) -> None:
        """Write what it holds of epochs up to `epoch` (the checkpoint about to be written), none later."""


class CheckpointWriter(Callback):
    """Keeps the state after each epoch and writes it (plus metrics.csv so far) at most every `interval` s
    (and further apart when writes take longer than MAX_WRITE_SHARE of that), and at the end of training
    (`on_end`). List it after its companions' callbacks: they then hold the epochs it writes."""

    def __init__(
        self,
        run_dir: Path,
        info: RunInfo,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,  # a test passes a fake one: no timed tests
        companions: Sequence[Companion] = (),
        final_metrics: bool = True,
    ) -> None:
        """`companions`: flushed to the epoch of each checkpoint write, just before it. `final_metrics`
        False: the end of training writes the checkpoint only (the caller writes the final metrics.csv)."""
        self.run_dir, self.info, self.interval, self.clock = Path(run_dir), info, interval, clock
        self.companions, self.final_metrics = tuple(companions), final_metrics
        self.encoded = _Encoded()
        self.saved: _Capture | None = None  # the last full epoch; its buffers are reused for the next
        self.pending = False  # `saved` is not written yet
        self.last_write = -math.inf
        self.gap = interval  # seconds from one periodic write to the next

    def on_epoch_done(self, state: TrainState) -> None:
        self.encoded.extend(state.history, state.checks)
        # a copy, not the live state: the final flush comes after training returns, when the parameters,
        # the RNGs and the checks may have gone past the last full epoch (a partial epoch, the final check)
        self.saved, self.pending = _capture(state, self.saved), True
        if self.clock() - self.last_write >= self.gap:
            self.flush()

    def on_end(self, result: TrainResult) -> None:
        """The last full epoch, whatever stopped the run (a partial epoch is neither saved nor lost)."""
        self.flush(metrics=self.final_metrics)

    def metrics_csv(self, history: list[EpochRecord]) -> str:
        """metrics.csv of `history`: the history the writer has seen, and any records after it (the
        last one of a run stopped before its epoch was done: divergence, a failed check)."""
        self.encoded.extend(history, [])
        return self.encoded.metrics_text(len(history))

    def flush(self, metrics: bool = True) -> None:
        """Write the last full epoch's state, if not written yet (call when training returns).

        `metrics=False`: the checkpoint only, when the caller writes the final metrics.csv itself."""
        if not self.pending or self.saved is None:
            return
        started = self.clock()
        for companion in self.companions:
            companion.flush(self.saved.epoch)
        files.write(self.run_dir / CHECKPOINT_NAME, _archive(self.saved, self.encoded, self.info))
        if metrics:
            files.write_run_text(
                self.run_dir / runfiles.METRICS.name, self.encoded.metrics_text(self.saved.n_history)
            )
        self.pending, self.last_write = False, self.clock()
        self.gap = max(self.interval, (self.last_write - started) / MAX_WRITE_SHARE)


# ----------------------------------------------------------------------------------------- encoding


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _check_to_json(record: GradcheckRecord) -> dict[str, Any]:
    return {"epoch": record.epoch, "when": record.when, "report": asdict(record.report)}
