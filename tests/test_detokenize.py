"""Generated text never ends in part of a character: a token limit that falls between the bytes of a
Hangul syllable used to leave U+FFFD ("서울에 �"). Checked on the default model's real byte-level
tokenizer at every cut of a Korean text, through the transformers backend end to end, through the
streaming detokeniser, the cache, self-instruct's filters and `sllm data validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.generation.config import GenerationConfig
from sllm.models.base import GenerationRequest, GenerationResult
from sllm.models.detokenize import REPLACEMENT, TextStream, drop_cut_character, finished_text

# Written for this test: 3-byte Hangul, ASCII, digits and punctuation, so cuts fall everywhere.
KOREAN = "서울에 대해 한 문장으로 말해 주세요. 서울은 대한민국의 수도이며, 약 940만 명이 삽니다!"


@pytest.fixture(scope="module")
def tokenizer():  # noqa: ANN201
    """The default model's tokenizer only (no weights)."""
    from sllm.data.validate import load_tokenizer

    return load_tokenizer("default")


def _decode(tokenizer):  # noqa: ANN001, ANN202
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=True)


def _complete_prefix(tokenizer, ids: list[int]) -> str:  # noqa: ANN001
    """Independent oracle: the whole characters among the bytes of `ids`. A byte-level BPE token
    is written with one alphabet symbol per byte, so its length is its byte count."""
    size = sum(len(token) for token in tokenizer.convert_ids_to_tokens(ids))
    return KOREAN.encode("utf-8")[:size].decode("utf-8", errors="ignore")


def test_every_cut_of_a_korean_text_decodes_to_whole_characters(tokenizer) -> None:  # noqa: ANN001
    decode = _decode(tokenizer)
    ids = tokenizer(KOREAN, add_special_tokens=False)["input_ids"]
    assert decode(ids) == KOREAN
    cut_inside = 0
    for n in range(1, len(ids) + 1):
        raw = decode(ids[:n])
        cut_inside += raw.endswith(REPLACEMENT)
        text = drop_cut_character(raw)
        assert REPLACEMENT not in text and KOREAN.startswith(text), n
        assert text == _complete_prefix(tokenizer, ids[:n]), n  # nothing whole is dropped
    assert cut_inside > len(ids) // 3  # most cuts of Hangul land inside a syllable


def test_the_reported_case_keeps_the_space_and_drops_only_the_cut_syllable(tokenizer) -> None:  # noqa: ANN001
    decode = _decode(tokenizer)
    ids = tokenizer("서울에 대해", add_special_tokens=False)["input_ids"]
    cut = next(n for n in range(1, len(ids)) if decode(ids[:n]) == "서울에 \ufffd")
    assert drop_cut_character(decode(ids[:cut])) == "서울에 "


def test_only_a_cut_at_the_end_is_dropped() -> None:
    assert drop_cut_character("서울\ufffd") == "서울"
    assert drop_cut_character("서울\ufffd\ufffd\ufffd") == "서울"  # byte fallback: one per byte
    four = "서울" + REPLACEMENT * 4  # longer than any cut character: the model's own, kept
    assert drop_cut_character(four) == four
    assert drop_cut_character("서\ufffd울") == "서\ufffd울"
    assert drop_cut_character("") == ""
    assert finished_text("서울\ufffd", "length") == "서울"
    assert finished_text("서울\ufffd", "stop") == "서울\ufffd"  # a stop is not a cut


