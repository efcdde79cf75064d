"""`sllm score` from files, as a user runs it."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli


def test_json_shape_and_english_rouge(tmp_path):
    (tmp_path / "p.txt").write_text("the cat sat on the mat\na dog barked\n")
    (tmp_path / "r.txt").write_text("the cat sat on the mat\nthe dog barked loudly\n")
    result = run_cli("score", "rouge", "-p", str(tmp_path / "p.txt"), "-r", str(tmp_path / "r.txt"), "--json")
    payload = json.loads(result.stdout)
    assert set(payload) == {"metric", "tokenizer", "n", "scores"} and payload["n"] == 2
    assert set(payload["scores"]) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}
    # By hand, averaged over the two lines: the first is identical (1.0); "a dog barked" against
    # "the dog barked loudly" shares 2 of 3 / 4 unigrams (F = 4/7), the LCS "dog barked" (4/7) and
    # 1 of 2 / 3 bigrams (F = 2/5).
    assert payload["scores"] == pytest.approx(
        {
            "rouge1": (1 + 4 / 7) / 2,
            "rouge2": (1 + 2 / 5) / 2,
            "rougeL": (1 + 4 / 7) / 2,
            "rougeLsum": (1 + 4 / 7) / 2,
        }
    )


@pytest.mark.slow
def test_korean_rouge_with_the_ko_tokenizer(tmp_path):
    (tmp_path / "p.jsonl").write_text(json.dumps({"text": "나는 학교에 간다"}, ensure_ascii=False) + "\n")
    (tmp_path / "r.jsonl").write_text(json.dumps({"text": "나는 학교에 간다"}, ensure_ascii=False) + "\n")
    args = ("score", "rouge", "-p", str(tmp_path / "p.jsonl"), "-r", str(tmp_path / "r.jsonl"), "--json")
    assert json.loads(run_cli(*args, "--tokenizer", "ko").stdout)["scores"]["rougeL"] == 1.0
    # Without --tokenizer, Korean text gets the Korean tokenizer (and says so) ...
    auto = run_cli(*args)
    assert json.loads(auto.stdout)["tokenizer"] == "ko"
    assert json.loads(auto.stdout)["scores"]["rougeL"] == 1.0
    assert "the texts are Korean" in auto.stderr
    # ... and asking for rouge-score's default (which drops Hangul) scores 0 with a warning.
    default = run_cli(*args, "--tokenizer", "default")
    assert json.loads(default.stdout)["scores"]["rougeL"] == 0.0
    assert "drops Hangul" in default.stderr


def test_broken_jsonl_line_names_file_and_line(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"text": "a"}\n{"text": "b"\n')
    (tmp_path / "r.txt").write_text("a\nb\n")
    result = run_cli("score", "bleu", "-p", str(tmp_path / "p.jsonl"), "-r", str(tmp_path / "r.txt"))
    assert result.returncode == 1
    assert f"{tmp_path / 'p.jsonl'}:2: invalid JSON" in result.stderr and "Traceback" not in result.stderr


def test_mismatched_lengths_and_unknown_metric(tmp_path):
    (tmp_path / "p.txt").write_text("a\nb\n")
    (tmp_path / "r.txt").write_text("a\n")
    result = run_cli("score", "bleu", "-p", str(tmp_path / "p.txt"), "-r", str(tmp_path / "r.txt"))
    assert result.returncode == 1 and "has 2 texts but" in result.stderr
    result = run_cli("score", "rogue", "-p", str(tmp_path / "p.txt"), "-r", str(tmp_path / "r.txt"))
    assert result.returncode == 2 and "did you mean rouge" in result.stderr
