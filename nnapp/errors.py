"""Errors the library raises for a user's mistake. A leaf: it imports nothing of nnapp.

Each carries a message naming the file, the key or the line; the command line prints it as one
`error:` line and chooses the exit code (2 for all of these).
"""


class NnappError(Exception):
    """A user's mistake (config, override, data, files, resources): one line for the user."""


class ConfigError(NnappError):
    """A config file or an override is malformed, unknown or out of range."""


class DataError(NnappError):
    """A dataset or CSV file cannot be read as the config says."""


class ArtifactError(NnappError):
    """A run directory, or a file in it, is missing, damaged, busy or from other data."""


class ResourceError(NnappError):
    """The run would need more memory than this machine allows."""


class CompareError(NnappError):
    """`compare` cannot run this config against scikit-learn."""


class ChoiceError(DataError):
    """A value is not one of the allowed choices (e.g. a split name). The message names the value
    neutrally; the command line words it with the option the user gave it with."""

    def __init__(self, name: str, value: str, choices: tuple[str, ...]) -> None:
        self.name, self.value, self.choices = name, value, choices
        super().__init__(f"{name} must be one of {', '.join(choices)} (got {value!r})")
