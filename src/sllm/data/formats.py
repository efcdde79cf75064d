"""Reading and writing instruction files: Alpaca, ShareGPT, chat messages (JSON or JSONL), CSV
and Parquet. Reading never stops at the first bad row: every problem is collected with its file,
line (or item / row) and field, so `sllm data validate` can list them all.

Files are read as a stream, one row at a time (JSONL and CSV line by line, a JSON list item by
item, Parquet batch by batch): memory holds a row, not the file, whatever its size.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sllm.data.examples import ROLES, SHAREGPT_ROLES, TO_SHAREGPT, Example
from sllm.errors import SllmError, UsageError

FORMATS = ("alpaca", "sharegpt", "messages", "csv", "parquet", "seed_tasks")
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row: where, which field, what."""

    where: str
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return (
            f"{self.where}: field '{self.field}': {self.message}"
            if self.field
            else f"{self.where}: {self.message}"
        )


Row = tuple[str, Any | None, Problem | None]
#: called with the number of bytes of the file read since its last call (progress bars)
Advance = Callable[[int], None]
PROGRESS_STEP = 1 << 20  # report progress every MiB, not every line


def raw_rows(path: Path, progress: Advance | None = None) -> Iterator[Row]:
    """(where, record, problem) for every row of a JSON list, JSONL, CSV or Parquet file, streamed."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet_rows(path, progress)
        return
    from sllm.textio import iter_lines, resolve_encoding

    encoding = resolve_encoding(path)
    lines = _counted(iter_lines(path, encoding), encoding, progress)
    if suffix in (".csv", ".tsv"):
        import csv

        reader = csv.DictReader((text for _, text in lines), delimiter="\t" if suffix == ".tsv" else ",")
        line = 1
        for row in reader:
            yield f"{path}:{line + 1}", _drop_blank(dict(row)), None
            line = reader.line_num
        return
    head = []
    for number, text in lines:  # up to the first non-blank line: a JSON list starts with "["
        head.append((number, text))
        if text.strip():
            break
    stream = itertools.chain(head, lines)
    if head and head[-1][1].lstrip().startswith("["):
        yield from _json_list(stream, path)
        return
    for number, line_text in stream:
        if not line_text.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield where, json.loads(line_text), None
        except json.JSONDecodeError as exc:
            yield where, None, Problem(where, "", f"invalid JSON: {exc.msg}")


def _counted(
    lines: Iterator[tuple[int, str]], encoding: str, progress: Advance | None
) -> Iterator[tuple[int, str]]:
    """Pass lines through, telling `progress` how many bytes of the file they took."""
    if progress is None:
        yield from lines
        return
    pending = 0
    for number, text in lines:
        pending += len(text.encode(encoding, errors="replace"))
        if pending >= PROGRESS_STEP:
            progress(pending)
            pending = 0
        yield number, text
    progress(pending)


def _parquet_rows(path: Path, progress: Advance | None) -> Iterator[Row]:
    """Parquet rows batch by batch (progress: the file's bytes, shared out over its rows)."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    per_row = path.stat().st_size / max(source.metadata.num_rows, 1)
    number = 0
    for batch in source.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield f"{path}: row {number}", _drop_blank(row), None
        if progress is not None:
            progress(int(per_row * batch.num_rows))


_SPACE = re.compile(r"[ \t\n\r]*")
BLOCK = 1 << 16  # a JSON list is parsed from blocks of whole lines of about this many characters
_DECODER = json.JSONDecoder()


def _json_list(lines: Iterator[tuple[int, str]], path: Path) -> Iterator[Row]:
    """The items of a JSON list, parsed one at a time from a buffer of whole lines; a syntax
    error names its line as `json.loads` of the whole file would, and ends the list."""
    buffer, first_line, pos, count = "", 1, 0, 0

    def more() -> bool:
        """Append at least BLOCK characters of whole lines (fewer at the end); False at the end."""
        nonlocal buffer, first_line
        block: list[str] = []
        size = 0
        for number, text in lines:
            if not buffer and not block:
                first_line = number
            block.append(text)
            size += len(text)
            if size >= BLOCK:
                break
        buffer += "".join(block)
        return bool(block)

    def skip_space() -> None:
        nonlocal pos
        while (pos := _SPACE.match(buffer, pos).end()) >= len(buffer) and more():
            pass

    def problem(at: int, message: str) -> Row:
        where = f"{path}:{first_line + buffer.count(chr(10), 0, at)}"
        return where, None, Problem(where, "", f"invalid JSON: {message}")

    skip_space()
    pos += 1  # the opening "["
    expected = "item or end"
    while True:
        skip_space()
        char = buffer[pos] if pos < len(buffer) else ""
        if char == "]" and expected != "item":
            break
        if expected == "delimiter":
            if char != ",":
                yield problem(pos, "Expecting ',' delimiter")
                return
            pos += 1
            expected = "item"
            continue
        while True:
            try:
                item, pos = _DECODER.raw_decode(buffer, pos)
                break
            except json.JSONDecodeError as exc:
                if not (_incomplete(exc, buffer) and more()):
                    yield problem(exc.pos, exc.msg)
                    return
        count += 1
        yield f"{path}: item {count}", item, None
        expected = "delimiter"
        # Drop the lines already parsed, so the buffer holds about one item.
        cut = buffer.rfind("\n", 0, pos) + 1
        if cut:
            first_line += buffer.count("\n", 0, cut)
            buffer, pos = buffer[cut:], pos - cut
    pos += 1
    skip_space()
    if pos < len(buffer):
        yield problem(pos, "Extra data")


def _incomplete(exc: json.JSONDecodeError, buffer: str) -> bool:
    """True when the text only stopped too early (more lines may complete it); a string cannot
    span lines in JSON, so an unterminated one is a real error."""
    if exc.msg.startswith(("Unterminated string", "Invalid control character")):
        return False
    return exc.pos >= len(buffer.rstrip(" \t\n\r"))


CORE = ("instruction", "input", "output", "messages", "conversations")


def _drop_blank(row: dict[str, Any]) -> dict[str, Any]:
    """A table has a cell for every column: an empty cell of an extra column means "no value"."""
    return {k: v for k, v in row.items() if k in CORE or not (v is None or v == "" or v != v)}


def detect_format(path: Path, first: dict[str, Any] | None) -> str:
    """The layout of a file from its rows' keys (CSV / Parquet rows use the same keys)."""
    keys = set(first or {})
    if "instances" in keys and "instruction" in keys:
        return "seed_tasks"  # Self-Instruct's seed_tasks.jsonl: one task, several instances
    if "conversations" in keys:
        return "sharegpt"
    if "messages" in keys:
        return "messages"
    if "instruction" in keys or "output" in keys:
        return "alpaca"
    raise SllmError(
        f"{path}: cannot tell the format from the fields {sorted(keys)[:8]}; expected Alpaca "
        "(instruction, input, output), ShareGPT (conversations) or chat messages (messages)"
    )


def _text(
    record: dict[str, Any], key: str, where: str, problems: list[Problem], required: bool = True
) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, float) and value != value):  # missing, or NaN from CSV
        if required:
            problems.append(Problem(where, key, "missing"))
        return ""
    if not isinstance(value, str):
        problems.append(Problem(where, key, f"must be a string, got {type(value).__name__}"))
        return str(value)
    return value


