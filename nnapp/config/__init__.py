"""Experiment configs: YAML -> typed, frozen dataclasses, validated once at the edge.

The foundation layer (with nnapp.errors): imports nothing else of nnapp. `schema` holds the dataclasses,
`validate` turns raw values into them, `load` reads files and overrides and writes the resolved dump.
"""

from nnapp.config.load import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_VALUES,
    LoadedConfig,
    apply_override,
    config_from_mapping,
    dump_config,
    load_config,
    parse_override,
    parse_yaml,
)
from nnapp.config.schema import (
    Config,
    DataConfig,
    EarlyStoppingConfig,
    GradcheckConfig,
    ModelConfig,
    OptimConfig,
    OutputConfig,
    TrainConfig,
)
from nnapp.config.validate import MAX_NAME_LENGTH, build_config

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_VALUES",
    "MAX_NAME_LENGTH",
    "Config",
    "DataConfig",
    "EarlyStoppingConfig",
    "GradcheckConfig",
    "LoadedConfig",
    "ModelConfig",
    "OptimConfig",
    "OutputConfig",
    "TrainConfig",
    "apply_override",
    "build_config",
    "config_from_mapping",
    "dump_config",
    "load_config",
    "parse_override",
    "parse_yaml",
]
