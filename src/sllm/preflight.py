"""Checks a command runs before it loads a model, so a typo fails in a second, not after the wait.

Every command that loads a model checks its inputs, options and output paths first: a model
takes from seconds to a minute to load, and an error found after every model call has run
wastes all of it. Each check raises one line naming the flag and the path.
"""

from __future__ import annotations

import os
from pathlib import Path

from sllm.errors import SllmError, UsageError


def writable_file(path: str | Path | None, flag: str) -> None:
    """Raise unless a file can be written at `path` (its folder existing or creatable)."""
    if path is None:
        return
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a folder; give a file name")
    _creatable(path.parent, path, flag)


def writable_dir(path: str | Path | None, flag: str) -> None:
    """Raise unless `path` is a writable folder, or one that can be created."""
    if path is None:
        return
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag}: {path} is a file, not a folder")
    _creatable(path, path, flag)


def _creatable(folder: Path, target: Path, flag: str) -> None:
    """The nearest existing folder above `target` must be a folder we may write into."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag}: cannot create {target}: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag}: cannot write {target}: {existing} is not writable")


def input_file(path: str | Path | None, flag: str) -> None:
    """Raise unless `path` is an existing file."""
    if path is None:
        return
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "file not found"
        raise SllmError(f"{flag}: {path}: {what}")


def input_dir(path: str | Path | None, flag: str) -> None:
    """Raise unless `path` is an existing folder."""
    if path is not None and not Path(path).expanduser().is_dir():
        raise SllmError(f"{flag}: folder not found: {path}")


def model_spec(spec: str | None, flag: str) -> None:
    """Parse a model spec and check the local files it names (a GGUF file, a folder, an adapter)."""
    if spec is None:
        return
    from sllm.models.spec import parse_spec

    try:
        parsed = parse_spec(spec)
    except UsageError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if parsed.backend == "gguf" and not Path(parsed.target).expanduser().is_file():
        raise SllmError(f"{flag}: GGUF file not found: {parsed.target}")
    # hf:PATH may be a hub id; only a target written as a path must exist here
    if parsed.backend == "hf" and _path_like(parsed.target) and not _is_dir(parsed.target):
        raise SllmError(f"{flag}: model folder not found: {parsed.target}")
    adapter = parsed.options.get("adapter")
    if adapter and _path_like(adapter) and not _is_dir(adapter):
        raise SllmError(f"{flag}: adapter folder not found: {adapter}")


def _path_like(target: str) -> bool:
    return target.startswith((".", "/", "~"))


def _is_dir(target: str) -> bool:
    return Path(target).expanduser().is_dir()


def encoder(name: str | None, flag: str = "--encoder") -> None:
    """A sentence encoder must be the bundled MiniLM or a local folder (the hub is not used)."""
    from sllm.embeddings import DEFAULT

    if name not in (None, "", DEFAULT, "minilm"):
        input_dir(name, flag)


def price_table(path: str | Path | None) -> None:
    """Read a --price-table now: it is otherwise read only after every model call."""
    if path is None:
        return
    from sllm.usage import load_prices

    input_file(path, "--price-table")
    load_prices(path)


TRAINABLE = ("default", "hf", "gguf", "registry")


def trainable_model(spec: str, flag: str) -> None:
    """A model to train (or a logit teacher) must be local: default, hf:FOLDER, gguf:FILE, registry:."""
    from sllm.models.spec import parse_spec

    model_spec(spec, flag)
    parsed = parse_spec(spec)
    if parsed.backend not in TRAINABLE:
        raise SllmError(
            f"{flag}: cannot train '{parsed.text}': training needs a local model (default, hf:PATH)"
        )
    if parsed.backend == "hf" and not _is_dir(parsed.target):  # the hub is not used for training
        raise SllmError(f"{flag}: model folder not found: {parsed.target}")
