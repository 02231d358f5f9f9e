"""Experiment configs: YAML -> typed, frozen dataclasses, validated once at the edge.

Every key has a default, so a config states only what differs. Errors are one line naming the
source (the file, or the override) and the dotted key, e.g.
``configs/x.yaml: optim.lr must be > 0 (got -1)``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from nnapp.errors import ConfigError


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
    categorical: list[str] = field(default_factory=list)
    missing: Literal["error", "drop"] = "error"
    test_size: float = field(default=0.2, metadata=_meta(gt=0, lt=1))
    val_size: float = field(default=0.2, metadata=_meta(gt=0, lt=1))
    standardize: bool = True
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


# ---------------------------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except RecursionError:
        raise ConfigError(f"{source}: YAML error: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source}: YAML error{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML error: {exc}") from None
    except Exception as exc:
        # PyYAML's constructors fail on typed scalars with bare ValueError/TypeError/IndexError
        # (2020-13-01, "!!float abc", "!!int " with no digits, a list as a key): all the user's text
        raise ConfigError(f"{source}: YAML error: {exc.__class__.__name__}: {exc}") from None


# ------------------------------------------------------------------------------------------ validation

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is list:
        return "a list of " + {str: "strings"}.get(get_args(tp)[0], _type_name(get_args(tp)[0]))
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Return the value as type tp, or raise ValueError with the reason (the key is added by the caller)."""
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        if value in choices and type(value) is type(choices[0]):
            return value
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"must be {_type_name(tp)} (got {value!r}){hint}")
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in (o for o in options if o is not type(None)):
            try:
                return _convert(value, option, key)
            except ValueError:
                continue  # the message names every option at once
        raise ValueError(f"must be {_type_name(tp)} (got {value!r})")
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"must be {_type_name(tp)} (got {value!r})")
        return [_convert(v, get_args(tp)[0], key) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _NUMBER_RE.match(value.strip()) and float(value).is_integer():
            return int(float(value))  # "1e3" (PyYAML reads it as a string)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(f"must be a finite number (got {value!r})")
            return float(value)
        if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
            number = float(value)  # "1e-4": PyYAML reads exponents without a dot as strings
            if not math.isfinite(number):  # "1e400" reads as inf: config.yaml would hold .inf
                raise ValueError(f"must be a finite number (got {value!r}, which overflows a float)")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    raise ValueError(f"must be {_type_name(tp)} (got {value!r})")


def _check_range(value: Any, meta: dict[str, Any], written: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for op, bound in meta.items():
        ok = {
            "gt": lambda b: value > b,
            "ge": lambda b: value >= b,
            "lt": lambda b: value < b,
            "le": lambda b: value <= b,
        }.get(op, lambda b: True)(bound)
        if not ok:
            symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
            shown = f"{bound:,}" if isinstance(bound, int) and abs(bound) >= 10_000 else f"{bound:g}"
            raise ValueError(f"must be {symbol} {shown} (got {written!r})")


def _build(cls: Any, raw: Any, prefix: str, where: typing.Callable[[str], str]) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        name = prefix.rstrip(".") or "the config"
        raise ConfigError(f"{where(prefix.rstrip('.'))}: {name} must be a mapping (got {raw!r})")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            dotted = f"{prefix}{key}"
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            known = ", ".join(fields)
            raise ConfigError(f"{where(dotted)}: unknown key '{dotted}'{hint} (known here: {known})")
    values = {}
    for name, f in fields.items():
        if name not in raw:
            continue
        dotted = f"{prefix}{name}"
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, raw[name], dotted + ".", where)
            continue
        try:
            value = _convert(raw[name], tp, dotted)
            bounds = {k: v for k, v in f.metadata.items() if k in ("gt", "ge", "lt", "le")}
            _check_range(value, bounds, written=raw[name])
        except ValueError as exc:
            raise ConfigError(f"{where(dotted)}: {dotted} {exc}") from None
        values[name] = value
    return cls(**values)


MIN_POINTS_PER_ARM = 10  # each arm is split three ways (train/val/test)


def _cross_checks(cfg: Config, where: typing.Callable[[str], str]) -> None:
    d = cfg.data
    if d.test_size + d.val_size >= 1:
        raise ConfigError(
            f"{where('data.val_size')}: data.test_size + data.val_size must be < 1 "
            f"(got {d.test_size} + {d.val_size})"
        )
    if d.dataset == "csv":
        if not d.path:
            raise ConfigError(f"{where('data.path')}: data.path is required when data.dataset is 'csv'")
        if not d.target:
            raise ConfigError(f"{where('data.target')}: data.target is required when data.dataset is 'csv'")
    if d.dataset == "spiral" and d.n_samples < MIN_POINTS_PER_ARM * d.centers:
        raise ConfigError(
            f"{where('data.n_samples')}: a spiral of {d.centers} arms (data.centers) needs data.n_samples >= "
            f"{MIN_POINTS_PER_ARM * d.centers} ({MIN_POINTS_PER_ARM} points per arm; got {d.n_samples})"
        )
    g = cfg.gradcheck
    if g.tol > g.fail:
        raise ConfigError(
            f"{where('gradcheck.tol')}: gradcheck.tol must be <= gradcheck.fail (got {g.tol} > {g.fail})"
        )
    _check_name(cfg.name, where)
    _check_schedule(cfg.optim, cfg.train.epochs, where)


MAX_NAME_LENGTH = 100  # the run directory adds a time stamp, a sweep '-sweep': stay far below NAME_MAX (255)


def _check_name(name: str, where: typing.Callable[[str], str]) -> None:
    """`name` becomes one folder under output.dir: one plain path component, never '.', '..' or a path."""
    if len(name) > MAX_NAME_LENGTH:  # first: the message must not quote a name of a million characters
        raise ConfigError(
            f"{where('name')}: name must be at most {MAX_NAME_LENGTH} characters (got {len(name):,})"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigError(
            f"{where('name')}: name must use only letters, digits, '_', '-' and '.' (got {name!r})"
        )
    if set(name) == {"."}:  # '.' writes runs bare into output.dir, '..' outside it
        raise ConfigError(f"{where('name')}: name must not be only dots (got {name!r}): it names a folder")


_LN_FLOAT_MAX = math.log(1.7976931348623157e308)


def _check_schedule(optim: OptimConfig, epochs: int, where: typing.Callable[[str], str]) -> None:
    """Refuse learning-rate schedules that misbehave over the configured epochs, before any training."""
    if optim.min_lr > optim.lr:  # cosine would rise from lr to min_lr; the others would start at min_lr
        raise ConfigError(
            f"{where('optim.min_lr')}: optim.min_lr must be <= optim.lr (got {optim.min_lr:g} > {optim.lr:g})"
        )
    # invscaling divides by epochs^power_t: past 1.8e308 Python raises OverflowError mid-run
    if optim.schedule == "invscaling" and optim.power_t * math.log(epochs) >= _LN_FLOAT_MAX:
        limit = _LN_FLOAT_MAX / math.log(epochs)
        raise ConfigError(
            f"{where('optim.power_t')}: optim.power_t={optim.power_t:g} overflows the invscaling schedule "
            f"over {epochs:,} epochs (epochs^power_t > 1.8e308); use power_t < {limit:.4g}"
        )


# ------------------------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, Any]:
    """'optim.lr=0.05' -> ('optim.lr', 0.05); the value is read as YAML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise ConfigError(f"override {text!r}: expected KEY=VALUE with a dotted key, e.g. optim.lr=0.05")
    if value.strip() and set(value.strip()) == {"."}:  # YAML reads '...' as a document end marker
        return key, value.strip()  # a string: the rules of its key judge it (name: not only dots)
    return key, parse_yaml(value, f"override {text!r}") if value.strip() else None


def apply_override(raw: dict[str, Any], key: str, value: Any, source: str) -> None:
    node = raw
    parts = key.split(".")
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: {'.'.join(parts[: depth + 1])} is not a mapping")
        node = child
    node[parts[-1]] = value


# ------------------------------------------------------------------------------------------------ load


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path | None
    overrides: tuple[str, ...]
    raw: dict[str, Any]


def config_from_mapping(
    raw: Any, source: str = "config", overrides: typing.Sequence[str] = ()
) -> tuple[Config, dict[str, Any]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the config must be a mapping of keys to values (got {type(raw).__name__})"
        )
    _check_size(raw, source)
    raw = _deep_copy(raw)
    override_keys: dict[str, str] = {}
    for text in overrides:
        key, value = parse_override(text)
        _check_size(value, f"override {text!r}")
        apply_override(raw, key, value, f"override {text!r}")
        override_keys[key] = text

    def where(dotted: str) -> str:
        for key, text in override_keys.items():
            if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                return f"override {text!r}"
        return source

    cfg = _build(Config, raw, "", where)
    _cross_checks(cfg, where)
    return cfg, raw


MAX_CONFIG_BYTES = 2**20  # a real config is about 1 KiB


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> LoadedConfig:
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise ConfigError(f"{source}: is a directory, expected a YAML config file")
    try:
        with path.open("rb") as handle:  # bounded: /dev/zero or a runaway pipe must not fill memory
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{source}: the config is larger than {MAX_CONFIG_BYTES:,} bytes; is this a YAML config file?"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the config ({exc.__class__.__name__}: {exc})") from None
    raw = parse_yaml(text, source)
    if raw is None:
        raise ConfigError(f"{source}: the config file is empty (write at least 'name: ...')")
    cfg, resolved_raw = config_from_mapping(raw, source, overrides)
    return LoadedConfig(_resolve_data_path(cfg, path.parent), path, tuple(overrides), resolved_raw)


def _resolve_data_path(cfg: Config, config_dir: Path) -> Config:
    """A relative CSV path is read from the working directory or, failing that, the config's folder.

    The resolved config (saved as a run's config.yaml) records the absolute path, so that evaluate,
    plot and resume find the data from any directory. A path found nowhere is left for the data
    loader to report.
    """
    path = cfg.data.path
    if cfg.data.dataset != "csv" or path is None or Path(path).is_absolute():
        return cfg
    for base in (Path.cwd(), config_dir):
        if (base / path).is_file():
            return dataclasses.replace(
                cfg, data=dataclasses.replace(cfg.data, path=str((base / path).resolve()))
            )
    return cfg


MAX_CONFIG_VALUES = 10_000  # a real config has about 60; YAML aliases can make a loop or 10^9 of them


def _check_size(raw: Any, source: str) -> None:
    """Refuse self-referencing (`a: &x [*x]`) or alias-bomb YAML before anything walks it recursively."""
    stack, seen = [raw], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_CONFIG_VALUES:
            raise ConfigError(
                f"{source}: the config holds more than {MAX_CONFIG_VALUES} values "
                "(a YAML alias that refers to itself?)"
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _deep_copy(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {k: _deep_copy(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_deep_copy(v) for v in raw]
    return raw


def dump_config(cfg: Config, overrides: typing.Sequence[str] = ()) -> str:
    header = "# resolved nnapp config"
    if overrides:
        header += "\n# overrides: " + " ".join(overrides)
    return header + "\n" + yaml.safe_dump(cfg.to_dict(), sort_keys=False)
