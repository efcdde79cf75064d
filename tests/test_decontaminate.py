"""Decontamination: planted GSM8K / MMLU items (exact and lightly edited) are found, clean rows
are not, Korean edits are caught with character n-grams, --drop writes the clean rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

from sllm.data.decontaminate import find_contamination, items_from_task
from sllm.data.examples import Example

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA_DIR = str(SHARED) if SHARED.is_dir() else None  # else the bundled samples of the same slices


def _edit(text: str) -> str:
    """A light edit: the first number changed, one word swapped, one full stop dropped."""
    text = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), text, count=1)
    return text.replace(" the ", " a ", 1).replace(".", "", 1)


def _rows(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    gsm8k = items_from_task("gsm8k", DATA_DIR)
    mmlu = [i for i in items_from_task("mmlu_high_school_geography", DATA_DIR) if len(i.text.split()) >= 13]
    questions = [i for i in gsm8k if i.text.endswith("?")]
    planted = {
        2: ("exact", questions[0].text),
        4: ("edited", _edit(questions[5].text)),
        6: ("inside a longer text", "Here is a practice problem: " + _edit(questions[9].text) + " Try it!"),
        8: ("mmlu", mmlu[0].text),
        10: ("mmlu edited", _edit(mmlu[1].text)),
    }  # fmt: skip
    rows = []
    for line in range(1, 13):
        if line in planted:
            rows.append({"instruction": planted[line][1], "input": "", "output": "The answer is 42."})
        else:
            poem = "Blue skies over quiet fields, a gentle wind that softly yields."
            rows.append(
                {"instruction": f"Write a short poem about the colour number {line}.", "output": poem}
            )
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, {line: kind for line, (kind, _) in planted.items()}


def test_every_planted_item_is_found_and_dropped(tmp_path: Path) -> None:
    path, planted = _rows(tmp_path)
    clean = tmp_path / "clean.jsonl"
    result = run_cli("data", "decontaminate", str(path), "--against", "gsm8k,mmlu", "--drop", str(clean),
                     "--json", "--no-track", *(["--data-dir", DATA_DIR] if DATA_DIR else []))  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    found = {hit["line"]: hit for hit in report["contaminated"]}
    assert set(found) == set(planted), (found, planted)
    assert found[2]["test_task"] == "gsm8k" and found[2]["overlap"] == 1.0
    assert found[8]["test_task"].startswith("mmlu_")
    # By hand: the Kylar question is 41 words, 29 13-grams; the edit changed words 4 ("the" -> "a")
    # and 16 ("5" -> "6"), which the 13-grams starting at words 1-16 contain: 13 of 29 survive.
    assert found[4]["overlap"] == pytest.approx(13 / 29, abs=5e-5)  # the report rounds to 4 places
    assert report["n_checked"] == 12
    kept = [json.loads(line) for line in clean.read_text().splitlines()]
    assert len(kept) == 12 - len(planted) and all("poem" in r["instruction"] for r in kept)


def test_korean_edits_are_found_with_character_ngrams(tmp_path: Path) -> None:
    test_file = tmp_path / "ko_test.jsonl"
    question = (
        "민수는 사과를 12개 가지고 있었는데 친구에게 5개를 주고 시장에서 3개를 더 샀습니다. "
        "민수에게 남은 사과는 몇 개입니까?"
    )
    test_file.write_text(json.dumps({"question": question, "answer": "10"}, ensure_ascii=False) + "\n")
    edited = (
        question.replace("민수는", "철수는").replace("민수에게", "철수에게").replace("시장에서", "가게에서")
    )
    rows = [
        Example.from_alpaca(edited.replace("시장에서", "가게에서"), "", "10개", {}, "t.jsonl:1"),
        Example.from_alpaca("사과와 배의 차이를 설명하세요.", "", "둘 다 과일입니다.", {}, "t.jsonl:2"),
    ]
    from sllm.data.decontaminate import items_from_file

    hits, skipped = find_contamination(rows, items_from_file(test_file))
    assert [h.row for h in hits] == [1] and skipped == 1  # the answer "10" is too short to check
    assert " " not in hits[0].ngram and len(hits[0].ngram) == 20


def test_the_clean_self_instruct_seed_set_against_gsm8k_and_mmlu() -> None:
    seed = SHARED / "self_instruct_seed" / "seed_tasks.jsonl"
    if not seed.is_file():
        import pytest

        pytest.skip("../shared/data is not beside the repository")
    result = run_cli("data", "decontaminate", str(seed), "--against", "gsm8k,mmlu", "--data-dir", str(SHARED),
                     "--json", "--no-track")  # fmt: skip
    report = json.loads(result.stdout)
    assert report["n_checked"] == 175 and report["contaminated"] == []
