"""Reading a config: bounded YAML that refuses duplicate keys, KEY=VALUE overrides, the resolved dump."""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nnapp.config.schema import Config
from nnapp.config.validate import build_config
from nnapp.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in first_line:  # the error's position is the second definition; name the first one too
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first defined at line {first_line[key]})",
                key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line + 1
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

    return build_config(raw, where), raw


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
