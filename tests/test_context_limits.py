"""Inputs longer than the model's context window: a one-line error naming both lengths and where
the input came from, before any model work -- unless truncation is asked for, and then every cut
is recorded (samples.jsonl, results.json, `sllm generate --json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import FIXTURES
from helpers import run_cli

from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.generation.config import GenerationConfig, make_config
from sllm.models.base import GenerationRequest, LoglikelihoodRequest, RollingRequest
from sllm.models.context import ContextOverflowError
from sllm.models.tokens import request_tokens

LONG_TASKS = FIXTURES / "long_tasks"
CONFIG_WINDOW = "the context window of 8,192 tokens (max_position_embeddings of the model config)"
SPEC_WINDOW = "the context window of 64 tokens (max_length option of the model spec)"
HINT = "shorten it, lower max_new_tokens or pass --truncate left|right"
# Document 1 of the long_tasks fixture, as its template renders it.
LONG_PROMPT = (
    "The river flows past the old mill and under the stone bridge. " * 700
    + "\nQuestion: What does the river flow under?\nAnswer:"
)
TEXT = " ".join(f"item{i}" for i in range(60))  # about 120 tokens


@pytest.fixture
def small_window(default_lm):
    """The default model with a 64-token window, as `default,max_length=64` would give."""
    saved = default_lm.max_length, default_lm.window_source
    default_lm.max_length, default_lm.window_source = 64, "max_length option of the model spec"
    yield default_lm
    default_lm.max_length, default_lm.window_source = saved


def test_requests_that_fit_keep_their_cache_keys():
    # Existing caches stay valid: the new field is left out of keys of requests that needed no cut.
    assert "truncate" not in GenerationConfig().cache_key()
    assert GenerationConfig(truncate="left").cache_key()["truncate"] == "left"
    assert LoglikelihoodRequest("a", "b").cache_key() == {"context": "a", "continuation": "b"}
    assert LoglikelihoodRequest("a", "b", truncate=True).cache_key()["truncate"] is True


@pytest.mark.slow
def test_generate_cli_rejects_a_prompt_longer_than_the_window(default_lm):
    text = "hello world " * 9000
    n = len(default_lm.encode(text))
    result = run_cli("generate", "--raw", "--no-cache", "-", stdin=text)
    assert result.returncode == 1
    expected = (
        f"error: the prompt is {n:,} tokens; with max_new_tokens 256 it exceeds {CONFIG_WINDOW}; {HINT}"
    )
    assert expected in result.stderr.splitlines()
    assert result.stdout == ""


def test_generate_cli_truncate_left_keeps_the_end_and_says_so(default_lm):
    prompt = TEXT + " The capital of France is"
    n = len(default_lm.encode(prompt))
    result = run_cli(
        "generate", "--model", "default,max_length=64", "--raw", "--no-cache", "--json",
        "-n", "4", "--truncate", "left", prompt,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["truncated"] == {"side": "left", "from_tokens": n, "to_tokens": 60}
    assert f"warning: the prompt was cut from the left: {n} -> 60 tokens" in result.stderr
    bad = run_cli("generate", "--truncate", "middle", "Hi")
    assert bad.returncode == 2 and "--truncate: expected left or right, got 'middle'" in bad.stderr


def test_generation_over_the_window_fails_before_any_work_and_truncation_reads_the_kept_side(small_window):
    lm = small_window
    ids = lm.encode(TEXT)
    before = sum(lm.calls.values())
    with pytest.raises(ContextOverflowError) as caught:
        lm.generate([GenerationRequest(prompt=TEXT, config=make_config(max_new_tokens=4))])
    assert (
        str(caught.value)
        == f"the prompt is {len(ids):,} tokens; with max_new_tokens 4 it exceeds {SPEC_WINDOW}; {HINT}"
    )
    with pytest.raises(ContextOverflowError, match="^max_new_tokens \\(64\\) leaves no room for a prompt in"):
        lm.generate([GenerationRequest(prompt="Hi", config=make_config(max_new_tokens=64))])
    assert sum(lm.calls.values()) == before
    for side, kept in (("left", ids[-62:]), ("right", ids[:62])):
        shown = lm.tokenizer.decode(kept)
        assert lm.encode(shown) == kept  # so the plain prompt below is exactly the kept tokens
        cut = lm.generate(
            [GenerationRequest(prompt=TEXT, config=make_config(max_new_tokens=2, truncate=side))]
        )
        plain = lm.generate([GenerationRequest(prompt=shown, config=make_config(max_new_tokens=2))])
        assert cut == plain and cut[0].prompt_tokens == 62, side


def test_loglikelihood_over_the_window_is_an_error_and_left_truncation_scores_the_kept_context(small_window):
    lm = small_window
    context, continuation = request_tokens(lm.encode, lm.prefix_token_id, TEXT, " end")
    with pytest.raises(ContextOverflowError) as caught:
        lm.loglikelihood([LoglikelihoodRequest(TEXT, " end")])
    assert str(caught.value) == (
        f"context ({len(context):,} tokens) + continuation ({len(continuation)} tokens) exceed "
        f"{SPEC_WINDOW}; shorten it or pass --truncate left"
    )
    result = lm.loglikelihood([LoglikelihoodRequest(TEXT, " end", truncate=True)])[0]
    kept = context[len(context) + len(continuation) - 1 - 64 :]
    ids = torch.tensor([kept + continuation[:-1]])
    assert ids.shape[1] == 64
    with torch.no_grad():
        logprobs = torch.log_softmax(lm.model(ids).logits[0].float(), dim=-1)
    start = len(kept) - 1
    expected = sum(float(logprobs[start + i, t]) for i, t in enumerate(continuation))
    assert result.logprob == pytest.approx(expected, abs=1e-4)
    # Perplexity windows a long text by design: no error, every token scored once.
    rolling = lm.loglikelihood_rolling([RollingRequest(TEXT)])[0]
    assert rolling.n_tokens == len(lm.encode(TEXT))


def test_eval_names_task_document_and_lengths_before_running_the_model(default_lm):
    before = sum(default_lm.calls.values())
    with pytest.raises(ContextOverflowError) as caught:
        evaluate(EvalConfig(tasks=["long_gen"], include_paths=[str(LONG_TASKS)], track=False), lm=default_lm)
    n = len(default_lm.encode(LONG_PROMPT))
    assert str(caught.value) == (
        f"task long_gen, document 1: the prompt is {n:,} tokens; with max_new_tokens 4 it exceeds "
        f"{CONFIG_WINDOW}; {HINT}"
    )
    with pytest.raises(ContextOverflowError) as caught:
        evaluate(
            EvalConfig(tasks=["long_choice"], include_paths=[str(LONG_TASKS)], track=False), lm=default_lm
        )
    context, continuation = request_tokens(
        default_lm.encode, default_lm.prefix_token_id, LONG_PROMPT, " the stone bridge"
    )
    assert str(caught.value) == (
        f"task long_choice, document 1: context ({len(context):,} tokens) + continuation "
        f"({len(continuation)} tokens) exceed {CONFIG_WINDOW}; shorten it or pass --truncate left"
    )
    assert sum(default_lm.calls.values()) == before  # nothing was scored or generated


@pytest.mark.slow
def test_eval_cli_over_long_document_is_one_error_line(tmp_path: Path):
    result = run_cli(
        "eval", "--tasks", "long_gen", "--include-path", str(LONG_TASKS),
        "--no-track", "--no-cache", "-o", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: task long_gen, document 1: the prompt is ")
    assert errors[0].endswith(f"it exceeds {CONFIG_WINDOW}; {HINT}")
    bad = run_cli("eval", "--tasks", "long_gen", "--include-path", str(LONG_TASKS), "--truncate", "middle")
    assert bad.returncode == 2 and "--truncate: Input should be 'left' or 'right', got 'middle'" in bad.stderr


def test_eval_truncate_left_records_each_cut_in_samples_and_counts_them_in_results(small_window, tmp_path):
    from sllm.evaluation.records import write_records

    config = EvalConfig(
        tasks=["long_gen", "long_choice"], include_paths=[str(LONG_TASKS)], truncate="left", track=False
    )
    summary = write_records(evaluate(config, lm=small_window), tmp_path)
    assert summary["results"]["long_gen"]["truncated"] == 1
    assert summary["results"]["long_choice"]["truncated"] == 1
    lm = small_window
    rows = [json.loads(line) for line in Path(summary["samples"]).read_text().splitlines()]
    cuts = {(r["task"], r["doc_id"]): r.get("truncated") for r in rows}
    n = len(lm.encode(LONG_PROMPT))
    # Each choice keeps 65 - (its tokens) of the context; the record names the deepest cut.
    pairs = [
        request_tokens(lm.encode, lm.prefix_token_id, LONG_PROMPT, c)
        for c in (" the stone bridge", " the mill")
    ]
    context = len(pairs[0][0])
    assert cuts == {
        ("long_gen", 0): None,
        ("long_gen", 1): {"side": "left", "from_tokens": n, "to_tokens": 60},
        ("long_gen", 2): None,
        ("long_choice", 0): None,
        ("long_choice", 1): {
            "side": "left",
            "from_tokens": context,
            "to_tokens": min(65 - len(cont) for _, cont in pairs),
        },
        ("long_choice", 2): None,
    }
    # The prompt recorded is the whole prompt; "truncated" says what the model read of it.
    assert next(r["prompt"] for r in rows if (r["task"], r["doc_id"]) == ("long_gen", 1)) == LONG_PROMPT
    results = json.loads((Path(summary["samples"]).parent / "results.json").read_text())
    assert results["config"]["truncate"] == "left"


def test_a_chat_turn_that_outgrows_the_window_fails_and_leaves_the_history_as_it_was():
    from sllm.models.chat import ChatSession

    session = ChatSession("Be brief.")
    assert session.handle("Hi", lambda messages: "Hello!") == "Hello!"

    def overflow(messages):
        raise ContextOverflowError("the prompt is 9,000 tokens; ...")

    with pytest.raises(ContextOverflowError):
        session.handle("a very long question", overflow)
    assert session.messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
