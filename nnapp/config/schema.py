"""The experiment config's typed, frozen dataclasses: every key, its default and its allowed range.

Every key has a default, so a config states only what differs. The ranges in each field's metadata are
enforced by nnapp.config.validate when a config is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Scaling = Literal["standard", "minmax", "maxabs", "none"]
SCALING_KINDS: tuple[str, ...] = get_args(Scaling)


def _meta(**constraints: Any) -> dict[str, Any]:
    return constraints


@dataclass(frozen=True)
class EarlyStoppingConfig:
    monitor: Literal["val_loss", "val_acc"] = "val_loss"
    patience: int = field(default=20, metadata=_meta(ge=0, note="0 turns early stopping off"))
    min_delta: float = field(default=0.0, metadata=_meta(ge=0))


@dataclass(frozen=True)
class DataConfig:
    dataset: Literal[
        "iris",
        "wine",
        "breast_cancer",
        "digits",
        "moons",
        "circles",
        "blobs",
        "spiral",
        "xor",
        "gauss",
        "csv",
    ] = "iris"
    path: str | None = None
    target: str | None = None
    features: list[str] | None = None
    categorical: list[str] | Literal["auto"] = field(
        default_factory=list, metadata=_meta(note="columns to one-hot encode; auto: every text column")
    )
    drop: list[str] = field(default_factory=list, metadata=_meta(note="CSV columns never used as features"))
    missing: Literal["error", "drop"] = "error"
    delimiter: str | None = field(default=None, metadata=_meta(note="None: sniffed from , ; tab |"))
    decimal: Literal[".", ","] | None = field(
        default=None, metadata=_meta(note="None: '.', or ',' where a column reads only that way")
    )
    thousands: str | None = field(default=None, metadata=_meta(note="e.g. ',' reads '3,504' as 3504"))
    test_size: float = field(default=0.2, metadata=_meta(gt=0, lt=1))
    val_size: float = field(default=0.2, metadata=_meta(gt=0, lt=1))
    # how features are put on a common scale, fit on the training rows only, as (x - offset) / scale:
    # standard (mean, standard deviation), minmax (min, max - min), maxabs (0, max |x|), none (0, 1)
    scaling: Scaling = "standard"
    n_samples: int = field(default=500, metadata=_meta(ge=10, le=10_000_000))
    # spread of generated points around shapes of size ~1: beyond 1000 it is pure noise (1e308 overflows)
    noise: float = field(default=0.2, metadata=_meta(ge=0, le=1000))
    n_features: int = field(default=2, metadata=_meta(ge=1, le=100_000))
    centers: int = field(default=3, metadata=_meta(ge=2, le=1000))


@dataclass(frozen=True)
class ModelConfig:
    # no upper bound here: nnapp.data.preflight refuses what the machine cannot hold, with the estimate
    hidden: int = field(default=32, metadata=_meta(ge=1))
    init: Literal["he", "glorot"] = "he"
    dtype: Literal["float64", "float32"] = "float64"


@dataclass(frozen=True)
class OptimConfig:
    lr: float = field(default=0.1, metadata=_meta(gt=0))
    momentum: float = field(default=0.9, metadata=_meta(ge=0, lt=1))
    nesterov: bool = False
    weight_decay: float = field(default=0.0, metadata=_meta(ge=0))
    schedule: Literal["constant", "step", "cosine", "invscaling", "plateau"] = "constant"
    step_every: int = field(default=30, metadata=_meta(ge=1, note="epochs between decays (step)"))
    decay: float = field(default=0.5, metadata=_meta(gt=0, lt=1, note="lr factor (step, plateau)"))
    power_t: float = field(default=0.5, metadata=_meta(gt=0, note="lr0 / (epoch+1)^power_t (invscaling)"))
    plateau_patience: int = field(default=5, metadata=_meta(ge=1))
    min_lr: float = field(default=0.0, metadata=_meta(ge=0))
    clip_norm: float | None = field(default=None, metadata=_meta(gt=0))


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = field(default=100, metadata=_meta(ge=1, le=1_000_000))
    batch_size: int = field(default=32, metadata=_meta(ge=1))
    shuffle: bool = True
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


@dataclass(frozen=True)
class GradcheckConfig:
    every: int = field(default=10, metadata=_meta(ge=0, note="epochs between checks; 0: only at the end"))
    samples: int = field(default=8, metadata=_meta(ge=1, note="training rows used"))
    # 5 per tensor, plus the directional check over every parameter: a wrong formula shows in most
    # coordinates, and 5 halves the cost of 10 (each coordinate is two loss evaluations)
    coords: int | Literal["all"] = field(default=5, metadata=_meta(ge=1, note="per tensor"))
    directional: bool = True
    eps: float = field(default=1e-5, metadata=_meta(gt=0, lt=1))
    tol: float = field(default=1e-6, metadata=_meta(gt=0))
    fail: float = field(default=1e-4, metadata=_meta(gt=0))
    on_fail: Literal["stop", "warn"] = "stop"
    enabled: bool = True


@dataclass(frozen=True)
class OutputConfig:
    dir: str = "runs"
    plots: bool = True
    log_every: int = field(
        default=0, metadata=_meta(ge=0, note="epochs between plain log lines; 0: ~20 lines")
    )
    tensorboard: bool = False  # TensorBoard event files in the run's tensorboard/ (the .[tensorboard] extra)


@dataclass(frozen=True)
class Config:
    name: str = "run"
    seed: int = field(default=0, metadata=_meta(ge=0, le=2**32 - 1))
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    gradcheck: GradcheckConfig = field(default_factory=GradcheckConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
