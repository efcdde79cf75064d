"""Fingerprints of model weights: a content digest, memoised by path, size and mtime."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sllm.paths import sllm_home

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.model", "tokenizer.json")


def file_digest(path: Path) -> str:
    """Return the sha256 of a file, memoised so a 500 MB model is hashed once."""
    stat = path.stat()
    memo_key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    memo_path = sllm_home() / "digests.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if memo_key in memo:
        return memo[memo_key]
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            sha.update(block)
    memo[memo_key] = sha.hexdigest()
    tmp = memo_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(memo))
    tmp.replace(memo_path)
    return memo[memo_key]


def folder_digest(folder: Path) -> str:
    """Return one digest over the weight and tokenizer files of a model folder."""
    files = sorted({p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)})
    sha = hashlib.sha256()
    for path in files:
        sha.update(f"{path.name}:{file_digest(path)}\n".encode())
    return sha.hexdigest()[:16]
