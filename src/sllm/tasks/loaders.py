"""Local file loaders by format name; every error names the file and, where there is one, the line."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sllm.errors import SllmError
from sllm.plugins import Registry
from sllm.textio import iter_lines, read_text

Doc = dict[str, Any]
Loader = Callable[..., list[Doc]]
#: data-file loaders by format name; plugins add theirs under the entry-point group "sllm.loaders"
LOADERS: Registry[Loader] = Registry("data format", group="sllm.loaders")


def register_loader(name: str) -> Callable[[Loader], Loader]:
    """Register a loader `fn(path, **format_options) -> list[doc]` under a format name."""
    return LOADERS.register(name)


def load_file(path: Path, fmt: str, options: dict[str, Any] | None = None) -> list[Doc]:
    """Load one data file with the named loader."""
    loader = LOADERS.get(fmt)
    if not path.is_file():
        raise SllmError(f"data file not found: {path}")
    docs = loader(path, **(options or {}))
    if not docs:  # an empty file would otherwise evaluate nothing, or fail later in scoring
        raise SllmError(f"{path}: no documents")
    return docs


@register_loader("jsonl")
def load_jsonl(path: Path) -> list[Doc]:
    """One JSON object per line; blank lines are skipped."""
    docs = []
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SllmError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise SllmError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        docs.append(value)
    return docs


@register_loader("json")
def load_json(path: Path, records: str | None = None) -> list[Doc]:
    """A JSON list of objects, or the list under key `records`."""
    text = read_text(path)
    if not text.strip():
        return []  # load_file names the empty file
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SllmError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if records is not None:
        value = value[records]
    if not isinstance(value, list):
        raise SllmError(f"{path}: expected a JSON list of records")
    return value


@register_loader("csv")
def load_csv(
    path: Path, delimiter: str = ",", columns: list[str] | None = None, header: bool = True
) -> list[Doc]:
    """CSV (or TSV) rows as dicts: from the header line, or from `columns` when there is none."""
    # csv needs the raw lines (newline kept) so quoted fields may span lines.
    lines = (text for _, text in iter_lines(path))
    rows = list(csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else 0))
    names = columns or (rows[0] if header and rows else None)
    if names is None:
        raise SllmError(f"{path}: no header line and no columns given")
    body = rows[1:] if header else rows
    first_line = 2 if header else 1
    docs = []
    for number, row in enumerate(body, start=first_line):
        if not row:
            continue
        if len(row) != len(names):
            raise SllmError(f"{path}:{number}: expected {len(names)} columns, found {len(row)}")
        docs.append(dict(zip(names, row)))
    return docs


@register_loader("tsv")
def load_tsv(path: Path, columns: list[str] | None = None, header: bool = True) -> list[Doc]:
    """Tab-separated rows (quotes are literal text, as in KoBEST and KorNLI)."""
    return load_csv(path, delimiter="\t", columns=columns, header=header)


@register_loader("parquet")
def load_parquet(path: Path) -> list[Doc]:
    """Parquet rows as dicts (through pyarrow)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


@register_loader("hellaswag_text")
def load_hellaswag_text(path: Path) -> list[Doc]:
    """The 6-lines-per-item text conversion: query, label, four endings."""
    lines = read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) % 6:
        raise SllmError(f"{path}:{len(lines)}: expected 6 lines per item, the last item is cut short")
    docs = []
    for start in range(0, len(lines), 6):
        label = lines[start + 1].strip()
        if label not in {"0", "1", "2", "3"}:
            raise SllmError(f"{path}:{start + 2}: label must be 0-3, found {label!r}")
        docs.append({"query": lines[start], "label": int(label), "choices": lines[start + 2 : start + 6]})
    return docs


@register_loader("mmlu_csv")
def load_mmlu_csv(path: Path) -> list[Doc]:
    """The original MMLU release: header-less CSV of question, A, B, C, D, answer letter."""
    docs = []
    for number, row in enumerate(load_csv(path, columns=list("qabcdy"), header=False), start=1):
        if row["y"] not in "ABCD" or len(row["y"]) != 1:
            raise SllmError(f"{path}:{number}: answer must be one of A-D, found {row['y']!r}")
        choices = [row["a"], row["b"], row["c"], row["d"]]
        docs.append({"question": row["q"], "choices": choices, "answer": "ABCD".index(row["y"])})
    return docs


@register_loader("truthfulqa_mc")
def load_truthfulqa_mc(path: Path) -> list[Doc]:
    """TruthfulQA mc_task.json: answer->label dicts become the hub's choices/labels lists."""
    docs = []
    for number, item in enumerate(load_json(path), start=1):
        doc = {"question": item["question"]}
        for key in ("mc1_targets", "mc2_targets"):
            if key not in item:
                raise SllmError(f"{path}: record {number}: missing field '{key}'")
            doc[key] = {"choices": list(item[key]), "labels": list(item[key].values())}
        docs.append(doc)
    return docs


@register_loader("squad_json")
def load_squad_json(path: Path) -> list[Doc]:
    """The official SQuAD v1.1/v2.0 JSON: one document per question, unanswerable ones with no answers."""
    docs = []
    for article in load_json(path, records="data"):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                docs.append(
                    {
                        "id": qa["id"],
                        "title": article.get("title", "").replace("_", " "),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": [a["text"] for a in qa.get("answers", [])],
                        "is_impossible": bool(qa.get("is_impossible", False)),
                    }
                )
    return docs


@register_loader("paragraphs")
def load_paragraphs(path: Path) -> list[Doc]:
    """A plain text file split on blank lines: one document per paragraph (perplexity)."""
    text = read_text(path)
    return [{"text": p.strip()} for p in re.split(r"\n\s*\n", text) if p.strip()]
