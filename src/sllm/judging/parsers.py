"""Judge-reply parsers by the name a judge YAML gives as `parser:`, in one registry.

Each parser reads the judge's final verdict from a reply and carries the instruction appended
when a reply did not parse. Third-party packages add parsers through the entry-point group
`sllm.judge_parsers` (a `JudgeParser` object); a judge YAML naming an unknown parser is refused
when the config is read, with the close matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sllm.judging.parse import Candidates, parse_arena, parse_first_line_score, parse_pairwise, parse_rating
from sllm.plugins import Registry


@dataclass(frozen=True)
class JudgeParser:
    """How to read one kind of verdict, and what to tell a judge whose reply did not parse."""

    #: (reply, candidates' texts, the judge's scale or None) -> the verdict, or None when absent
    read: Callable[[str, Candidates, Sequence[float] | None], Any]
    retry: str


_ONLY = "Your reply did not end with a {what} in the required format. Reply with only {form}."

PARSERS: Registry[JudgeParser] = Registry("judge parser", group="sllm.judge_parsers")
PARSERS.add(
    "rating",
    JudgeParser(
        lambda reply, candidates, scale: parse_rating(reply, candidates, scale),
        _ONLY.format(what="rating", form='the rating, e.g. "Rating: [[5]]"'),
    ),
)
PARSERS.add(
    "pairwise_abc",
    JudgeParser(
        lambda reply, candidates, _scale: parse_pairwise(reply, candidates),
        _ONLY.format(what="verdict", form='"[[A]]", "[[B]]" or "[[C]]"'),
    ),
)
PARSERS.add(
    "arena_hard",
    JudgeParser(
        lambda reply, candidates, _scale: parse_arena(reply, candidates),
        _ONLY.format(what="verdict", form='one of "[[A>>B]]", "[[A>B]]", "[[A=B]]", "[[B>A]]", "[[B>>A]]"'),
    ),
)
PARSERS.add(
    "first_line_score",
    JudgeParser(
        lambda reply, candidates, scale: parse_first_line_score(reply, scale, candidates),
        "Your reply did not start with the score. Reply with only the score on the first line (a number, "
        "e.g. 4.5), then your explanation.",
    ),
)
