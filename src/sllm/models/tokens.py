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
    """Tokenise context+continuation jointly; the continuation is what follows the shared prefix.

    This equals lm-eval's split (at the context's token count) whenever the joint tokenisation
    starts with the context's own tokens. Where the last context token merges with the
    continuation ("Hello wor" + "ld" -> "Hello", " world"), lm-eval's split would leave an empty
    or misattributed continuation; we split after the longest common prefix instead, so the
    merged token is scored as part of the continuation, as the model really sees it.
    """
    # Trailing spaces of the context belong to the continuation, as in lm-eval.
    stripped = len(context) - len(context.rstrip(" "))
    if stripped:
        continuation = context[-stripped:] + continuation
        context = context[:-stripped]
    whole = encode(context + continuation)
    context_ids = encode(context)
    shared = 0
    for a, b in zip(whole, context_ids):
        if a != b:
            break
        shared += 1
    return whole[:shared], whole[shared:]


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


def request_tokens(
    encode: Encode, prefix_token: int, context: str, continuation: str
) -> tuple[list[int], list[int]]:
    """Token ids of a log-likelihood request; an empty context becomes the prefix token."""
    if context:
        context_ids, continuation_ids = encode_pair(encode, context, continuation)
    else:
        context_ids, continuation_ids = [], encode(continuation)
    return context_ids or [prefix_token], continuation_ids
