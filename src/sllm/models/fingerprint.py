"""Fingerprints of model weights: a content digest, memoised by path, size and mtime."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from sllm.paths import sllm_home

# Everything that changes what a model computes: weights, architecture and adapter configs, and
# the whole tokenizer including its chat template (tokenizer_config.json or chat_template.jinja),
# so editing a template in place never reuses generations cached under the old one.
MODEL_FILE_PATTERNS = (
    "*.safetensors",
    "*.bin",
    "*.gguf",
    "*.pt",
    "*.model",
    "config.json",
    "generation_config.json",
    "adapter_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)


def file_digest(path: Path) -> str:
    """Return the sha256 of a file, memoised so a 500 MB model is hashed once."""
    stat = path.stat()
    memo_key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    memo_path = sllm_home() / "digests.json"
    memo = _read_memo(memo_path)
    if memo_key in memo:
        return memo[memo_key]
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            sha.update(block)
    _remember(memo_path, memo_key, sha.hexdigest())
    return sha.hexdigest()


def _read_memo(memo_path: Path) -> dict[str, str]:
    try:
        return json.loads(memo_path.read_text())
    except (OSError, ValueError):
        return {}


def _remember(memo_path: Path, key: str, digest: str) -> None:
    """Add one digest to the memo; concurrent processes neither clobber nor lose each other's."""
    from filelock import FileLock, Timeout

    try:
        with FileLock(f"{memo_path}.lock", timeout=60):
            memo = _read_memo(memo_path)  # again, under the lock: another process may have added some
            memo[key] = digest
            with tempfile.NamedTemporaryFile(
                "w", dir=memo_path.parent, prefix=".digests-", suffix=".tmp", delete=False
            ) as tmp:
                tmp.write(json.dumps(memo))
            os.replace(tmp.name, memo_path)
    except (Timeout, OSError):
        pass  # the memo only saves hashing the file again next time


def folder_digest(folder: Path) -> str:
    """Return one digest over the weight, config and tokenizer files of a model folder."""
    files = sorted({p for pattern in MODEL_FILE_PATTERNS for p in folder.glob(pattern)})
    sha = hashlib.sha256()
    for path in files:
        sha.update(f"{path.name}:{file_digest(path)}\n".encode())
    return sha.hexdigest()[:16]