def _maybe_json(value: Any) -> Any:
    # CSV and Parquet store a conversation as a JSON string.
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _from_alpaca(record: dict[str, Any], where: str, problems: list[Problem]) -> Example:
    instruction = _text(record, "instruction", where, problems)
    input_text = _text(record, "input", where, problems, required=False)
    output = _text(record, "output", where, problems)
    meta = {k: v for k, v in record.items() if k not in ("instruction", "input", "output")}
    return Example.from_alpaca(instruction, input_text, output, meta, where)


def _from_turns(record: dict[str, Any], where: str, problems: list[Problem], key: str) -> Example:
    turns = _maybe_json(record.get(key))
    if not isinstance(turns, list) or not turns:
        problems.append(Problem(where, key, "missing" if turns is None else "must be a non-empty list"))
        return Example([], {}, where)
    role_key, text_key = ("from", "value") if key == "conversations" else ("role", "content")
    messages = []
    for i, turn in enumerate(turns):
        name = f"{key}[{i}]"
        if not isinstance(turn, dict):
            problems.append(Problem(where, name, "must be an object"))
            continue
        raw_role = str(turn.get(role_key, "")).lower()
        role = SHAREGPT_ROLES.get(raw_role) if key == "conversations" else raw_role
        if role not in ROLES:
            problems.append(Problem(where, f"{name}.{role_key}", f"unknown role {turn.get(role_key)!r}"))
            continue
        messages.append({"role": role, "content": _text(turn, text_key, where, problems)})
    meta = {k: v for k, v in record.items() if k != key}
    if "system" in meta and key == "conversations" and meta["system"]:
        messages.insert(0, {"role": "system", "content": str(meta.pop("system"))})
    return Example(messages, meta, where)


