"""Errors the library raises for a user's mistake. A leaf: it imports nothing of nnapp.

Each carries a message naming the file, the key or the line; the command line prints it as one
`error:` line and chooses the exit code (2 for all of these).
"""


class NnappError(Exception):
    """A user's mistake (config, override, data, files, resources): one line for the user.

    `option` (with its `value`, if any) names the setting the message is about without the command
    line's spelling: the library says `eps: 'x' is not a number`, the CLI `--eps: 'x' is not a number`.
    """

    def __init__(self, message: str, *, option: str | None = None, value: str | None = None) -> None:
        self.option, self.value, self.detail = option, value, message
        super().__init__(message if option is None else f"{self._named(option)}: {message}")

    def _named(self, option: str) -> str:
        return option if self.value is None else f"{option} {self.value}"

    def worded(self, prefix: str = "--") -> str:
        """The message with its option written as a command-line flag (`--eps`)."""
        return str(self) if self.option is None else f"{self._named(prefix + self.option)}: {self.detail}"


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


class ArgumentError(NnappError, TypeError):
    """A public function of the notebook API was given a value of the wrong kind (a number for a path,
    a string for a list). Also a TypeError, which is what Python code expects of a wrong type."""


class ChoiceError(DataError):
    """A value is not one of the allowed choices (e.g. a split name). The message names the value
    neutrally; the command line words it with the option the user gave it with."""

    def __init__(self, name: str, value: str, choices: tuple[str, ...]) -> None:
        super().__init__(f"{name} must be one of {', '.join(choices)} (got {value!r})")
        self.name, self.value, self.choices = name, value, choices
