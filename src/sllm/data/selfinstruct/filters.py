"""Self-Instruct's parsing and filters, made to work on Korean.

The original keeps an instruction only if it has 4-150 words, no blacklisted keyword (tasks a
text model cannot do), does not start with punctuation or "Write a program", starts with an
ASCII character (dropping every Korean instruction -- not here), and has ROUGE-L < 0.7 with
every instruction already in the pool, computed with rouge-score's tokenizer (which deletes
Hangul, so two different Korean instructions would score 1.0 or 0 -- not here: Korean text is
tokenized into morphemes with kiwi, other text with rouge-score's own tokenizer).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

from sllm.data.selfinstruct.prompts import EXAMPLE_MARK, LABEL_MARK, OUTPUT_MARK

BLACKLIST = {
    "en": ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
           "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram"],
    "ko": ["이미지", "그림", "그래프", "사진", "파일", "지도", "그리세요", "그려", "동영상", "영상", "음악",
           "오디오", "순서도", "다이어그램"],
}  # fmt: skip
#: U+FFFD, what a decoder writes for broken bytes: such text must not become training data
BROKEN = "\ufffd"
BROKEN_REASON = "contains U+FFFD (a broken character)"


@lru_cache(maxsize=100_000)
def _tokens(text: str) -> tuple[str, ...]:
    from sllm.language import hangul_ratio
    from sllm.metrics.tokenizers import get_tokenizer

    name = "ko" if hangul_ratio([text]) > 0 else "default"
    return tuple(get_tokenizer(name).tokenize(text))


class MixedTokenizer:
    """rouge-score's tokenizer interface: kiwi morphemes for text with Hangul, else rouge's own."""

    def tokenize(self, text: str) -> list[str]:
        """Tokens of one text (memoised: the pool is compared many times)."""
        return list(_tokens(text))


class RougeFilter:
    """ROUGE-L F1 of a candidate against every instruction in the pool (rouge-score's scorer)."""

    def __init__(self, pool: list[str], threshold: float = 0.7) -> None:
        from rouge_score import rouge_scorer

        self.scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=MixedTokenizer())
        self.pool = list(pool)
        self.threshold = threshold

    def closest(self, candidate: str) -> tuple[float, str]:
        """The highest ROUGE-L with the pool and the instruction that has it."""
        best = (0.0, "")
        for other in self.pool:
            score = self.scorer.score(other, candidate)["rougeL"].fmeasure
            if score > best[0]:
                best = (score, other)
        return best

    def add(self, instruction: str) -> None:
        """Put an accepted instruction into the pool."""
        self.pool.append(instruction)


def split_instructions(reply: str, next_number: int) -> list[str]:
    """The model continues a numbered list after "N.": the text up to each next number."""
    text = f"{next_number}.{reply}"
    parts = re.split(r"(?:^|\n)\s*\d+\s?\.\s*", text)
    return [re.sub(r"\s+", " ", p).strip() for p in parts if p.strip()]


def _has_word(word: str, text: str) -> bool:
    if re.search(r"[\uac00-\ud7a3]", word):
        return word in text  # Korean attaches particles to words: a substring test
    return re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE) is not None


def instruction_problem(
    instruction: str, language: str, min_words: int = 4, max_words: int = 150
) -> str | None:
    """Why an instruction is rejected before the ROUGE-L check, or None."""
    if BROKEN in instruction:
        return BROKEN_REASON
    words = len(instruction.split())
    if words < min_words or words > max_words:
        return f"length {words} words (allowed {min_words}-{max_words})"
    for word in BLACKLIST["en"] + BLACKLIST["ko"]:
        if _has_word(word, instruction):
            return f"blacklisted keyword '{word}'"
    if instruction[0] in string.punctuation:
        return "starts with punctuation"
    if instruction.lower().startswith("write a program"):
        return "starts with 'Write a program'"
    return None


@dataclass(frozen=True)
class Instance:
    """One generated input / output pair."""

    input: str
    output: str


def parse_instances(reply: str, classification: bool, language: str) -> list[Instance]:
    """Instances from a reply: "Class label: L" then its input (output-first), or inputs then
    "Output:" (input-first, with "Example N" markers when there are several)."""
    reply = reply.split("\n\nTask:")[0].split("\n\n작업:")[0]
    if classification:
        chunks = re.split(rf"\n?{re.escape(LABEL_MARK[language])}", reply)
        found = []
        for chunk in chunks:
            label, _, rest = chunk.strip().partition("\n")
            if label.strip():
                found.append(Instance(_strip_field(rest), label.strip()))
        return found
    mark = OUTPUT_MARK[language]
    chunks = re.split(rf"(?:^|\n){EXAMPLE_MARK[language]}\s*\d+\s*\n", reply)
    found = []
    for chunk in chunks:
        if mark not in chunk:
            continue
        given, _, output = chunk.partition(mark)
        found.append(Instance(_strip_field(given), output.strip()))
    if not found and reply.strip():
        found.append(Instance("", reply.strip()))  # no input needed: the reply is the output
    return found


def _strip_field(text: str) -> str:
    """Drop a leading "Sentence:" / "문장:" style field name from an input."""
    text = text.strip()
    return re.sub(r"^[^\n:]{1,30}:\s*", "", text) if re.match(r"^[^\n:]{1,30}:", text) else text


def instance_problem(instruction: str, instance: Instance, max_words: int = 1000) -> str | None:
    """Why an instance is dropped (prepare_for_finetuning's checks), or None."""
    if BROKEN in instance.input or BROKEN in instance.output:
        return BROKEN_REASON
    if not instance.output.strip():
        return "empty output"
    if instance.input.strip() == instance.output.strip():
        return "output repeats the input"
    if instance.output.strip() == instruction.strip():
        return "output repeats the instruction"
    if len(instance.output.split()) > max_words:
        return f"output over {max_words} words"
    return None
