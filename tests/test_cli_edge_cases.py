"""CLI edge cases users hit: fractional --limit (lm-eval's rule), empty input files, `cache clear`
with the name `cache stats` shows, and Self-Instruct's stop message under SLLM_SMOKE."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest
from helpers import ScriptedLM

from sllm.errors import SllmError, UsageError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def invoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run `sllm ARGS` in this process; return the exit code, stdout and stderr."""
    from sllm.cli.app import main

    monkeypatch.setattr(sys, "argv", ["sllm", *args])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps at the terminal width
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    return exited.value.code, out.out, out.err


# -- fractional --limit --------------------------------------------------------------------------


# lm-eval's get_sample_size: int(math.ceil(len(docs) * limit)) if limit < 1.0 else int(limit)
@pytest.mark.parametrize(
    ("limit", "n_docs", "kept"),
    [(0.5, 20, 10), (0.5, 5, 3), (0.07, 20, 2), (0.99, 3, 3), (5, 20, 5), (None, 7, None)],
)
def test_docs_limit_is_lm_evals_rule(limit, n_docs, kept):
    from sllm.evaluation.pipeline import docs_limit

    assert docs_limit(limit, n_docs) == kept


def test_fractional_limit_evaluates_that_share_and_records_it():
    from sllm.evaluation.pipeline import EvalConfig, evaluate

    lm = ScriptedLM(lambda prompt, seed: "The answer is 5.")
    record = evaluate(EvalConfig(tasks=["gsm8k"], limit=0.25, track=False), lm=lm)
    # the bundled gsm8k sample has 20 documents: ceil(20 * 0.25) = 5
    assert record["n_samples"] == {"gsm8k": {"original": 20, "effective": 5}}
    assert record["results"]["gsm8k"]["n"] == 5
    assert record["config"]["limit"] == 0.25
    assert len(lm.requests) == 5


def test_whole_number_limits_stay_integers_and_bad_ones_are_usage_errors():
    from sllm.evaluation.pipeline import EvalConfig

    assert EvalConfig(tasks=["gsm8k"], limit=3.0).limit == 3
    assert isinstance(EvalConfig(tasks=["gsm8k"], limit=3.0).limit, int)
    for bad in (0, -1, 1.5, float("inf")):
        with pytest.raises(UsageError, match=r"^--limit: expected a number of documents"):
            EvalConfig(tasks=["gsm8k"], limit=bad)


# -- empty input files ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_instruction_file_says_no_examples(tmp_path, text):
    from sllm.data.formats import load_examples, read_examples

    path = tmp_path / "train.jsonl"
    path.write_text(text)
    for read in (load_examples, read_examples):
        with pytest.raises(SllmError) as raised:
            read(path)
        assert str(raised.value) == f"{path}: no examples"


@pytest.mark.parametrize("text", ["", "\n \n"])
def test_empty_record_file_says_no_examples(tmp_path, text):
    from sllm.textio import read_json_records

    path = tmp_path / "items.jsonl"
    path.write_text(text)
    with pytest.raises(SllmError) as raised:
        read_json_records(path)
    assert str(raised.value) == f"{path}: no examples"


def test_empty_task_data_file_says_no_documents(tmp_path):
    from sllm.tasks.loaders import load_file

    for name, fmt in (("test.jsonl", "jsonl"), ("test.json", "json")):
        path = tmp_path / name
        path.write_text("\n")
        with pytest.raises(SllmError) as raised:
            load_file(path, fmt)
        assert str(raised.value) == f"{path}: no documents"


@pytest.mark.parametrize(
    "command",
    [
        ["data", "validate"],
        ["data", "filter", "dedup", "-o", "OUT"],
        ["judge", "single", "-o", "OUT", "-i"],
        ["winrate"],
    ],
)
def test_every_command_reading_an_empty_file_says_no_examples(monkeypatch, capsys, tmp_path, command):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    args = [str(tmp_path / "out.jsonl") if a == "OUT" else a for a in command]
    code, _, err = invoke(monkeypatch, capsys, *args, str(empty))
    assert code == 1
    assert err.strip() == f"error: {empty}: no examples"


# -- sllm cache clear --model PREFIX -------------------------------------------------------------


def _cache_with(models: list[str]) -> None:
    from sllm.models.cache import CallCache
    from sllm.paths import default_cache_path

    cache = CallCache(default_cache_path())
    for i, model in enumerate(models):
        for j in range(2):
            cache.put(f"{i}-{j}", "generate", model, "{}", "{}")
    cache.close()


def test_cache_clear_takes_the_prefix_cache_stats_shows(monkeypatch, capsys):
    from sllm.paths import default_cache_path

    full = "hf|dfcb0123456789ab|adapter=none|float32|max_length=8192"
    _cache_with([full, "openai|qwen@http://127.0.0.1:8000/v1|revision=unknown"])
    for given in ("hf|dfcb…", "hf|dfcb"):  # as a narrow table cuts it, and as typed
        _cache_with([full])
        code, out, _ = invoke(monkeypatch, capsys, "cache", "clear", "--model", given, "--yes")
        assert (code, out) == (0, f"removed 2 cached calls from {default_cache_path()}\n")
    code, out, _ = invoke(monkeypatch, capsys, "cache", "stats", "--json")
    assert [e["model"] for e in json.loads(out)["entries"]] == [
        "openai|qwen@http://127.0.0.1:8000/v1|revision=unknown"
    ]


def test_cache_clear_ambiguous_or_unknown_prefix_is_an_error(monkeypatch, capsys):
    _cache_with(["hf|aaaa|float32", "hf|aabb|float32"])
    code, _, err = invoke(monkeypatch, capsys, "cache", "clear", "--model", "hf|aa", "--yes")
    assert (code, err.strip()) == (
        2,
        "error: --model: 'hf|aa' matches 2 cached models: hf|aaaa|float32, hf|aabb|float32; give more of it",
    )
    code, _, err = invoke(monkeypatch, capsys, "cache", "clear", "--model", "vllm|x", "--yes")
    assert code == 2 and err.startswith("error: --model: unknown cached model 'vllm|x'; ")
    code, out, _ = invoke(monkeypatch, capsys, "cache", "stats", "--json")
    assert len(json.loads(out)["entries"]) == 2  # nothing was removed


# -- sllm data selfinstruct under SLLM_SMOKE ----------------------------------------------------


def test_selfinstruct_stop_message_names_the_smoke_switch(monkeypatch, capsys, tmp_path):
    import sllm.models.spec

    monkeypatch.setattr(sllm.models.spec, "open_model", lambda *a, **k: ScriptedLM(lambda text, seed: ""))
    monkeypatch.setenv("SLLM_SMOKE", "1")
    out_file = tmp_path / "si.jsonl"
    code, out, _ = invoke(
        monkeypatch, capsys, "data", "selfinstruct", "--n", "200", "-o", str(out_file), "--no-track"
    )
    assert code == 0
    assert (
        f"kept 0 instructions (SLLM_SMOKE stops the run after 1 batch; unset it to run until 200 are kept), "
        f"0 rows -> {out_file}"
    ) in out


def test_selfinstruct_stop_message_without_smoke(monkeypatch):
    from sllm.cli.data.selfinstruct import stop_note

    assert stop_note(20, 20) == ""
    assert stop_note(3, 20) == " (stopped before 20: raise --max-batches)"
    monkeypatch.setenv("SLLM_SMOKE", "1")
    assert (
        stop_note(0, 200) == " (SLLM_SMOKE stops the run after 1 batch; unset it to run until 200 are kept)"
    )
