"""Decoding strategies on the real default model: determinism, seeds and equivalences."""

from __future__ import annotations

import pytest

from sllm.generation.config import make_config, preset
from sllm.models.base import GenerationRequest

PROMPTS = [
    "Once upon a time",
    "The best way to learn a language is",
    "My favourite food is",
    "In the year 2050, cities will",
    "A good friend is someone who",
]


def _texts(lm, config, prompts=PROMPTS):
    return [r.text for r in lm.generate([GenerationRequest(prompt=p, config=config) for p in prompts])]


def test_greedy_is_repeatable(default_lm):
    config = make_config(max_new_tokens=12)
    assert _texts(default_lm, config) == _texts(default_lm, config)


@pytest.mark.slow
def test_same_seed_same_sample_and_seeds_differ(default_lm):
    a = _texts(default_lm, preset("sample", seed=1, max_new_tokens=12))
    b = _texts(default_lm, preset("sample", seed=1, max_new_tokens=12))
    c = _texts(default_lm, preset("sample", seed=2, max_new_tokens=12))
    assert a == b
    assert sum(x != y for x, y in zip(a, c)) >= 4


def test_top_k_1_and_one_beam_equal_greedy(default_lm):
    greedy = _texts(default_lm, make_config(max_new_tokens=12))
    assert _texts(default_lm, make_config(strategy="sample", top_k=1, seed=5, max_new_tokens=12)) == greedy
    assert _texts(default_lm, make_config(strategy="beam", num_beams=1, max_new_tokens=12)) == greedy


def test_batched_greedy_equals_one_by_one(default_lm):
    config = make_config(max_new_tokens=10)
    batched = _texts(default_lm, config)
    single = [_texts(default_lm, config, [p])[0] for p in PROMPTS]
    assert batched == single


def test_beam_search_runs_and_differs_from_greedy_somewhere(default_lm):
    beam = _texts(default_lm, preset("beam", max_new_tokens=12))
    greedy = _texts(default_lm, make_config(max_new_tokens=12))
    assert all(isinstance(t, str) and t for t in beam)
    assert beam != greedy


def test_stop_sequence_cuts_text_and_reports_stop(default_lm):
    result = default_lm.generate_text("Count: 1, 2, 3,", make_config(max_new_tokens=30, stop=["6"]))
    assert "6" not in result.text and "5" in result.text
    assert result.finish_reason == "stop"
    assert result.n_tokens < 30


def test_max_new_tokens_and_length_finish(default_lm):
    result = default_lm.generate_text("1, 2, 3,", make_config(max_new_tokens=5))
    assert result.n_tokens == 5 and result.finish_reason == "length"


def test_chat_stops_at_eos_with_paris(default_lm):
    result = default_lm.chat(
        [{"role": "user", "content": "What is the capital of France?"}], make_config(max_new_tokens=40)
    )
    assert "Paris" in result.text
    assert result.finish_reason == "stop" and result.n_tokens < 40


def test_repetition_penalty_changes_repetitive_output(default_lm):
    prompt = "1, 1, 1, 1, 1, 1, 1, 1,"
    plain = default_lm.generate_text(prompt, make_config(max_new_tokens=10)).text
    penalised = default_lm.generate_text(prompt, make_config(max_new_tokens=10, repetition_penalty=2.0)).text
    assert plain.count("1") > penalised.count("1")


@pytest.mark.parametrize(
    "values, field",
    [
        ({"max_new_tokens": -1}, "max_new_tokens"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": 0.0}, "top_p"),
        ({"temperature": 0}, "temperature"),
        ({"num_beams": 3}, "config"),
    ],
)
def test_invalid_settings_name_the_field(values, field):
    from sllm.errors import UsageError

    with pytest.raises(UsageError, match=field):
        make_config(**values)


def test_presets_and_unknown_preset():
    from sllm.errors import UsageError

    assert preset("nucleus").top_p == 0.9 and preset("nucleus").strategy == "sample"
    assert preset("beam", num_beams=6).num_beams == 6
    with pytest.raises(UsageError, match="did you mean nucleus"):
        preset("nucleos")
