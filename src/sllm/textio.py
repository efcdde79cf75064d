"""Reading users' text files: one place that knows about encodings.

Files from Windows tools are still often CP949 (Korean) or CP1252/Latin-1, and some UTF-8 files
start with a byte-order mark. Every command reads its inputs through this module, so such a file
is either read correctly (with a one-line note naming the encoding) or rejected with an error
naming the file, line and byte offset -- never a bare `UnicodeDecodeError` traceback.

Detection: a UTF-8 BOM means `utf-8-sig`; a sample that decodes as UTF-8 means UTF-8; otherwise
charset-normalizer (the detector `requests` uses) names the legacy encoding of the sample. Files are
decoded line by line from bytes, so a stray byte late in a large file is still reported with its
exact offset, and memory stays bounded (CP949 and the single-byte code pages never use byte 0x0A
inside a character, so splitting on it is safe).
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sllm.errors import SllmError, warn

SAMPLE_BYTES = 1 << 16
ENV = "SLLM_ENCODING"


def default_encoding() -> str | None:
    """The encoding forced by `sllm --encoding` / SLLM_ENCODING, else None (detect)."""
    return os.environ.get(ENV) or None


def resolve_encoding(path: str | Path, encoding: str | None = None) -> str:
    """The encoding to read `path` with: the one given, else detected from its first bytes."""
    path = Path(path)
    encoding = encoding or default_encoding()
    if encoding:
        try:
            return codecs.lookup(encoding).name
        except LookupError:
            raise SllmError(f"unknown encoding '{encoding}' (e.g. utf-8, cp949, latin-1)") from None
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    return _detect(sample, path)


def _detect(sample: bytes, path: Path) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if _is_utf8(sample):
        return "utf-8"
    guess = _guess(sample)
    if guess is None:
        offset = _first_bad_offset(sample)
        raise SllmError(
            f"{path}: not UTF-8 (byte {offset}: 0x{sample[offset]:02x}) and its encoding could not be "
            "detected; pass --encoding NAME (e.g. sllm --encoding cp949 ...)"
        )
    warn(f"reading {path} as {guess} (detected: it is not UTF-8; --encoding overrides)")
    return guess


def decode(raw: bytes, path: str | Path, encoding: str | None = None) -> str:
    """Bytes read from `path` (e.g. after gunzip) as text, with the same detection and errors."""
    path = Path(path)
    encoding = encoding or default_encoding()
    name = codecs.lookup(encoding).name if encoding else _detect(raw[:SAMPLE_BYTES], path)
    try:
        return raw.decode(name)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SllmError(
            f"{path}:{line}: cannot decode byte {exc.start} as {name} (0x{raw[exc.start]:02x}); "
            "pass --encoding NAME with the file's real encoding"
        ) from None


def read_json_records(path: str | Path, encoding: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) for every object of a JSON list or JSONL file, plain or gzipped, in any
    encoding `decode` reads; errors name the file and the line or item (an empty file is one)."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the suffix
        raw = gzip.decompress(raw)
    text = decode(raw, path, encoding)
    if not text.strip():  # empty, or blank lines only: say so, not "invalid JSON"
        raise SllmError(f"{path}: no examples")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SllmError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        out = [(f"{path}: item {i}", r) for i, r in enumerate(items, start=1)]
    else:
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise SllmError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    for where, record in out:
        if not isinstance(record, dict):
            raise SllmError(f"{where}: expected a JSON object")
    return out


def iter_lines(path: str | Path, encoding: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) of a file, newline kept; bad bytes named by line and offset."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    name = resolve_encoding(path, encoding)
    decode = codecs.getincrementaldecoder(name)(errors="strict").decode
    offset = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = decode(raw)
            except UnicodeDecodeError as exc:
                raise SllmError(
                    f"{path}:{number}: cannot decode byte {offset + exc.start} as {name} "
                    f"(0x{raw[exc.start]:02x}); pass --encoding NAME with the file's real encoding"
                ) from None
            offset += len(raw)
            yield number, text
    try:
        decode(b"", final=True)
    except UnicodeDecodeError:
        raise SllmError(f"{path}: ends inside a multi-byte {name} character (file truncated?)") from None


def read_text(path: str | Path, encoding: str | None = None) -> str:
    """The whole text of a file, decoded as `iter_lines` does."""
    return "".join(text for _, text in iter_lines(path, encoding))


def _is_utf8(sample: bytes) -> bool:
    # The sample may end inside a character: a non-final incremental decode allows that.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def _first_bad_offset(sample: bytes) -> int:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return 0


def _guess(sample: bytes) -> str | None:
    """CP949 when the sample decodes to Korean, else CP1252 when that decodes it; None otherwise.

    charset-normalizer lists the encodings that decode the sample plausibly; among those we prefer
    the two legacy encodings users actually have (its own top pick for short Western text is often
    a Central-European code page, which would garble accents).
    """
    from charset_normalizer import from_bytes

    names = {codecs.lookup(m.encoding).name for m in from_bytes(sample)}
    if names & {"cp949", "euc_kr", "johab"}:
        text = sample.decode("cp949", errors="ignore")
        if any("\uac00" <= c <= "\ud7a3" for c in text):
            return "cp949"
    for name in ("cp1252", "latin-1", "iso8859-15"):
        if codecs.lookup(name).name in names:
            return codecs.lookup(name).name
    return None


def write_jsonl(path: str | Path, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
    """Write one JSON object per line (UTF-8, non-ASCII kept), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
