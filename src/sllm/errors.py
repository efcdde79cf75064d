"""User-facing errors: one clear line, mapped to an exit code by the CLI."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SllmError(Exception):
    """A failure the user can act on (exit code 1): names what failed and where."""

    exit_code = 1


class UsageError(SllmError):
    """Bad usage: an unknown name, an invalid option value (exit code 2)."""

    exit_code = 2


class NotSupportedError(SllmError):
    """The chosen backend cannot serve this request type."""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UsageError:
    """Build the error for an unknown registry name, listing the closest known names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
    return UsageError(f"unknown {kind} '{name}'; {hint}")


class SllmWarning(UserWarning):
    """Something the user should know that does not stop the work; the CLI prints it as one line."""


def warn(message: str) -> None:
    """Tell the user once, as one line on stderr (through `warnings`, so library users can filter)."""
    import warnings

    warnings.warn(message, SllmWarning, stacklevel=3)
