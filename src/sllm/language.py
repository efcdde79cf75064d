"""Which script a text is written in: Korean-first tools pick tokenizers and prompts by it."""

from __future__ import annotations

from collections.abc import Iterable

# Above this share of Hangul letters a text is treated as Korean (mixed Korean/English technical
# text is typically 50-90 % Hangul; an English text quoting one Korean word stays far below).
KOREAN_SHARE = 0.3


def is_hangul(char: str) -> bool:
    """A Hangul syllable or compatibility jamo."""
    return "\uac00" <= char <= "\ud7a3" or "\u3131" <= char <= "\u318e"


def hangul_ratio(texts: Iterable[str]) -> float:
    """Share of letters that are Hangul syllables or jamo."""
    letters = [c for t in texts for c in t if c.isalpha()]
    return sum(map(is_hangul, letters)) / len(letters) if letters else 0.0


def looks_korean(texts: Iterable[str]) -> bool:
    """Mostly Hangul (see KOREAN_SHARE)."""
    return hangul_ratio(texts) > KOREAN_SHARE


SCRIPTS = ("hangul", "latin", "other")


def is_latin(char: str) -> bool:
    """A letter of the Latin script: ASCII, Latin-1 and the Latin Extended blocks."""
    return char.isascii() or "\u00c0" <= char <= "\u024f" or "\u1e00" <= char <= "\u1eff"


def main_script(text: str) -> str:
    """'hangul' when the text looks Korean (Hangul above KOREAN_SHARE of its letters, as
    `looks_korean`), else 'latin' when most of its letters are Latin, else 'other' (another
    script, or no letters at all)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "other"
    if sum(map(is_hangul, letters)) / len(letters) > KOREAN_SHARE:
        return "hangul"
    return "latin" if sum(map(is_latin, letters)) / len(letters) > 0.5 else "other"
