"""Generated tokens to text that never ends in part of a character.

A byte-level tokenizer spends one to four tokens on a Hangul syllable (three UTF-8 bytes), so a
generation stopped by its token limit can end between the bytes of one character; decoding those
bytes gives U+FFFD (the replacement character), e.g. "서울에 �". The rules here are the ones
streaming detokenisers use (vLLM, transformers' TextStreamer):

- at a length stop, a trailing run of one to three U+FFFD is a character cut short and is left
  out (an incomplete character has at most three bytes, and a decoder replaces them by one U+FFFD,
  or by one per byte for byte-fallback tokenizers); a U+FFFD anywhere else, or a longer run, is
  what the model wrote and stays;
- while streaming, tokens are held back as long as the text they complete ends in U+FFFD.

The text-level rule serves every backend alike, whether it decodes ids itself (transformers) or
returns text (llama.cpp, vLLM, OpenAI-compatible servers), and results read back from the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

REPLACEMENT = "\ufffd"
#: the most U+FFFD one cut character decodes to: the bytes of a 4-byte character but its last
MAX_CUT_RUN = 3

Decode = Callable[[Sequence[int]], str]


def drop_cut_character(text: str) -> str:
    """Text without the U+FFFD that an incomplete last character decodes to."""
    kept = text.rstrip(REPLACEMENT)
    return kept if len(text) - len(kept) <= MAX_CUT_RUN else text


def finished_text(text: str, finish_reason: str) -> str:
    """The text a generation shows: a character cut by the token limit is left out."""
    return drop_cut_character(text) if finish_reason == "length" else text


class TextStream:
    """Incremental detokenisation: feed token ids as they come, get back only whole characters.

    Each piece is the decode of a window that starts a few tokens back (vLLM's prefix / read
    offsets), minus what that window's earlier part decoded to, so tokenizers that render a token
    differently at the start of a text (SentencePiece's leading space) stream correctly, and the
    cost per token does not grow with the length of the text.
    """

    def __init__(self, decode: Decode) -> None:
        self.decode = decode
        self.ids: list[int] = []
        self.prefix = 0  # start of the decoding window
        self.read = 0  # tokens up to here have been emitted

    def push(self, ids: Iterable[int]) -> str:
        """Add generated tokens; return the new complete text (empty while a character is pending)."""
        self.ids.extend(ids)
        shown, text = self._window()
        if len(text) <= len(shown) or text.endswith(REPLACEMENT):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return text[len(shown) :]

    def finish(self, finish_reason: str) -> str:
        """The held-back rest at the end: a character cut by the token limit is left out."""
        shown, text = self._window()
        self.prefix = self.read = len(self.ids)
        rest = text[len(shown) :]
        return finished_text(rest, finish_reason) if len(text) > len(shown) else ""

    def _window(self) -> tuple[str, str]:
        window = self.ids[self.prefix :]
        return self.decode(window[: self.read - self.prefix]), self.decode(window)
