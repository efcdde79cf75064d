"""The safety pass: personal data found by pattern (Korean resident registration numbers, Korean
mobile / landline / +82 numbers, e-mail addresses, card numbers that pass the Luhn check, US
SSNs), and optionally a judge's harm rating. Rows are removed -- or, with masking, kept with each
match replaced by a placeholder such as [RRN].

Written by hand: Presidio, the usual library, needs a downloaded spaCy model and has no
recognizers for Korean phone numbers; these patterns are few and easy to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.result import FilterResult, Removed

_D = r"(?<![\d-])"  # not inside a longer number
_E = r"(?![\d-])"
PATTERNS: dict[str, re.Pattern[str]] = {
    # YYMMDD-GNNNNNN; G is 1-4 for citizens, 5-8 for foreign residents. Numbers issued since
    # October 2020 have random trailing digits, so the old checksum is not required.
    "rrn_ko": re.compile(_D + r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?-?\s?[1-8]\d{6}" + _E),
    "phone_ko": re.compile(
        r"(?:\+82[-.\s]?0?1[016789]|"
        + _D
        + r"01[016789])[-.\s]?\d{3,4}[-.\s]?\d{4}"
        + _E
        + r"|(?:\+82[-.\s]?0?|"
        + _D
        + r"0)(?:2|[3-6][1-5]|70)[-.)\s]{0,2}\d{3,4}[-.\s]?\d{4}"
        + _E
    ),
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "card": re.compile(_D + r"(?:\d[ -]?){12,18}\d" + _E),
    "ssn_us": re.compile(_D + r"\d{3}-\d{2}-\d{4}" + _E),
}
PLACEHOLDER = {
    "rrn_ko": "[RRN]",
    "phone_ko": "[PHONE]",
    "email": "[EMAIL]",
    "card": "[CARD]",
    "ssn_us": "[SSN]",
}


def luhn(digits: str) -> bool:
    """The Luhn checksum of a card number."""
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if k % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@dataclass(frozen=True)
class Match:
    """One piece of personal data: its kind and where it is."""

    kind: str
    start: int
    end: int
    value: str

    def shown(self) -> str:
        """The value with all but its first few characters starred (reports never repeat PII)."""
        keep = max(2, len(self.value) // 3)
        return self.value[:keep] + "*" * (len(self.value) - keep)


def find_pii(text: str) -> list[Match]:
    """Personal data in a text, earlier kinds winning where matches overlap."""
    found: list[Match] = []
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            if any(m.start() < f.end and f.start < m.end() for f in found):
                continue
            if kind == "card":
                digits = re.sub(r"\D", "", m.group())
                if not (13 <= len(digits) <= 19 and luhn(digits)):
                    continue
            found.append(Match(kind, m.start(), m.end(), m.group()))
    return sorted(found, key=lambda f: f.start)


def mask_pii(text: str, matches: list[Match]) -> str:
    """The text with each match replaced by its placeholder."""
    for f in sorted(matches, key=lambda f: -f.start):
        text = text[: f.start] + PLACEHOLDER[f.kind] + text[f.end :]
    return text


def _masked(example: Example) -> Example:
    from dataclasses import replace

    messages = [{**m, "content": mask_pii(m["content"], find_pii(m["content"]))} for m in example.messages]
    fields = {
        k: mask_pii(v, find_pii(v)) if isinstance(v, str) else v
        for k, v in (("instruction", example.instruction), ("input", example.input))
    }
    return replace(example, messages=messages, **fields)


def safety_filter(
    examples: list[Example],
    mask: bool = False,
    harm: list[float | None] | None = None,
    harm_threshold: float = 3.0,
) -> FilterResult:
    """Remove (or mask) rows with personal data; remove rows a judge rated >= harm_threshold."""
    kept, removed = [], []
    masked = 0
    for k, example in enumerate(examples):
        rating = harm[k] if harm is not None else None
        if harm is not None and rating is None:
            removed.append(Removed(example, "unparsed", {"harm": None}))
            continue
        if rating is not None and rating >= harm_threshold:
            removed.append(Removed(example, "harmful", {"harm": rating}))
            continue
        matches = [m for message in example.messages for m in find_pii(message["content"])]
        if not matches:
            kept.append(example)
        elif mask:
            kept.append(_masked(example))
            masked += 1
        else:
            detail: dict[str, Any] = {"pii": [{"kind": m.kind, "value": m.shown()} for m in matches]}
            removed.append(Removed(example, "pii:" + ",".join(sorted({m.kind for m in matches})), detail))
    return FilterResult(kept, removed, {"masked": masked, "harm_threshold": harm_threshold if harm else None})
