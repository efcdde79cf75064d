"""Token-level request building shared by the local backends, matching lm-evaluation-harness.

Context and continuation are tokenised together and split at the context's length, so a
continuation whose first token merges with the end of the context is scored on the tokens the
model would really see (lm-eval's `_encode_pair`). Rolling log-likelihood uses lm-eval's
disjoint windows with one token of context, so perplexities agree with its numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Encode = Callable[[str], list[int]]


def encode_pair(encode: Encode, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Tokenise context+continuation jointly and split at the context's token count."""
    # Trailing spaces of the context belong to the continuation, as in lm-eval.
    stripped = len(context) - len(context.rstrip(" "))
    if stripped:
        continuation = context[-stripped:] + continuation
        context = context[:-stripped]
    whole = encode(context + continuation)
    context_ids = encode(context)
    return whole[: len(context_ids)], whole[len(context_ids) :]


def rolling_windows(
    tokens: list[int], prefix_token: int, max_seq_len: int
) -> Iterator[tuple[list[int], list[int]]]:
    """Yield (context, continuation) windows that together predict every token exactly once."""
    if not tokens:
        return
    # First window: the prefix token predicts the first min(len, max_seq_len) tokens.
    first = tokens[:max_seq_len]
    yield [prefix_token], first
    predicted = len(first)
    while predicted < len(tokens):
        size = min(len(tokens) - predicted, max_seq_len)
        end = predicted + size
        # Each later window sees as much preceding text as fits (one-token overlap minimum).
        window = tokens[max(end - max_seq_len - 1, 0) : end]
        yield window[: len(window) - size], window[len(window) - size :]
        predicted = end
