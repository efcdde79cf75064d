"""Tokenizers for lexical metrics, passed explicitly: Korean must never silently score 0.

rouge-score's default tokenizer lowercases and replaces every character outside [a-z0-9] with a
space, so a Hangul sentence becomes no tokens at all and every Korean ROUGE is 0. `default` keeps
that behaviour for English parity; `whitespace`, `char` and `ko` keep every Unicode letter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from sllm.errors import unknown_name, warn
from sllm.language import looks_korean
from sllm.plugins import Registry

_WORD = re.compile(r"\w+", re.UNICODE)


class Tokenizer:
    """An object with `tokenize(text) -> list[str]`, the interface rouge-score expects."""

    def __init__(self, name: str, fn: Callable[[str], list[str]]) -> None:
        self.name = name
        self._fn = fn

    def tokenize(self, text: str) -> list[str]:
        """Split text into tokens."""
        return self._fn(text)


def _rouge_default(text: str) -> list[str]:
    from rouge_score import tokenize

    return tokenize.tokenize(text, None)


def _whitespace(text: str) -> list[str]:
    # Lowercased Unicode words: punctuation goes, Hangul and other scripts stay.
    return _WORD.findall(text.lower())


def _char(text: str) -> list[str]:
    return [c for c in text.lower() if not c.isspace()]


@lru_cache(maxsize=1)
def _kiwi():  # noqa: ANN202 - kiwipiepy.Kiwi, imported lazily (its model takes ~1 s to load)
    from kiwipiepy import Kiwi

    return Kiwi()


def _korean(text: str) -> list[str]:
    # Morpheme forms, punctuation (tags starting with S: SF, SP, SS, ...) dropped.
    return [
        t.form.lower()
        for t in _kiwi().tokenize(text)
        if not t.tag.startswith("S") or t.tag in ("SL", "SN", "SH")
    ]


#: text -> tokens functions by name; plugins add theirs under the entry-point group "sllm.tokenizers"
TOKENIZERS: Registry[Callable[[str], list[str]]] = Registry("tokenizer", group="sllm.tokenizers")
for _name, _fn in (
    ("default", _rouge_default),
    ("rouge", _rouge_default),
    ("whitespace", _whitespace),
    ("char", _char),
    ("ko", _korean),
):
    TOKENIZERS.add(_name, _fn)


def get_tokenizer(name: str) -> Tokenizer:
    """Return a named tokenizer; `model:PATH` tokenizes with a transformers tokenizer."""
    if name.startswith("model:"):
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(name.removeprefix("model:"))
        return Tokenizer(name, lambda text: hf.tokenize(text))
    if name not in TOKENIZERS:
        raise unknown_name("tokenizer", name, [*TOKENIZERS.names(), "model:PATH"])
    return Tokenizer(name, TOKENIZERS.get(name))


def tokenizer_names() -> list[str]:
    """Return the registered tokenizer names."""
    return TOKENIZERS.names()


# rouge-score's tokenizer keeps only [a-z0-9]: Hangul vanishes and Korean scores 0.
DROPS_HANGUL = {"default", "rouge"}


def choose_tokenizer(metric: str, texts: list[str], given: str | None) -> str | None:
    """The tokenizer for `metric` on `texts`: `given`, or `ko` for Korean text (with a warning
    naming the flag); None keeps the metric's own default. Warns when `given` drops Hangul."""
    korean = looks_korean(texts[:2000])
    if given is None:
        if not korean:
            return None
        warn(
            f"{metric}: the texts are Korean, so they are tokenized into morphemes (--tokenizer ko); "
            "pass --tokenizer default for the metric's English default"
        )
        return "ko"
    if korean and given in DROPS_HANGUL and metric != "bleu":
        warn(f"{metric}: tokenizer '{given}' drops Hangul, so Korean text scores 0; use --tokenizer ko")
    return given
