"""Raw YAML values -> a Config: type conversion, ranges and the checks that span several keys.

Errors are one line naming the source (the file, or the override) and the dotted key, e.g.
``configs/x.yaml: optim.lr must be > 0 (got -1)``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from nnapp.config.schema import Config, OptimConfig
from nnapp.errors import ConfigError

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


# keys an earlier nnapp read, and what says the same now
RENAMED_KEYS = {"data.standardize": "; it is now data.scaling: standard (for true) or none (for false)"}


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
            hint = RENAMED_KEYS.get(dotted, hint)
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
    _check_csv_marks(d.delimiter, d.decimal, d.thousands, where)
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


def _check_csv_marks(
    delimiter: str | None, decimal: str | None, thousands: str | None, where: typing.Callable[[str], str]
) -> None:
    """The CSV's separator, decimal mark and thousands separator: one character each, all different."""
    for key, mark in (("data.delimiter", delimiter), ("data.thousands", thousands)):
        if mark is not None and (len(mark) != 1 or mark in '"\r\n' or mark.isalnum()):
            raise ConfigError(
                f"{where(key)}: {key} must be one character, not a letter, digit, quote or line end "
                f"(got {mark!r})"
            )
    if thousands is not None and thousands == decimal:
        raise ConfigError(
            f"{where('data.thousands')}: data.thousands and data.decimal must differ (both {decimal!r})"
        )
    if delimiter is not None and delimiter in (decimal, thousands):
        raise ConfigError(
            f"{where('data.delimiter')}: data.delimiter {delimiter!r} is also the decimal mark or the "
            "thousands separator"
        )


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


def build_config(raw: dict[str, Any], where: typing.Callable[[str], str]) -> Config:
    """The Config a raw mapping describes, every key converted and checked; `where(key)` names the source."""
    cfg = _build(Config, raw, "", where)
    _cross_checks(cfg, where)
    return cfg
