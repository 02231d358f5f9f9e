"""checkpoint.npz read back: the entries and JSON fields it holds, each with the types nnapp writes there,
decoded into a TrainState only once every field has been checked (a tampered checkpoint is one line,
before a resume writes anything)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnapp.core.gradcheck import DirectionalCheck, GradcheckReport, TensorCheck
from nnapp.core.optim import ScheduleState, SGDState
from nnapp.errors import ArtifactError
from nnapp.rundir import files
from nnapp.training.records import METRIC_COLUMNS, EpochRecord, GradcheckRecord, TrainState

_NUMBER = (int, float)
CHECKPOINT_ARRAYS = {  # the .npy entries; the rest is state_json, checked field by field below
    "flat": files.Entry("f", ndim=1, finite=True),  # training only saves finite parameters
    "velocity": files.Entry("f", ndim=1),
    "history": files.Entry("f", ndim=2),
    "best_flat": files.Entry("f", ndim=1, finite=True, required=False),
    "state_json": files.Entry("U", ndim=0),
}
STATE_TYPES: dict[str, tuple[type, ...]] = {  # state_json's fields and the JSON types each holds
    "metric_columns": (list,),
    "epoch": (int,),
    "sgd_steps": (int,),
    "schedule": (dict,),
    "shuffle_rng": (dict,),
    "check_rng": (dict,),
    "best_score": _NUMBER,
    "best_epoch": (int,),
    "bad_epochs": (int,),
    "checks": (list,),
    "info": (dict,),
}
SCHEDULE_TYPES = {"lr": _NUMBER, "best": _NUMBER, "bad_epochs": (int,)}
INFO_TYPES: dict[str, tuple[type, ...]] = {
    "config_path": (str, type(None)),
    "overrides": (list,),
    "started_at": (str,),
    "cwd": (str, type(None)),
    "data_sha256": (str,),
    "data_source": (str, type(None)),
    "run_key": (str,),
}
CHECK_TYPES = {"epoch": (int,), "when": (str,), "report": (dict,)}
REPORT_TYPES = {
    "tensors": (list,),
    "directional": (dict, type(None)),
    "eps": _NUMBER,
    "tol": _NUMBER,
    "fail": _NUMBER,
    "rows": (int,),
}
TENSOR_TYPES = {
    "name": (str,),
    "checked": (int,),
    "kinks": (int,),
    "max_error": _NUMBER,
    "worst_index": (list, type(None)),
    "verdict": (str,),
    "unresolved": (int,),
    "noise": _NUMBER,
    "nonfinite": (int,),
}
DIRECTIONAL_TYPES = {
    "analytic": _NUMBER,
    "numeric": _NUMBER,
    "error": _NUMBER,
    "kink": (bool,),
    "verdict": (str,),
    "noise": _NUMBER,
}


class Damage(Exception):
    """A field of the checkpoint that nnapp cannot have written; its message names the field."""


def fields(value: Any, types: Mapping[str, tuple[type, ...]], where: str) -> dict[str, Any]:
    """`value` as a JSON object holding exactly `types`' keys, each of one of its types (a JSON true
    is not a number, NaN is no value nnapp writes but where a float may be infinite)."""
    if not isinstance(value, dict) or set(value) != set(types):
        raise Damage(f"{where} does not hold the fields nnapp writes")
    for key, allowed in types.items():
        item = value[key]
        if (isinstance(item, bool) and bool not in allowed) or not isinstance(item, allowed):
            raise Damage(f"{where}.{key} holds {json.dumps(item)[:40]}, not what nnapp writes there")
        if isinstance(item, float) and math.isnan(item):
            raise Damage(f"{where}.{key} is NaN")
        if isinstance(item, int) and not isinstance(item, bool) and item < 0 and float not in allowed:
            raise Damage(f"{where}.{key} is negative")
    return value


def decode_state(arrays: Mapping[str, np.ndarray], s: dict[str, Any]) -> tuple[TrainState, dict[str, Any]]:
    """The TrainState of a checkpoint's arrays and state_json (`s`, its fields checked by STATE_TYPES),
    and its run record checked by INFO_TYPES; Damage naming the first field nnapp cannot have written."""
    if s["metric_columns"] != list(METRIC_COLUMNS):
        raise Damage("metric_columns are not this nnapp's")
    schedule = fields(s["schedule"], SCHEDULE_TYPES, "schedule")
    # 0 is one: a cosine schedule ends its last epoch at optim.min_lr, 0 by default
    if not (math.isfinite(schedule["lr"]) and schedule["lr"] >= 0):
        raise Damage(f"schedule.lr {schedule['lr']} is not a learning rate")
    if not s["best_epoch"] <= s["epoch"]:
        raise Damage(f"best_epoch {s['best_epoch']} is after epoch {s['epoch']}")
    info = fields(s["info"], INFO_TYPES, "info")
    if not all(isinstance(o, str) for o in info["overrides"]):
        raise Damage("info.overrides is not a list of strings")
    state = TrainState(
        flat=arrays["flat"],
        sgd=SGDState(velocity=arrays["velocity"], steps=s["sgd_steps"]),
        schedule=ScheduleState(
            lr=float(schedule["lr"]), best=float(schedule["best"]), bad_epochs=schedule["bad_epochs"]
        ),
        shuffle_rng=rng(s["shuffle_rng"]),
        check_rng=rng(s["check_rng"]),
        epoch=s["epoch"],
        best_flat=arrays.get("best_flat"),
        best_score=float(s["best_score"]),
        best_epoch=s["best_epoch"],
        bad_epochs=s["bad_epochs"],
        history=[record(row) for row in arrays["history"]],
        checks=[check_from_json(c) for c in s["checks"]],
    )
    return state, info


def check_consistent(state: TrainState, path: Path) -> None:
    vectors = [state.flat, state.sgd.velocity, *([] if state.best_flat is None else [state.best_flat])]
    if (
        any(v.shape != state.flat.shape or v.dtype != state.flat.dtype for v in vectors)
        or len(state.history) != state.epoch + 1
        or any(r.epoch != k for k, r in enumerate(state.history))
    ):
        raise ArtifactError(f"{path}: inconsistent checkpoint (parameters, velocity and history disagree)")


def rng(state: Mapping[str, Any]) -> np.random.Generator:
    if state.get("bit_generator") != "PCG64":
        raise ValueError("unknown bit generator")
    bit_generator = np.random.PCG64(0)  # a fixed seed skips gathering OS entropy; the state replaces it
    bit_generator.state = {  # PCG64's state, field by field (also how its shape is checked)
        "bit_generator": "PCG64",
        "state": {"state": state["state"]["state"], "inc": state["state"]["inc"]},
        "has_uint32": state["has_uint32"],
        "uinteger": state["uinteger"],
    }
    return np.random.Generator(bit_generator)


def record(row: np.ndarray) -> EpochRecord:
    if len(row) != len(METRIC_COLUMNS):
        raise ValueError(f"{len(row)} values for {len(METRIC_COLUMNS)} metric columns")
    epoch, *metrics = (float(v) for v in row)
    return EpochRecord(int(epoch), *metrics)


def check_from_json(d: Any) -> GradcheckRecord:
    d = fields(d, CHECK_TYPES, "checks[]")
    r = fields(d["report"], REPORT_TYPES, "checks[].report")
    tensors = []
    for t in r["tensors"]:
        t = fields(t, TENSOR_TYPES, "checks[].report.tensors[]")
        index = t["worst_index"]
        if index is not None and not all(isinstance(i, int) and not isinstance(i, bool) for i in index):
            raise Damage("checks[].report.tensors[].worst_index is not a list of integers")
        tensors.append(TensorCheck(**{**t, "worst_index": None if index is None else tuple(index)}))
    directional = None
    if r["directional"] is not None:
        directional = DirectionalCheck(
            **fields(r["directional"], DIRECTIONAL_TYPES, "checks[].report.directional")
        )
    report = GradcheckReport(tensors, directional, eps=r["eps"], tol=r["tol"], fail=r["fail"], rows=r["rows"])
    return GradcheckRecord(d["epoch"], d["when"], report)
