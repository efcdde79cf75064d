"""Correlation of judge scores with human scores (scipy's Pearson, Spearman and Kendall tau-b).

Levels, as the meta-evaluation literature reports them:
- sample: over all (judge, human) pairs;
- group: within each group (the document / dialogue context every candidate answers), then the
  mean over groups -- G-Eval's "summary-level" way; a group whose judge or human scores are all
  equal has no correlation and is skipped (G-Eval's code does the same), and the count is kept;
- system: the mean score of each system first, then one correlation over systems.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sllm.errors import SllmError, UsageError

LEVELS = ("sample", "group", "system")


def _three(judge: Sequence[float], human: Sequence[float]) -> dict[str, float]:
    return {
        "pearson": float(stats.pearsonr(judge, human).statistic),
        "spearman": float(stats.spearmanr(judge, human).statistic),
        "kendall": float(stats.kendalltau(judge, human).statistic),
    }


def correlate(
    judge: Sequence[float], human: Sequence[float], level: str = "sample", groups: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Correlations at one level; `groups` holds the group (or system) of every pair."""
    if level not in LEVELS:
        raise UsageError(f"--level must be one of {', '.join(LEVELS)}, got '{level}'")
    if len(judge) != len(human):
        raise SllmError(f"{len(judge)} judge scores but {len(human)} human scores")
    if level == "sample":
        if len(judge) < 2:
            raise SllmError("a correlation needs at least two scored items")
        return {**_three(judge, human), "level": level, "n": len(judge)}
    if groups is None:
        raise UsageError(f"--level {level} needs --group-by FIELD")
    members: dict[Any, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        members[group].append(index)
    if level == "system":
        means = [
            (np.mean([judge[i] for i in idx]), np.mean([human[i] for i in idx])) for idx in members.values()
        ]
        if len(means) < 2:
            raise SllmError("a system-level correlation needs at least two systems")
        return {**_three([m[0] for m in means], [m[1] for m in means]), "level": level, "n": len(means)}
    per_group, skipped = [], 0
    for idx in members.values():
        j, h = [judge[i] for i in idx], [human[i] for i in idx]
        if len(set(j)) <= 1 or len(set(h)) <= 1:
            skipped += 1
            continue
        per_group.append(_three(j, h))
    if not per_group:
        raise SllmError("every group has constant judge or human scores; no group-level correlation")
    averaged = {k: float(np.mean([g[k] for g in per_group if not math.isnan(g[k])])) for k in per_group[0]}
    return {**averaged, "level": level, "n": len(per_group), "skipped_groups": skipped}


def correlate_files(  # noqa: PLR0913 - the pairing choices
    scores: Path,
    reference: Path | None = None,
    field: str = "score",
    reference_field: str = "score",
    level: str = "sample",
    group_by: str | None = None,
) -> dict[str, Any]:
    """`sllm correlate`: judge scores (`field` of `scores`) against human scores (`reference_field`
    of `reference`, or of the same file), paired in file order; rows without a number on either
    side are counted as `unscored`, never a silent NaN."""
    import json

    from sllm.metaeval.records import field_value, number, read_records

    rows = read_records(scores)
    human_rows = read_records(reference) if reference else rows
    if len(rows) != len(human_rows):
        raise SllmError(f"{scores} has {len(rows)} rows but {reference} has {len(human_rows)}")
    judge_values, human_values, groups, unscored = [], [], [], 0
    for (where, row), (human_where, human_row) in zip(rows, human_rows, strict=True):
        value, truth = number(row, field, where), number(human_row, reference_field, human_where)
        if value is None or truth is None:
            unscored += 1
            continue
        judge_values.append(value)
        human_values.append(truth)
        if group_by:
            groups.append(json.dumps(field_value(row, group_by, where), sort_keys=True, default=str))
    result = correlate(judge_values, human_values, level, groups if group_by else None)
    result["unscored"] = unscored
    return result