def _from_seed_task(record: dict[str, Any], where: str, problems: list[Problem]) -> list[Example]:
    instruction = _text(record, "instruction", where, problems)
    instances = record.get("instances")
    if not isinstance(instances, list) or not instances:
        problems.append(Problem(where, "instances", "must be a non-empty list"))
        return []
    meta = {k: v for k, v in record.items() if k not in ("instruction", "instances")}
    return [
        Example.from_alpaca(
            instruction,
            _text(inst, "input", where, problems, required=False),
            _text(inst, "output", where, problems),
            dict(meta),
            where,
        )
        for inst in instances
        if isinstance(inst, dict)
    ]


def parse_record(record: Any, fmt: str, where: str, problems: list[Problem]) -> list[Example]:
    """The examples of one row (a seed task holds several); problems found are appended."""
    if not isinstance(record, dict):
        problems.append(Problem(where, "", "expected a JSON object"))
        return []
    if fmt == "alpaca":
        return [_from_alpaca(record, where, problems)]
    if fmt == "seed_tasks":
        return _from_seed_task(record, where, problems)
    return [_from_turns(record, where, problems, "conversations" if fmt == "sharegpt" else "messages")]


def stream_examples(
    path: str | Path, fmt: str = "auto", progress: Advance | None = None
) -> tuple[str, Iterator[tuple[list[Example], list[Problem]]]]:
    """The layout of a file and, row by row, its examples (none when the row has an error) and
    the problems found in it (with file, line and field)."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    if fmt not in ("auto", *FORMATS):
        raise UsageError(f"unknown format '{fmt}'; choose from auto, {', '.join(FORMATS)}")
    rows = raw_rows(path, progress)
    head: list[Row] = []
    layout = fmt if fmt not in ("auto", "csv", "parquet") else None
    if layout is None:  # the first object decides; rows read before it are kept for the stream
        for row in rows:
            head.append(row)
            if row[2] is None and isinstance(row[1], dict):
                break
        if not head:  # empty, or blank lines only: no format to detect
            raise SllmError(f"{path}: no examples")
        first = head[-1][1] if head and head[-1][2] is None and isinstance(head[-1][1], dict) else None
        layout = detect_format(path, first)
    return layout, _parsed(itertools.chain(head, rows), layout)


def _parsed(rows: Iterator[Row], layout: str) -> Iterator[tuple[list[Example], list[Problem]]]:
    for where, record, problem in rows:
        if problem is not None:
            yield [], [problem]
            continue
        found: list[Problem] = []
        parsed = parse_record(record, layout, where, found)
        yield ([] if any(p.severity == "error" for p in found) else parsed), found


def read_examples(path: str | Path, fmt: str = "auto") -> tuple[list[Example], list[Problem], str]:
    """Every parseable example, every problem (with file, line and field) and the format read."""
    layout, rows = stream_examples(path, fmt)
    examples, problems = [], []
    for parsed, found in rows:
        examples += parsed
        problems += found
    return examples, problems, layout


def load_examples(path: str | Path, fmt: str = "auto") -> tuple[list[Example], str]:
    """Read a file strictly (the first problem is an error naming file, line and field); the
    examples and the layout read."""
    examples, problems, layout = read_examples(path, fmt)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more; run sllm data validate)" if len(errors) > 1 else ""
        raise SllmError(f"{errors[0]}{more}")
    if not examples:
        raise SllmError(f"{path}: no examples")
    return examples, layout


def output_format(path: Path, fmt: str) -> str:
    """The layout to write: given, or from the extension (.csv, .parquet), else Alpaca."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
        return fmt
    return {".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower(), "alpaca")


def kept_layout(layout: str, path: Path) -> str:
    """The layout to write `path` in: the input's for JSON and JSONL, else what the extension says."""
    return layout if path.suffix in (".jsonl", ".json") else "auto"


def to_record(example: Example, layout: str) -> dict[str, Any]:
    """One example in a layout's fields."""
    if layout in ("alpaca", "seed_tasks"):
        return example.alpaca()
    if layout == "sharegpt":
        turns = [{"from": TO_SHAREGPT[m["role"]], "value": m["content"]} for m in example.messages]
        return {"conversations": turns} | example.meta
    return {"messages": example.messages} | example.meta


def write_examples(examples: list[Example], path: str | Path, fmt: str = "auto") -> str:
    """Write examples (JSONL for .jsonl, a JSON list for .json, CSV, Parquet); return the layout."""
    with ExampleWriter(path, fmt) as writer:
        for example in examples:
            writer.add(example)
    return writer.layout


class ExampleWriter:
    """Write examples one at a time: JSONL and JSON lists stream to PATH.partial, which replaces PATH
    when the writer closes without an error (else it is removed); CSV and Parquet, which pandas
    writes whole, are gathered first. Nothing half-written is ever left at PATH."""

    def __init__(self, path: str | Path, fmt: str = "auto") -> None:
        self.path = Path(path)
        self.layout = output_format(self.path, fmt)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.table: list[Example] | None = [] if self.layout in ("csv", "parquet") else None
        self.as_list = self.path.suffix.lower() == ".json"
        self.handle: Any = None
        self.count = 0

    def __enter__(self) -> ExampleWriter:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def add(self, example: Example) -> None:
        """Write (or, for a table, gather) one example."""
        if self.table is not None:
            self.table.append(example)
            return
        try:
            record = to_record(example, self.layout)
        except ValueError as exc:
            raise SllmError(f"{exc}; write ShareGPT or messages instead") from None
        handle = self._open()
        if self.as_list:
            # Item by item, the same text as json.dumps(all_records, indent=1).
            item = json.dumps(record, ensure_ascii=False, indent=1).replace("\n", "\n ")
            handle.write(("," if self.count else "") + "\n " + item)
        else:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def commit(self) -> None:
        """Finish the file and put it in place."""
        if self.table is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_table(self.table, self.path, self.layout)
            return
        handle = self._open()
        if self.as_list:
            handle.write("\n]\n" if self.count else "]\n")
        handle.close()
        self.partial.replace(self.path)

    def discard(self) -> None:
        """Remove what was written."""
        if self.handle is not None:
            self.handle.close()
        self.partial.unlink(missing_ok=True)

    def _open(self) -> Any:
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.partial.open("w", encoding="utf-8")
            if self.as_list:
                self.handle.write("[")
        return self.handle


def _write_table(examples: list[Example], path: Path, layout: str) -> None:
    import pandas as pd

    single = all(e.single_turn for e in examples)
    rows = [to_record(e, "alpaca" if single else "messages") for e in examples]
    cells = [
        {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for k, v in r.items()}
        for r in rows
    ]
    frame = pd.DataFrame(cells)
    if layout == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
