"""`sllm data validate`: schema, empty fields, broken characters (U+FFFD), roles, duplicates, token
lengths, language mix, and that every row renders through the target model's chat template."""

from __future__ import annotations

import hashlib
import json
import statistics
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sllm.data.digest import DatasetSummary
from sllm.data.examples import Example
from sllm.data.formats import Problem, stream_examples
from sllm.data.seen import SeenIndex
from sllm.errors import SllmError

REPLACEMENT = "\ufffd"  # what a decoder writes for bytes that are not (whole) UTF-8


def _field(example: Example, layout: str, index: int) -> str:
    """The name a user sees in their file for the index-th message."""
    if example.instruction is not None:
        role = example.messages[index]["role"]
        return {"system": "system", "user": "instruction", "assistant": "output"}[role]
    key, text = ("conversations", "value") if layout == "sharegpt" else ("messages", "content")
    return f"{key}[{index}].{text}"


def _texts(example: Example, layout: str) -> list[tuple[str, str]]:
    """(field as the file names it, text) of every message; Alpaca's instruction and input apart."""
    texts = []
    for i, message in enumerate(example.messages):
        name = _field(example, layout, i)
        if name == "instruction":
            texts += [("instruction", example.instruction or ""), ("input", example.input or "")]
        else:
            texts.append((name, message["content"]))
    return texts


def broken_text(example: Example, layout: str) -> list[Problem]:
    """Fields holding U+FFFD: text a bad decoding broke, e.g. a character cut at a token limit."""
    problems = []
    for name, text in _texts(example, layout):
        at = text.find(REPLACEMENT)
        if at >= 0:
            message = (
                f"contains U+FFFD (replacement character) at character {at + 1}: text broken in decoding"
            )
            problems.append(Problem(example.where, name, message))
    return problems


def check_example(example: Example, layout: str) -> list[Problem]:
    """Empty contents, broken characters and role order of one example."""
    problems = []
    for i, message in enumerate(example.messages):
        if not message["content"].strip():
            what = "is empty" if not message["content"] else "is only whitespace"
            problems.append(Problem(example.where, _field(example, layout, i), what))
    problems += broken_text(example, layout)
    roles = [m["role"] for m in example.turns]
    offset = len(example.messages) - len(roles)
    for i, role in enumerate(roles):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            name = "role" if layout != "sharegpt" else "from"
            key = "conversations" if layout == "sharegpt" else "messages"
            problems.append(
                Problem(example.where, f"{key}[{i + offset}].{name}", f"expected {expected}, got {role}")
            )
            break
    if roles and roles[-1] != "assistant":
        problems.append(Problem(example.where, "", "the conversation does not end with an assistant turn"))
    return problems


def load_tokenizer(spec: str) -> Any:
    """The tokenizer of a model spec (default, hf:PATH, or a local folder), without the weights."""
    from transformers import AutoTokenizer

    from sllm.models.spec import parse_spec

    parsed = parse_spec(spec)
    if parsed.backend == "default":
        from sllm.models.default_model import default_model_path

        return AutoTokenizer.from_pretrained(str(default_model_path()))
    if parsed.backend in ("hf", "vllm"):
        return AutoTokenizer.from_pretrained(parsed.target)
    raise SllmError(f"cannot read a tokenizer from '{spec}': pass default or hf:PATH to --model")


