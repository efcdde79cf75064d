"""Style features for style-controlled Bradley-Terry (Arena-Hard-Auto / Chatbot Arena "style control").

Per answer: its length and its counts of markdown headers, list items and bold spans, counted
as arena-hard-auto's add_markdown_info (fenced code removed first). Per battle, each feature
enters the fit as (a - b) / (a + b + 1), then standardised over the battles (mean 0, population
standard deviation 1), as arena-hard-auto's construct_style_matrices. Length is in characters
unless the battle log gives token counts (Chatbot Arena's conv_metadata): the ratio form makes
the two nearly interchangeable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sllm.errors import UsageError

FEATURES = ("length", "headers", "lists", "bold")
GROUPS = {"length": ("length",), "markdown": ("headers", "lists", "bold"), "style": FEATURES}

_CODE = re.compile(r"```[^`]*```")
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_ORDERED = re.compile(r"^\s*\d+\.\s", re.MULTILINE)
_UNORDERED = re.compile(r"^\s*[-*+]\s", re.MULTILINE)
_BOLD = (re.compile(r"\*\*[^*\n]+\*\*"), re.compile(r"__[^_\n]+__"))


def style_of(text: str) -> tuple[float, float, float, float]:
    """(length in characters, headers, list items, bold spans) of one answer."""
    prose = _CODE.sub("", text)
    return (
        float(len(text)),
        float(len(_HEADER.findall(prose))),
        float(len(_ORDERED.findall(prose)) + len(_UNORDERED.findall(prose))),
        float(sum(len(p.findall(prose)) for p in _BOLD)),
    )


def style_from_metadata(meta: dict, side: str) -> tuple[float, float, float, float] | None:
    """Chatbot Arena's conv_metadata (sum_assistant_a_tokens, header_count_a, ...) for side a or b."""
    keys = (
        f"sum_assistant_{side}_tokens",
        f"header_count_{side}",
        f"list_count_{side}",
        f"bold_count_{side}",
    )
    if not all(k in meta for k in keys):
        return None
    values = [meta[k] for k in keys]
    # Counts come as a number or as a dict of sub-counts (h1..h6, ordered/unordered, **/__).
    return tuple(float(sum(v.values()) if isinstance(v, dict) else v) for v in values)  # type: ignore[return-value]


def parse_features(text: str) -> tuple[str, ...]:
    """`length`, `markdown`, `style` (both) or a comma list of features -> feature names in order."""
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part not in GROUPS and part not in FEATURES:
            raise UsageError(
                f"unknown style feature '{part}'; use length, markdown, style or {', '.join(FEATURES)}"
            )
        chosen += [f for f in GROUPS.get(part, (part,)) if f not in chosen]
    return tuple(f for f in FEATURES if f in chosen)


def style_columns(
    style_a: Sequence[Sequence[float]], style_b: Sequence[Sequence[float]], features: Sequence[str]
) -> np.ndarray:
    """Standardised (a - b) / (a + b + 1) per battle and feature (rows = battles)."""
    pick = [FEATURES.index(f) for f in features]
    a = np.asarray(style_a, dtype=float)[:, pick]
    b = np.asarray(style_b, dtype=float)[:, pick]
    ratio = (a - b) / (a + b + 1.0)
    std = ratio.std(axis=0)
    # A feature equal on every battle carries no information: a zero column, not a NaN.
    return np.where(std > 0, (ratio - ratio.mean(axis=0)) / np.where(std > 0, std, 1.0), 0.0)
