"""Exceptions raised by vmllm.

Every error is a :class:`VmllmError` and also the standard exception a caller would expect, so
``except KeyError`` catches an unknown page id and ``except OSError`` catches a storage failure.
"""

from __future__ import annotations

__all__ = [
    "VmllmError",
    "PageNotFoundError",
    "StorageError",
    "BackendUnavailableError",
    "InvalidArgumentError",
    "CapacityError",
]


class VmllmError(Exception):
    """Base class of every error vmllm raises."""


class PageNotFoundError(VmllmError, KeyError):
    """A page id (or document id) that the store does not hold."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class StorageError(VmllmError, OSError):
    """The store could not be read or written (permissions, disk, a corrupt file)."""


class BackendUnavailableError(VmllmError, ConnectionError):
    """A remote backend (Redis, an HTTP endpoint) could not be reached in time."""


class InvalidArgumentError(VmllmError, ValueError):
    """Bad input: malformed ids, invalid UTF-8, malformed JSON, out-of-range options."""


class CapacityError(VmllmError, RuntimeError):
    """The request cannot fit: e.g. pinned pages leave no room in the L1 budget."""