def test_hf_finish_holds_back_a_cut_character_at_every_limit(tokenizer) -> None:  # noqa: ANN001
    from sllm.models.hf_generate import finish_row

    ids = tokenizer(KOREAN, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    for limit in range(1, 41):
        result = finish_row(tokenizer, ids[:limit], {eos}, GenerationConfig(max_new_tokens=limit), 7)
        assert result.text == _complete_prefix(tokenizer, ids[:limit]), limit
        assert (result.n_tokens, result.finish_reason, result.prompt_tokens) == (limit, "length", 7)
    # an end token before the limit is a stop: the text is the decode as it is
    head = tokenizer("서울에 대해", add_special_tokens=False)["input_ids"]
    ended = finish_row(tokenizer, [*head, eos, eos], {eos}, GenerationConfig(max_new_tokens=len(head) + 2), 0)
    assert (ended.text, ended.n_tokens, ended.finish_reason) == ("서울에 대해", len(head), "stop")


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_streamed_pieces_are_whole_and_join_to_the_final_text(tokenizer, chunk: int) -> None:  # noqa: ANN001
    decode = _decode(tokenizer)
    ids = tokenizer(KOREAN, add_special_tokens=False)["input_ids"]
    for limit in range(1, len(ids) + 1):
        stream = TextStream(decode)
        pieces = [stream.push(ids[i : min(i + chunk, limit)]) for i in range(0, limit, chunk)]
        pieces.append(stream.finish("length"))
        assert not any(REPLACEMENT in p for p in pieces), limit
        assert "".join(pieces) == drop_cut_character(decode(ids[:limit])), limit
    assert "".join(pieces) == KOREAN


def test_a_replacement_character_the_model_wrote_mid_text_is_streamed_and_kept(tokenizer) -> None:  # noqa: ANN001
    decode = _decode(tokenizer)
    lone = tokenizer.convert_tokens_to_ids("Ģ")  # the byte 0x80 alone: never valid UTF-8
    ids = [*tokenizer("서울", add_special_tokens=False)["input_ids"], lone]
    ids += tokenizer(" 한강", add_special_tokens=False)["input_ids"]
    stream = TextStream(decode)
    pieces = [stream.push([i]) for i in ids] + [stream.finish("stop")]
    assert "".join(pieces) == decode(ids) == "서울\ufffd 한강"
    assert drop_cut_character(decode(ids)) == "서울\ufffd 한강"


def test_generate_with_the_default_model_never_shows_a_cut_character(default_lm) -> None:  # noqa: ANN001
    messages = [{"role": "user", "content": "서울에 대해 한 문장으로 말해 주세요."}]
    limits = [2, 5, 10]  # the greedy reply's raw decodes end in U+FFFD at each of these
    requests = [GenerationRequest.chat(messages, GenerationConfig(max_new_tokens=n)) for n in limits]
    results = default_lm.generate(requests)
    texts = [r.text for r in results]
    assert [(r.n_tokens, r.finish_reason) for r in results] == [(n, "length") for n in limits]
    assert not any(REPLACEMENT in t for t in texts), texts
    assert texts[0] != texts[-1] and all(texts[-1].startswith(t) for t in texts), texts


def test_cached_results_from_before_the_fix_come_back_without_the_cut(tmp_path: Path) -> None:
    import dataclasses

    from sllm.models.cache import CachingLM, request_key

    lm = CachingLM(ScriptedLM(lambda text, seed: "unused"), tmp_path / "cache.sqlite")
    request = GenerationRequest(prompt="서울에 대해", config=GenerationConfig(max_new_tokens=10))
    stored = GenerationResult("서울에 \ufffd", 10, "length", 5)
    key = request_key(lm.fingerprint(), "generate", request)
    lm.cache.put(key, "generate", lm.fingerprint(), "{}", json.dumps(dataclasses.asdict(stored)))
    assert lm.generate([request]) == [GenerationResult("서울에 ", 10, "length", 5)]
    assert lm.inner.requests == []  # served from the cache, not recomputed


def test_selfinstruct_rejects_generated_text_with_a_broken_character() -> None:
    from sllm.data.selfinstruct.filters import Instance, instance_problem, instruction_problem
    from sllm.data.selfinstruct.pipeline import rule_of

    reason = instruction_problem("서울에 대해 한 문장으로 말해 \ufffd", "ko", min_words=3)
    assert reason == "contains U+FFFD (a broken character)" and rule_of(reason) == "broken_text"
    assert instance_problem("서울을 소개하세요.", Instance("", "서울은 대한민국의 \ufffd")) == reason
    assert instruction_problem("서울에 대해 한 문장으로 말해 주세요.", "ko", min_words=3) is None


def test_validate_reports_a_replacement_character_with_file_line_and_field(tmp_path: Path) -> None:
    rows = [
        {"instruction": "서울에 대해 말해 주세요.", "input": "", "output": "서울은 수도입니다."},
        {"instruction": "서울에 대해 말해 주세요.", "input": "한 문장\ufffd", "output": "서울에 \ufffd"},
        {"messages": [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "\ufffd안녕"}]},
    ]
    path = tmp_path / "machine.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:2]), encoding="utf-8")
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps(rows[2], ensure_ascii=False) + "\n", encoding="utf-8")
    result = run_cli("data", "validate", str(path), "--no-template", "--no-track", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    what = "contains U+FFFD (replacement character) at character {}: text broken in decoding"
    assert report["problems"] == [
        {"where": f"{path}:2", "field": "input", "message": what.format(5), "severity": "error"},
        {"where": f"{path}:2", "field": "output", "message": what.format(5), "severity": "error"},
    ]
    assert (report["rows"], report["valid"]) == (2, 1)

    from sllm.data.validate import validate_file

    problems = [str(p) for p in validate_file(chat).problems]
    assert problems == [f"{chat}:1: field 'messages[1].content': {what.format(1)}"]
