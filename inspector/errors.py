"""The project's exception hierarchy.

User-facing errors (bad config, bad model file, unreachable PLC) derive from
``InspectorError`` and carry a message meant for an operator; the CLI prints it
without a traceback. ``RetryableError`` marks failures that a stage may retry
with backoff (a camera that stopped answering, a PLC link that dropped).
"""

from __future__ import annotations


class InspectorError(Exception):
    """Base of every error the daemon reports to a user."""

    exit_code = 1


class ConfigError(InspectorError):
    """Invalid configuration; ``problems`` lists (key path, reason) pairs."""

    exit_code = 2

    def __init__(self, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        lines = [head] + [f"  {path}: {reason}" for path, reason in self.problems]
        return "\n".join(lines)


class ModelError(InspectorError):
    """A model file that cannot be loaded, or a model that cannot run."""

    exit_code = 2  # like a config error: the file the config names is wrong, a restart cannot help


class UnsafeModelError(ModelError):
    """A model file that asks to execute code while loading; refused."""


class RetryableError(InspectorError):
    """A failure worth retrying after a backoff."""


class SourceError(InspectorError):
    """A camera or image source that cannot be opened or read."""


class SourceUnavailable(SourceError, RetryableError):
    """The source failed now but may come back (disconnect, timeout)."""


class PlcError(InspectorError):
    """A PLC link failure or a Modbus exception reply."""


class PlcUnavailable(PlcError, RetryableError):
    """The PLC link is down or did not answer in time; retry after backoff."""


class UnknownRecipe(InspectorError):
    """A recipe number no recipe of the config has: the active recipe stays."""

    def __init__(self, number: int) -> None:
        super().__init__(f"no recipe has number {number}")
        self.number = number