def _summary(values: Any) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "mean": statistics.fmean(ordered),
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def render_lengths(examples: list[Example], tokenizer: Any) -> list[tuple[int, int] | str]:
    """Per example, its (prompt, total) token counts through the chat template, or why it does not
    render. Rendering is per row (cheap); tokenising, the costly part, is one batch call of the
    fast tokenizer -- the same ids `apply_chat_template(tokenize=True)` gives row by row."""
    texts: list[str] = []
    results: list[tuple[int, int] | str | None] = []
    for e in examples:
        try:
            total = tokenizer.apply_chat_template(e.messages, tokenize=False)
            prompt = tokenizer.apply_chat_template(
                e.messages[:-1], tokenize=False, add_generation_prompt=True
            )
        except Exception as exc:  # any template error: jinja, missing template, unsupported role
            results.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            continue
        texts += [prompt, total]
        results.append(None)
    counts = iter(
        [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    )
    return [(next(counts), next(counts)) if r is None else r for r in results]


def template_lengths(
    examples: list[Example], tokenizer: Any, max_length: int | None
) -> tuple[dict[str, Any], list[Problem]]:
    """Prompt and total token counts through the chat template; rows that do not render."""
    validator = Validator("", tokenizer, max_length)
    validator.pending = list(examples)
    validator.flush()
    return validator.token_stats(), validator.problems


TEMPLATE_CHUNK = 256  # examples rendered, then tokenised in one batch call


@dataclass
class Validator:
    """Every check of `sllm data validate`, fed one file row at a time in order. It keeps counters,
    two token counts and, for the duplicate check, a digest and the location of each distinct
    conversation (about 55 bytes a row in all) -- never the rows themselves."""

    layout: str
    tokenizer: Any = None
    max_length: int | None = None
    keep: Callable[[Example], None] | None = None  # receives each valid example, in order
    problems: list[Problem] = field(default_factory=list)
    summary: DatasetSummary = field(default_factory=DatasetSummary)
    language: dict[str, int] = field(default_factory=lambda: {"korean": 0, "mixed": 0, "other": 0})
    pending: list[Example] = field(default_factory=list)
    error_rows: set[str] = field(default_factory=set)
    seen: SeenIndex = field(default_factory=SeenIndex)
    prompt_lengths: array = field(default_factory=lambda: array("I"))
    total_lengths: array = field(default_factory=lambda: array("I"))

    def add_row(self, examples: list[Example], problems: list[Problem]) -> None:
        """One row's examples (those that parsed) and the problems found reading it."""
        self._report(problems)
        for example in examples:
            found = check_example(example, self.layout)
            self._report(found)
            if any(p.severity == "error" for p in found):
                continue
            self.pending.append(example)
            if len(self.pending) >= TEMPLATE_CHUNK:
                self.flush()

    def flush(self) -> None:
        """Run the template check on the pending examples and count the ones that pass."""
        from sllm.language import hangul_ratio

        batch, self.pending = self.pending, []
        self._check_duplicates(batch)
        if self.tokenizer is None:
            results: list[tuple[int, int] | str] = [(0, 0)] * len(batch)
        else:
            results = render_lengths(batch, self.tokenizer)
        for example, result in zip(batch, results, strict=True):
            if isinstance(result, str):
                self._report(
                    [Problem(example.where, "", f"does not render through the chat template: {result}")]
                )
                continue
            if self.tokenizer is not None:
                self._count_tokens(example, *result)
            self.summary.add(example)
            ratio = hangul_ratio([example.text()])
            self.language["korean" if ratio > 0.5 else "mixed" if ratio >= 0.1 else "other"] += 1
            if self.keep is not None:
                self.keep(example)

    def token_stats(self) -> dict[str, Any]:
        """Token count summaries (empty when no row reached the template check)."""
        if not self.total_lengths:
            return {}
        over = sum(1 for n in self.total_lengths if self.max_length is not None and n > self.max_length)
        return {
            "prompt": _summary(self.prompt_lengths),
            "total": _summary(self.total_lengths),
            "over_max_length": over,
        }

    def _count_tokens(self, example: Example, prompt: int, total: int) -> None:
        self.prompt_lengths.append(prompt)
        self.total_lengths.append(total)
        if self.max_length is not None and total > self.max_length:
            message = f"{total} tokens, over --max-length {self.max_length}"
            self._report([Problem(example.where, "", message, "warning")])

    def _check_duplicates(self, batch: list[Example]) -> None:
        """Exact duplicates (same messages), each pointing at its first occurrence."""
        # 64-bit digests: for a million rows the chance of any false match is about 1e-8.
        digests = [
            int.from_bytes(hashlib.blake2b(_messages_key(e), digest_size=8).digest(), "big") for e in batch
        ]
        for example, first in zip(batch, self.seen.first_of(digests, [e.where for e in batch]), strict=True):
            if first is not None:
                self._report([Problem(example.where, "", f"exact duplicate of {first}", "warning")])

    def _report(self, problems: list[Problem]) -> None:
        self.problems += problems
        self.error_rows.update(p.where for p in problems if p.severity == "error")


def _messages_key(example: Example) -> bytes:
    return json.dumps(example.messages, sort_keys=True, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Validation:
    """What `sllm data validate` reports about one file."""

    layout: str
    rows: int
    valid: int
    problems: list[Problem]
    tokens: dict[str, Any]
    language: dict[str, int]
    summary: DatasetSummary


def validate_file(
    path: str | Path,
    fmt: str = "auto",
    tokenizer: Any = None,
    max_length: int | None = None,
    keep: Callable[[Example], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Validation:
    """Check a file row by row, in bounded memory; `keep` receives each valid example, `progress`
    the bytes read (see `raw_rows`). Without a tokenizer, token counts and the template are skipped."""
    layout, rows = stream_examples(path, fmt, progress)
    validator = Validator(layout, tokenizer, max_length, keep, seen=SeenIndex(prefix=str(path)))
    for examples, problems in rows:
        validator.add_row(examples, problems)
    validator.flush()
    valid = validator.summary.rows
    return Validation(
        layout=layout,
        rows=valid + len(validator.error_rows),
        valid=valid,
        problems=validator.problems,
        tokens=validator.token_stats(),
        language=validator.language,
        summary=validator.summary,
    )


def validate_to_report(  # noqa: PLR0913 - the validation choices
    path: Path,
    fmt: str = "auto",
    model: str = "default",
    template: bool = True,
    max_length: int | None = None,
    output: Path | None = None,
    force: bool = False,
    track: bool = True,
) -> tuple[dict[str, Any], list[Problem]]:
    """`sllm data validate`: check a file (token lengths and the chat template of `model` unless
    not `template`), write its valid rows to `output` when there are no errors (or `force`); the
    report and every problem. The file streams through once: memory holds counters and a chunk."""
    from sllm.data.digest import DataFile, track_data
    from sllm.data.formats import ExampleWriter
    from sllm.progress import byte_bar

    tokenizer = load_tokenizer(model) if template else None
    writer = ExampleWriter(output) if output is not None else None
    size = path.stat().st_size if path.is_file() else 0
    try:
        with byte_bar(f"validating {path.name}", size) as advance:
            result = validate_file(path, fmt, tokenizer, max_length, writer.add if writer else None, advance)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    problems = result.problems
    errors = [p for p in problems if p.severity == "error"]
    report: dict[str, Any] = {
        "path": str(path), "format": result.layout, "rows": result.rows, "valid": result.valid,
        "errors": len(errors), "warnings": len(problems) - len(errors), "digest": result.summary.digest,
        "tokens": result.tokens, "language": result.language, "multi_turn": result.summary.multi_turn,
        "problems": [{"where": p.where, "field": p.field, "message": p.message, "severity": p.severity}
                     for p in problems],
        "written": None,
    }  # fmt: skip
    if writer is not None and output is not None and (not errors or force) and result.valid:
        writer.commit()
        report["written"] = str(output)
        files = [
            DataFile(path.stem, path, [], result.layout, summary=result.summary),
            DataFile(output.stem, output, [], writer.layout, "output", summary=result.summary),
        ]
        report["run_id"] = track_data("validate", files, {"model": model}, None, track)
    elif writer is not None:
        writer.discard()
    return report, problems
