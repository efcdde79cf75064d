"""Log-likelihood on the real default model against a direct computation from its logits."""

from __future__ import annotations

import pytest
import torch

from sllm.models.base import LoglikelihoodRequest, RollingRequest
from sllm.models.hf import HFLM
from sllm.models.tokens import encode_pair, rolling_windows

REQUESTS = [
    LoglikelihoodRequest("The capital of France is", " Paris"),
    LoglikelihoodRequest("The capital of France is", " Berlin, a city in Germany"),
    LoglikelihoodRequest("Question: What is 2 + 2?\nAnswer:", " 4"),
    LoglikelihoodRequest("Hello wor", "ld"),  # 'wor' + 'ld' merge into one token when joined
    LoglikelihoodRequest("", "Hello world"),
    LoglikelihoodRequest("A short one.", " And a much longer continuation that spans many tokens."),
]


def direct_logprob(lm: HFLM, context: str, continuation: str) -> tuple[float, bool]:
    """Independent reference: one forward pass over the joint tokens, full logits, no batching."""
    whole = lm.encode(context + continuation)
    context_ids = lm.encode(context) if context else []
    # Boundary: the first token that is not identical to the context's own tokenisation.
    boundary = next(
        (i for i, (a, b) in enumerate(zip(whole, context_ids)) if a != b), min(len(whole), len(context_ids))
    )
    prefix = [] if boundary else [lm.prefix_token_id]
    ids = torch.tensor([prefix + whole])
    with torch.no_grad():
        logits = lm.model(ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    offset = len(prefix)
    targets = whole[boundary:]
    positions = range(offset + boundary - 1, offset + len(whole) - 1)
    total = sum(float(logprobs[p, t]) for p, t in zip(positions, targets))
    greedy = all(int(logprobs[p].argmax()) == t for p, t in zip(positions, targets))
    return total, greedy


def test_merge_case_really_merges(default_lm):
    context_ids, continuation_ids = encode_pair(default_lm.encode, "Hello wor", "ld")
    assert default_lm.encode("Hello wor")[-1] not in default_lm.encode("Hello world")
    assert continuation_ids and default_lm.tokenizer.decode(continuation_ids) == " world"
    assert default_lm.tokenizer.decode(context_ids) == "Hello"


def test_loglikelihood_equals_direct_computation(default_lm):
    results = default_lm.loglikelihood(REQUESTS)
    for request, result in zip(REQUESTS, results):
        expected, greedy = direct_logprob(default_lm, request.context, request.continuation)
        assert result.logprob == pytest.approx(expected, abs=1e-4), request
        assert result.is_greedy == greedy


def test_paris_is_greedy_and_likelier_than_berlin(default_lm):
    paris, berlin = default_lm.loglikelihood(
        [
            LoglikelihoodRequest("The capital of France is", " Paris"),
            LoglikelihoodRequest("The capital of France is", " Berlin"),
        ]
    )
    assert paris.is_greedy and paris.logprob > berlin.logprob


def test_batched_equals_one_by_one_and_padding_side_is_irrelevant(default_lm):
    batched = [r.logprob for r in default_lm.loglikelihood(REQUESTS)]
    single = [default_lm.loglikelihood([r])[0].logprob for r in REQUESTS]
    assert batched == pytest.approx(single, abs=1e-4)
    default_lm.options.score_padding = "left"
    try:
        left = [r.logprob for r in default_lm.loglikelihood(REQUESTS)]
    finally:
        default_lm.options.score_padding = "right"
    assert left == pytest.approx(batched, abs=1e-4)


def test_rolling_equals_sum_of_token_logprobs(default_lm):
    text = "The quick brown fox jumps over the lazy dog. It was not amused."
    result = default_lm.loglikelihood_rolling([RollingRequest(text)])[0]
    expected, _ = direct_logprob(default_lm, "", text)
    assert result.n_tokens == len(default_lm.encode(text))
    assert result.logprob == pytest.approx(expected, abs=1e-4)


def test_rolling_windows_predict_every_token_once():
    tokens = list(range(100, 123))
    windows = list(rolling_windows(tokens, prefix_token=1, max_seq_len=5))
    predicted = [t for _, cont in windows for t in cont]
    assert predicted == tokens
    for context, continuation in windows:
        assert len(context) + len(continuation) - 1 <= 5  # fits the model's window
        assert context  # every prediction has at least one token of context


def test_rolling_over_a_short_window_matches_long_window_within_tolerance(default_lm):
    text = " ".join(["The history of the city spans many centuries and many peoples."] * 4)
    long = default_lm.loglikelihood_rolling([RollingRequest(text)])[0].logprob
    saved = default_lm.max_length
    default_lm.max_length = 16
    try:
        short = default_lm.loglikelihood_rolling([RollingRequest(text)])[0].logprob
    finally:
        default_lm.max_length = saved
    # Less context can only make a repeated text less predictable, never free.
    assert short < long


def assert_shared_scoring_equals_plain(lm, requests):
    """Token-trie scores equal one plain sequence per request (to float rounding)."""
    shared = lm.loglikelihood(requests)
    lm.options.share_context = False
    try:
        plain = lm.loglikelihood(requests)
    finally:
        lm.options.share_context = True
    for a, b in zip(shared, plain, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert a.is_greedy == b.is_greedy and a.n_tokens == b.n_tokens


def test_shared_context_scoring_equals_plain_scoring(default_lm):
    contexts = ["Question: Which planet is red?\nAnswer:", "The weather today is", "A"]
    endings = [" Mars", " Jupiter is the largest planet", " B", " sunny and warm", " C"]
    requests = [LoglikelihoodRequest(c, e) for c in contexts for e in endings]
    requests.append(LoglikelihoodRequest("Unshared context", " once"))
    assert_shared_scoring_equals_plain(default_lm, requests)


def test_few_shot_prefix_shared_across_questions_equals_plain_scoring(default_lm):
    """Questions behind the same long few-shot block (MMLU 5-shot) share it in one token trie."""
    from sllm.models.tree_scoring import build_rows

    shots = "".join(
        f"Question: What is {a} plus {b}?\nA. {a + b}\nB. {a * b + 1}\nAnswer: A\n\n"
        for a, b in [(2, 3), (4, 1), (7, 5)]
    )
    questions = ["What is 6 plus 2?", "What is 9 plus 1?", "What is the capital of France?"]
    requests = [
        LoglikelihoodRequest(f"{shots}Question: {q}\nAnswer:", ending)
        for q in questions
        for ending in (" A", " B", " The answer is A")
    ]
    requests.append(LoglikelihoodRequest(shots, "Question: unrelated"))  # the bare prefix itself
    assert_shared_scoring_equals_plain(default_lm, requests)
    pairs = [(default_lm.encode(r.context), default_lm.encode(r.continuation)) for r in requests]
    rows, alone = build_rows(pairs, default_lm.costs)
    # one row: the few-shot block computed once, not once per question
    assert len(rows) == 1 and alone == []
    assert len(rows[0].tokens) < sum(len(c) for c, _ in pairs) / 3
