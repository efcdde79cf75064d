"""Seeded train / validation / test splits that keep near-duplicates together.

Rows are first grouped (exact and near-duplicates, `near_dup.py`), so a paraphrase can never sit
on both sides of a split; groups are shuffled with the seed inside each stratum and each group
goes to the split furthest below its target size, which keeps the proportions per stratum."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from sllm.data.examples import Example
from sllm.data.near_dup import near_duplicate_groups
from sllm.errors import SllmError, UsageError

SPLITS = ("train", "validation", "test")


def parse_fractions(text: str) -> dict[str, float]:
    """ "0.8,0.1,0.1" -> train / validation / test fractions (two values: no validation split)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--fractions must be numbers like 0.8,0.1,0.1, got '{text}'") from None
    names = SPLITS if len(values) == 3 else ("train", "test") if len(values) == 2 else None
    if names is None or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise UsageError(f"--fractions needs 2 or 3 non-negative values summing to 1, got '{text}'")
    return dict(zip(names, values, strict=True))


def split_examples(
    examples: list[Example],
    fractions: dict[str, float],
    seed: int = 0,
    stratify: str | None = None,
    threshold: float | None = 0.8,
) -> tuple[dict[str, list[Example]], int]:
    """Split; returns the splits (rows in file order) and how many rows were grouped with another."""
    texts = [e.text() for e in examples]
    if threshold:
        first = near_duplicate_groups(texts, threshold).first
    else:  # exact duplicates are always kept together
        seen: dict[str, int] = {}
        first = [seen.setdefault(t, i) for i, t in enumerate(texts)]
    groups: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(first):
        groups[root].append(i)
    strata: dict[str, list[list[int]]] = defaultdict(list)
    for root, members in groups.items():
        key = ""
        if stratify:
            if stratify not in examples[root].meta:
                raise SllmError(f"{examples[root].where}: missing field '{stratify}' (--stratify)")
            key = str(examples[root].meta[stratify])
        strata[key].append(members)
    assigned: dict[str, list[int]] = {name: [] for name in fractions}
    rng = random.Random(seed)
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        total = sum(len(m) for m in members)
        counts = dict.fromkeys(fractions, 0)
        for group in members:
            # the split furthest below its target share of this stratum takes the group
            name = max(fractions, key=lambda n: (fractions[n] * total - counts[n], fractions[n]))
            counts[name] += len(group)
            assigned[name] += group
    grouped = sum(len(m) for m in groups.values() if len(m) > 1)
    return {name: [examples[i] for i in sorted(rows)] for name, rows in assigned.items()}, grouped


def split_file(  # noqa: PLR0913 - the split choices
    path: Path,
    out_dir: Path,
    fractions: str = "0.8,0.1,0.1",
    seed: int = 0,
    stratify: str | None = None,
    threshold: float = 0.8,
    track: bool = True,
) -> dict[str, Any]:
    """`sllm data split`: write OUT_DIR/<split><suffix> in the input's layout (near-duplicates at
    Jaccard >= `threshold` kept in one split; 0: exact duplicates only); the report."""
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import kept_layout, load_examples, write_examples

    shares = parse_fractions(fractions)
    examples, layout = load_examples(path)
    splits, grouped = split_examples(examples, shares, seed, stratify, threshold or None)
    files = [DataFile(path.stem, path, examples, layout)]
    suffix = path.suffix if path.suffix in (".jsonl", ".json", ".csv", ".parquet") else ".jsonl"
    result: dict[str, Any] = {"input": str(path), "seed": seed, "grouped_rows": grouped, "splits": {}}
    for name, rows in splits.items():
        target = out_dir / f"{name}{suffix}"
        written = write_examples(rows, target, kept_layout(layout, target))
        files.append(DataFile(name, target, rows, written, "output"))
        result["splits"][name] = {"path": str(target), "rows": len(rows), "digest": dataset_digest(rows)}
    params = {"fractions": fractions, "seed": seed, "stratify": stratify, "near_dup_threshold": threshold}
    result["run_id"] = track_data("split", files, params, None, track)
    return result
