"""Test-set contamination: n-gram overlap between a training file and evaluation items.

As GPT-3 and lm-evaluation-harness's decontamination: text is lower-cased, punctuation is
dropped, and a training row is contaminated by a test item when they share an n-gram (13 words
by default). Korean has no reliable word boundaries for this (particles attach to words, so an
edited copy shares few whole words): Hangul-dominant items use character n-grams over the text
with spaces removed (20 characters by default). A test item shorter than n is matched whole;
items shorter than `min_tokens` (8 words or 8 characters) are skipped -- a choice like "4" is
no evidence of leakage. Each hit reports the share of the item's n-grams found in the row.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sllm.data.examples import Example
from sllm.errors import SllmError

WORD_NGRAM = 13
CHAR_NGRAM = 20
MIN_TOKENS = 8


@dataclass(frozen=True)
class TestItem:
    """One evaluation text: the task (or file) it came from and its id there."""

    task: str
    item_id: str
    text: str


def _normal_words(text: str) -> list[str]:
    kept = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text.lower())
    return kept.split()


def _is_korean(text: str) -> bool:
    from sllm.language import hangul_ratio

    return hangul_ratio([text]) > 0.5


def units(text: str, korean: bool) -> list[str]:
    """The tokens n-grams are made of: characters without spaces (Korean) or words."""
    words = _normal_words(text)
    return list("".join(words)) if korean else words


def _doc_texts(doc: dict[str, Any]) -> list[str]:
    """The strings of a document worth checking: each string field, and each list of strings joined."""
    texts = []
    for value in doc.values():
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            texts.append(" ".join(value))
    return texts


def items_from_task(name: str, data_dir: str | Path | None = None) -> list[TestItem]:
    """Every test document of a registered task (a group expands to its tasks)."""
    from sllm.tasks.data import load_task_data
    from sllm.tasks.registry import get_registry

    found = []
    for spec in get_registry().resolve([name]):
        for k, doc in enumerate(load_task_data(spec, data_dir).docs):
            found += [TestItem(spec.task, str(k), t) for t in _doc_texts(doc)]
    return found


def items_from_file(path: Path) -> list[TestItem]:
    """Every string field of every record of a JSON / JSONL / CSV / Parquet file."""
    from sllm.tasks.loaders import load_file

    fmt = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower())
    if fmt is None:
        raise SllmError(f"{path}: expected a .jsonl, .json, .csv or .parquet test file")
    return [
        TestItem(path.name, str(k), t) for k, doc in enumerate(load_file(path, fmt)) for t in _doc_texts(doc)
    ]


def load_test_items(against: list[str], data_dir: str | Path | None = None) -> list[TestItem]:
    """Test items from task names and file paths."""
    found = []
    for name in against:
        path = Path(name)
        found += items_from_file(path) if path.suffix and path.is_file() else items_from_task(name, data_dir)
    return found


@dataclass(frozen=True)
class Hit:
    """A contaminated training row: the test item it overlaps and how much of it."""

    row: int
    where: str
    task: str
    item_id: str
    overlap: float
    ngram: str


class Index:
    """The test items' n-grams, by n-gram length (items shorter than n use their own length)."""

    def __init__(self, items: list[TestItem], ngram: int, char_ngram: int, min_tokens: int) -> None:
        self.items = items
        self.grams: dict[tuple[bool, int], dict[tuple[str, ...], set[int]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self.sizes: list[int] = []
        self.skipped = 0
        for k, item in enumerate(items):
            korean = _is_korean(item.text)
            tokens = units(item.text, korean)
            if len(tokens) < min_tokens:
                self.skipped += 1
                self.sizes.append(0)
                continue
            n = min(char_ngram if korean else ngram, len(tokens))
            grams = {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
            self.sizes.append(len(grams))
            for gram in grams:
                self.grams[(korean, n)][gram].add(k)

    def check(self, row: int, example: Example) -> Hit | None:
        """The test item this row overlaps most, if any."""
        found: dict[int, set[tuple[str, ...]]] = defaultdict(set)
        text = example.text()
        for (korean, n), table in self.grams.items():
            tokens = units(text, korean)
            for i in range(len(tokens) - n + 1):
                gram = tuple(tokens[i : i + n])
                for k in table.get(gram, ()):
                    found[k].add(gram)
        if not found:
            return None
        best = max(found, key=lambda k: (len(found[k]) / self.sizes[k], -k))
        gram = next(iter(sorted(found[best])))
        joiner = "" if _is_korean(self.items[best].text) else " "
        item = self.items[best]
        return Hit(
            row,
            example.where,
            item.task,
            item.item_id,
            len(found[best]) / self.sizes[best],
            joiner.join(gram),
        )


def find_contamination(
    examples: list[Example],
    items: list[TestItem],
    ngram: int = WORD_NGRAM,
    char_ngram: int = CHAR_NGRAM,
    min_tokens: int = MIN_TOKENS,
) -> tuple[list[Hit], int]:
    """Contaminated rows (1-based row numbers), and how many test texts were too short to check."""
    index = Index(items, ngram, char_ngram, min_tokens)
    hits = [hit for row, e in enumerate(examples, start=1) if (hit := index.check(row, e)) is not None]
    return hits, index.skipped


def line_of(where: str, row: int) -> int:
    """The 1-based line of a JSONL / CSV row, or the row number for JSON lists and Parquet."""
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else row


def decontaminate_file(  # noqa: PLR0913 - the matching choices
    path: Path,
    against: list[str],
    data_dir: str | None = None,
    ngram: int = 13,
    char_ngram: int = 20,
    drop: Path | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """`sllm data decontaminate`: the rows of `path` that share an n-gram with a test item of
    `against` (task names and files); `drop` gets the clean rows. The report."""
    from sllm.data.digest import DataFile, track_data
    from sllm.data.formats import kept_layout, load_examples, write_examples

    examples, layout = load_examples(path)
    items = load_test_items(against, data_dir)
    hits, skipped = find_contamination(examples, items, ngram, char_ngram)
    report: dict[str, Any] = {
        "n_checked": len(examples),
        "n_test_items": len(items),
        "n_test_items_too_short": skipped,
        "contaminated": [
            {"line": line_of(h.where, h.row), "row": h.row, "test_task": h.task, "test_id": h.item_id,
             "overlap": round(h.overlap, 4), "ngram": h.ngram}
            for h in hits
        ],
    }  # fmt: skip
    files = [DataFile(path.stem, path, examples, layout)]
    if drop is not None:
        bad = {h.row for h in hits}
        clean = [e for row, e in enumerate(examples, start=1) if row not in bad]
        written = write_examples(clean, drop, kept_layout(layout, drop))
        files.append(DataFile.output(drop, clean, written))
        report["written"] = str(drop)
    params = {"against": ",".join(against), "ngram": ngram, "char_ngram": char_ngram}
    metrics = {"n_checked": len(examples), "n_contaminated": len(hits)}
    report["run_id"] = track_data("decontaminate", files, params, metrics, track)
    return report
