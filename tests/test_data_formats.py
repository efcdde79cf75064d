"""Instruction files: formats and conversion, validation with file/line/field, digests on MLflow
runs, and seeded near-duplicate-aware splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from sllm.data.digest import dataset_digest
from sllm.data.examples import Example
from sllm.data.formats import load_examples, raw_rows, read_examples, write_examples
from sllm.data.split import split_examples
from sllm.data.validate import template_lengths
from sllm.errors import SllmError

ROWS = [
    {"instruction": "Name a primary colour.", "input": "", "output": "Blue."},
    {"instruction": "Translate to Korean.", "input": "Good morning", "output": "좋은 아침입니다."},
    {"instruction": "Add the numbers.", "input": "2, 3", "output": "5", "category": "math"},
]


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)
    )
    return path


@pytest.mark.slow
def test_validation_names_file_line_and_field_and_writes_nothing(tmp_path: Path) -> None:
    bad = _jsonl(tmp_path / "bad.jsonl", [
        ROWS[0],
        '{"instruction": "Broken", "output": "x"',
        {"instruction": "No output here", "input": ""},
        {"instruction": "Empty answer", "input": "", "output": "  "},
        ROWS[0],
    ])  # fmt: skip
    out = tmp_path / "clean.jsonl"
    result = run_cli("data", "validate", str(bad), "--output", str(out), "--json", "--no-track")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    found = {(p["where"].split("/")[-1], p["field"], p["severity"]) for p in report["problems"]}
    assert found == {
        ("bad.jsonl:2", "", "error"),
        ("bad.jsonl:3", "output", "error"),
        ("bad.jsonl:4", "output", "error"),
        ("bad.jsonl:5", "", "warning"),  # exact duplicate of line 1
    }
    assert report["rows"] == 5 and report["valid"] == 2 and not out.exists()
    assert "bad.jsonl:2: invalid JSON" in run_cli("data", "validate", str(bad)).stderr
    forced = run_cli("data", "validate", str(bad), "-o", str(out), "--force", "--no-track", "--json")
    assert forced.returncode == 1 and len(load_examples(out)[0]) == 2
    converted = run_cli("data", "convert", str(bad), str(tmp_path / "x.jsonl"), "--no-track")
    assert converted.returncode == 1 and "bad.jsonl:2: invalid JSON" in converted.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_conversions_round_trip_and_share_one_digest(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "a.jsonl", ROWS)
    examples, layout = load_examples(source)
    assert layout == "alpaca" and examples[1].messages[0]["content"] == "Translate to Korean.\n\nGood morning"
    digest = dataset_digest(examples)
    for chain in (
        ["d.csv:auto", "e.parquet:auto", "f.jsonl:alpaca"],
        ["b.json:sharegpt", "c.jsonl:messages"],
    ):
        previous = source
        for step in chain:
            name, fmt = step.split(":")
            result = run_cli(
                "data", "convert", str(previous), str(tmp_path / name), "--to", fmt, "--no-track"
            )
            assert result.returncode == 0, result.stderr
            previous = tmp_path / name
            assert dataset_digest(load_examples(previous)[0]) == digest, name
    # through CSV and Parquet the Alpaca fields survive exactly; through chat layouts the input is
    # part of the user turn, so back in Alpaca it sits in the instruction
    assert [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()] == ROWS
    back = load_examples(tmp_path / "c.jsonl")[0][1].alpaca()
    assert back == {
        "instruction": "Translate to Korean.\n\nGood morning",
        "input": "",
        "output": "좋은 아침입니다.",
    }
    sharegpt = json.loads((tmp_path / "b.json").read_text())
    assert sharegpt[0]["conversations"][0] == {"from": "human", "value": "Name a primary colour."}
    edited = _jsonl(tmp_path / "g.jsonl", [ROWS[0], {**ROWS[1], "output": "좋은 아침입니다!"}, ROWS[2]])
    assert dataset_digest(load_examples(edited)[0]) != digest
    assert dataset_digest(load_examples(source)[0]) == digest  # read twice, same digest


@pytest.mark.slow
def test_digest_is_recorded_on_the_mlflow_run(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "a.jsonl", ROWS)
    result = run_cli("data", "convert", str(source), str(tmp_path / "m.jsonl"), "--to", "messages", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    shown = json.loads(run_cli("runs", "show", payload["run_id"], "--json").stdout)
    digests = {d["digest"] for d in shown["datasets"]}
    assert payload["digest"][:16] in digests and len(shown["datasets"]) == 2


def test_sharegpt_multi_turn_with_system_and_role_problems(tmp_path: Path) -> None:
    chat = {"system": "Be brief.", "conversations": [
        {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"},
        {"from": "human", "value": "안녕?"}, {"from": "gpt", "value": "안녕하세요!"}]}  # fmt: skip
    wrong = {"conversations": [{"from": "gpt", "value": "I speak first"}, {"from": "robot", "value": "?"}]}
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([chat, wrong]))
    examples, problems, layout = read_examples(path)
    assert layout == "sharegpt" and examples[0].system == "Be brief." and not examples[0].single_turn
    assert [str(p).split("/")[-1] for p in problems] == [
        "chat.json: item 2: field 'conversations[1].from': unknown role 'robot'"
    ]
    with pytest.raises(
        SllmError, match=r"chat.json: item 1: a multi-turn conversation has no Alpaca form; write"
    ):
        write_examples(examples, tmp_path / "x.jsonl", "alpaca")
    report = json.loads(run_cli("data", "validate", str(path), "--json", "--no-template").stdout)
    assert any(p["field"] == "conversations[1].from" for p in report["problems"])


def test_rows_that_do_not_render_through_the_chat_template_are_errors() -> None:
    from sllm.data.validate import load_tokenizer

    tokenizer = load_tokenizer("default")
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}{{ m['content'] }}\n{% endfor %}"
    )
    plain = Example.from_alpaca("Hi", "", "Hello", {}, "f.jsonl:1")
    system = Example.from_alpaca("Hi", "", "Hello", {"system": "Be brief."}, "f.jsonl:2")
    stats, problems = template_lengths([plain, system], tokenizer, max_length=3)
    assert [(p.where, p.severity) for p in problems] == [("f.jsonl:1", "warning"), ("f.jsonl:2", "error")]
    assert "System role not supported" in problems[1].message and stats["total"]["max"] > 3


def test_splits_are_seeded_disjoint_and_keep_paraphrases_together() -> None:
    def row(question: str, answer: str, kind: str) -> Example:
        return Example.from_alpaca(question, "", answer, {"kind": kind})

    base = [row(f"Question number {i} about topic {i * 7}?", f"Answer {i}.", str(i % 2)) for i in range(60)]
    twins = [
        row("Explain why the sky is blue during a clear day.", "Rayleigh scattering.", "0"),
        row("Explain why the sky is blue during a clear day!", "Rayleigh scattering.", "1"),
        row("맑은 날 하늘이 파란 이유를 설명하세요.", "레일리 산란 때문입니다.", "0"),
        row("맑은 날 하늘이 파란 이유를 설명해 주세요.", "레일리 산란 때문입니다.", "1"),
    ]
    examples = base + twins
    fractions = {"train": 0.8, "validation": 0.1, "test": 0.1}
    splits, grouped = split_examples(examples, fractions, seed=3, stratify="kind")
    again, _ = split_examples(examples, fractions, seed=3, stratify="kind")
    other, _ = split_examples(examples, fractions, seed=4, stratify="kind")
    assert splits == again and splits != other and grouped == 4
    ids = {name: {id(e) for e in rows} for name, rows in splits.items()}
    assert sum(len(v) for v in ids.values()) == len(examples) and not (ids["train"] & ids["test"])
    for first, second in ((twins[0], twins[1]), (twins[2], twins[3])):
        assert [name for name in ids if id(first) in ids[name]] == [
            name for name in ids if id(second) in ids[name]
        ]
    # Stratum "1" (30 single rows) splits exactly 24/3/3; stratum "0" (30 rows and the two paraphrase
    # pairs, 34 rows, targets 27.2/3.4/3.4) ends 27/4/3 with seed 3: each group goes to the split
    # furthest below its target, so a pair can leave one split a row over and another a row under.
    assert [len(v) for v in splits.values()] == [51, 7, 6]


def _big_alpaca(path: Path, target_bytes: int) -> int:
    """A seeded Alpaca JSONL of about target_bytes (rows ~840 bytes, a fifth with Hangul), with
    problems planted at known lines; returns the number of lines."""
    import random

    rng = random.Random(7)
    words = "the river model data answer question write explain short list 한국어 문장 요약 번역 city".split()
    planted = {
        1000: '{"instruction": "Broken", "output": "x"',
        5000: json.dumps({"instruction": "No output here", "input": ""}),
        9000: json.dumps({"instruction": "   ", "input": "", "output": "y"}),
        12000: json.dumps({"instruction": "Count", "input": "", "output": 3}),
    }
    lines, size, previous = 0, 0, ""
    with path.open("w", encoding="utf-8") as handle:
        while size < target_bytes:
            lines += 1
            text = " ".join(rng.choice(words) for _ in range(120))
            row = {"instruction": f"Task {lines}: {text[:200]}", "input": text[200:500], "output": text[500:]}
            line = planted.get(lines) or json.dumps(row, ensure_ascii=False)
            if lines == 15000:
                line = previous  # an exact duplicate of line 14999
            previous = line
            handle.write(line + "\n")
            size += len(line.encode("utf-8")) + 1
    return lines


@pytest.mark.slow
def test_validate_streams_a_large_file_in_memory_far_below_its_size(tmp_path: Path) -> None:
    import tracemalloc

    from sllm.data.validate import check_example, validate_file

    path = tmp_path / "big.jsonl"
    lines = _big_alpaca(path, 20_000_000)
    validate_file(_jsonl(tmp_path / "small.jsonl", ROWS))  # imports happen here, not under measure
    tracemalloc.start()
    try:
        result = validate_file(path)  # no tokenizer: the template check is covered below
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    found = {(p.where.split("/")[-1], p.field, p.message, p.severity) for p in result.problems}
    assert found == {
        ("big.jsonl:1000", "", "invalid JSON: Expecting ',' delimiter", "error"),
        ("big.jsonl:5000", "output", "missing", "error"),
        ("big.jsonl:9000", "instruction", "is only whitespace", "error"),
        ("big.jsonl:12000", "output", "must be a string, got int", "error"),
        ("big.jsonl:15000", "", f"exact duplicate of {path}:14999", "warning"),
    }
    assert (result.rows, result.valid) == (lines, lines - 4)
    # The same rows read whole, the list way, give the same digest.
    examples, _, _ = read_examples(path)
    valid = [e for e in examples if not any(p.severity == "error" for p in check_example(e, "alpaca"))]
    assert result.summary.digest == dataset_digest(valid)
    # A digest and a location per distinct row (~50 bytes), never the rows (~840 bytes each).
    assert peak < path.stat().st_size / 6


def test_template_lengths_in_batches_equal_apply_chat_template_row_by_row() -> None:
    from sllm.data.validate import load_tokenizer, render_lengths

    tokenizer = load_tokenizer("default")
    examples = [
        Example.from_alpaca(
            f"Question {i}: {'왜 하늘은 파란가요? ' * (i % 4)}why?", "context " * i, f"Answer {i}.", {}
        )
        for i in range(40)
    ] + [Example.from_alpaca("Hi", "", "Hello", {"system": "Be brief."})]
    expected = [
        (
            len(
                tokenizer.apply_chat_template(e.messages[:-1], tokenize=True, add_generation_prompt=True)[
                    "input_ids"
                ]
            ),
            len(tokenizer.apply_chat_template(e.messages, tokenize=True)["input_ids"]),
        )
        for e in examples
    ]
    assert render_lengths(examples, tokenizer) == expected


def test_a_json_list_is_read_item_by_item_and_a_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    items = json.dumps(ROWS * 40, ensure_ascii=False, indent=1)
    broken = items.replace('"output": "5"', '"output": "5",', 1)  # a trailing comma inside item 3
    for text, expected_items in ((items, ROWS * 40), (broken, ROWS[:2])):
        path.write_text(text, encoding="utf-8")
        rows = list(raw_rows(path))
        assert [record for _, record, problem in rows if problem is None] == expected_items
        try:
            json.loads(text)
            assert all(problem is None for _, _, problem in rows)
        except json.JSONDecodeError as exc:  # the same line and message as reading the file whole
            assert [str(p) for _, _, p in rows if p is not None] == [
                f"{path}:{exc.lineno}: invalid JSON: {exc.msg}"
            ]


def test_validate_cli_shows_a_byte_progress_bar_for_large_files(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    _big_alpaca(path, 9_000_000)  # over the 8 MB threshold; lines 1000, 5000 and 9000 have errors
    result = run_cli("data", "validate", str(path), "--no-template", "--json", "--no-track")
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"] == 3  # stdout stays one JSON object
    assert "validating big.jsonl" in result.stderr and "9.0/9.0 MB" in result.stderr
    small = run_cli("data", "validate", str(_jsonl(tmp_path / "a.jsonl", ROWS)), "--no-template")
    assert small.returncode == 0 and "validating" not in small.stderr
