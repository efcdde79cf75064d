"""Answer extraction: named filter chains applied to generated text (lm-eval's filter_list).

A chain is a list of steps; each step maps the list of responses of one document (several when
a task samples repeatedly for self-consistency) to a new list. The chain's last value is the
extracted answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from sllm.errors import SllmError
from sllm.plugins import Registry

Step = Callable[[list[str]], list[str]]
INVALID = "[invalid]"
#: filter step factories by the name task YAML uses; plugins add theirs under "sllm.filters"
STEPS: Registry[Callable[..., Step]] = Registry("filter", group="sllm.filters")


def step(name: str) -> Callable[[Callable[..., Step]], Callable[..., Step]]:
    """Register a filter step factory under a name usable in task YAML."""
    return STEPS.register(name)


@step("regex")
def regex(pattern: str, group_select: int = 0, fallback: str = INVALID) -> Step:
    """Keep the group_select-th match; a tuple keeps its first non-empty group (lm-eval's RegexFilter)."""
    compiled = re.compile(pattern)

    def apply(responses: list[str]) -> list[str]:
        out = []
        for text in responses:
            matches = compiled.findall(text)
            if not matches:
                out.append(fallback)
                continue
            match = matches[group_select]
            if isinstance(match, tuple):
                match = next((m for m in match if m), fallback)
            out.append(match.strip())
        return out

    return apply


@step("take_first")
def take_first() -> Step:
    """Keep only the first response."""
    return lambda responses: responses[:1]


@step("take_first_k")
def take_first_k(k: int) -> Step:
    """Keep the first k responses (majority over fewer samples than were drawn)."""
    return lambda responses: responses[:k]


@step("majority_vote")
def majority_vote() -> Step:
    """Self-consistency: the most frequent answer (ties broken by first appearance)."""

    def apply(responses: list[str]) -> list[str]:
        counts = Counter(responses)
        best = max(counts.values())
        return [next(r for r in responses if counts[r] == best)]

    return apply


@step("last_number")
def last_number(fallback: str = INVALID) -> Step:
    """The last number in the text, thousands separators and a trailing period removed."""
    pattern = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")

    def apply(responses: list[str]) -> list[str]:
        out = []
        for text in responses:
            found = pattern.findall(text)
            out.append(found[-1].replace(",", "").replace("$", "").rstrip(".") if found else fallback)
        return out

    return apply


@step("first_choice_letter")
def first_choice_letter(letters: str = "ABCD", fallback: str = INVALID) -> Step:
    """The first standalone choice letter (A, (B), C., ...) in the text."""
    pattern = re.compile(rf"\b([{letters}])\b")

    def apply(responses: list[str]) -> list[str]:
        return [(m.group(1) if (m := pattern.search(t)) else fallback) for t in responses]

    return apply


@step("strip")
def strip() -> Step:
    """Trim whitespace."""
    return lambda responses: [r.strip() for r in responses]


@step("no_answer_to_empty")
def no_answer_to_empty(phrases: tuple[str, ...] = ("unanswerable", "no answer", "n/a", "답 없음")) -> Step:
    """Map "no answer" phrases to the empty answer (SQuAD 2.0's abstention)."""
    lowered = {p.lower() for p in phrases}
    return lambda responses: ["" if r.strip().strip(".").lower() in lowered else r for r in responses]


@step("first_line")
def first_line() -> Step:
    """The first non-empty line."""
    return lambda responses: [next((x.strip() for x in r.splitlines() if x.strip()), "") for r in responses]


@step("code_block")
def code_block() -> Step:
    """The first fenced code block (```python ... ```) when there is one, else the text unchanged."""
    pattern = re.compile(r"```[\w+-]*\n(.*?)(?:```|$)", re.DOTALL)
    return lambda responses: [(m.group(1) if (m := pattern.search(r)) else r) for r in responses]


@step("lowercase")
def lowercase() -> Step:
    """Lowercase."""
    return lambda responses: [r.lower() for r in responses]


def build_chain(steps: list[dict[str, Any]], where: str) -> list[Step]:
    """Turn YAML steps ({function: NAME, ...options}) into callables."""
    chain = []
    for spec in steps:
        options = dict(spec)
        name = options.pop("function", None)
        if name is None:
            raise SllmError(f"{where}: a filter step needs a 'function'")
        chain.append(STEPS.get(name)(**options))
    return chain


def map_chain(chain: list[Step], responses: list[str]) -> list[str]:
    """Run a chain's steps over every response, keeping them all (for pass@k over samples)."""
    for fn in chain:
        responses = fn(responses)
    return responses


def apply_chain(chain: list[Step], responses: list[str]) -> str:
    """Run a chain over one document's responses; return the extracted answer."""
    for fn in chain:
        responses = fn(responses)
    return responses[0] if responses else INVALID
