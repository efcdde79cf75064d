"""Input files in the encodings users actually have, and Korean text scored with a Korean tokenizer."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from sllm.errors import SllmError, SllmWarning
from sllm.metrics import corpus_score
from sllm.tasks.loaders import load_jsonl
from sllm.textio import SAMPLE_BYTES, iter_lines, read_text, resolve_encoding

PRED = ["서울은 한국의 수도입니다.", "부산은 큰 항구 도시이다."]
REF = ["서울은 한국의 수도이다.", "부산은 항구 도시이다."]


def _write(path: Path, lines: list[str], encoding: str) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    return path


def _sllm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sllm", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cp949_bom_and_utf8_read_the_same_text(tmp_path: Path) -> None:
    utf8 = _write(tmp_path / "u.txt", PRED, "utf-8")
    cp949 = _write(tmp_path / "k.txt", PRED, "cp949")
    bom = _write(tmp_path / "b.txt", PRED, "utf-8-sig")
    assert resolve_encoding(utf8) == "utf-8"
    assert resolve_encoding(bom) == "utf-8-sig"
    with pytest.warns(SllmWarning, match=r"k\.txt as cp949"):
        assert resolve_encoding(cp949) == "cp949"
    expected = "".join(line + "\n" for line in PRED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SllmWarning)
        assert read_text(utf8) == read_text(cp949) == read_text(bom) == expected


def test_latin1_file_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.txt", ["Café au lait, déjà vu, naïve façade."] * 3, "latin-1")
    with pytest.warns(SllmWarning):
        assert read_text(path).splitlines()[0] == "Café au lait, déjà vu, naïve façade."


def test_bad_byte_after_the_sample_is_named_by_line_and_offset(tmp_path: Path) -> None:
    # A valid UTF-8 head longer than the detection sample, then a stray Latin-1 byte on line N.
    head = "plain ascii line\n" * (SAMPLE_BYTES // 17 + 10)
    path = tmp_path / "late.jsonl"
    path.write_bytes(head.encode() + b'{"text": "caf\xe9"}\n')
    line = head.count("\n") + 1
    offset = len(head.encode()) + len(b'{"text": "caf')
    with pytest.raises(SllmError, match=rf"late\.jsonl:{line}: cannot decode byte {offset} as utf-8"):
        list(iter_lines(path))


def test_undetectable_bytes_and_unknown_encoding_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(b"abc\xff\xfe\x80\x00\x01\x02")
    with pytest.raises(SllmError, match=r"bin\.txt: not UTF-8 \(byte 3: 0xff\)"):
        resolve_encoding(path)
    with pytest.raises(SllmError, match="unknown encoding 'nope'"):
        resolve_encoding(path, "nope")


def test_jsonl_loader_reads_cp949(tmp_path: Path) -> None:
    rows = [json.dumps({"text": t}, ensure_ascii=False) for t in PRED]
    path = _write(tmp_path / "preds.jsonl", rows, "cp949")
    with pytest.warns(SllmWarning):
        assert [d["text"] for d in load_jsonl(path)] == PRED


def test_korean_rouge_picks_the_korean_tokenizer_and_matches_explicit_ko() -> None:
    refs = [[r] for r in REF]
    explicit = corpus_score("rouge", PRED, refs, tokenizer="ko")
    with pytest.warns(SllmWarning, match="tokenized into morphemes"):
        auto = corpus_score("rouge", PRED, refs)
    assert auto == explicit
    assert explicit["rouge1"] == pytest.approx(6 / 7)  # kiwi morphemes: 6 of 7 shared per side
    with pytest.warns(SllmWarning, match="drops Hangul"):
        assert corpus_score("rouge", PRED, refs, tokenizer="default")["rouge1"] == 0.0


def test_english_rouge_keeps_rouge_scores_tokenizer_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SllmWarning)
        scores = corpus_score("rouge", ["the cat sat"], [["the cat sat down"]])
    assert scores["rouge1"] == pytest.approx(2 * 3 / 7)


@pytest.mark.slow
def test_score_cli_on_a_cp949_file_equals_utf8(tmp_path: Path) -> None:
    _write(tmp_path / "pred.txt", PRED, "cp949")
    _write(tmp_path / "ref.txt", REF, "utf-8-sig")
    _write(tmp_path / "pred8.txt", PRED, "utf-8")
    legacy = _sllm("score", "rouge", "-p", "pred.txt", "-r", "ref.txt", "--json", cwd=tmp_path)
    plain = _sllm("score", "rouge", "-p", "pred8.txt", "-r", "ref.txt", "--json", cwd=tmp_path)
    assert legacy.returncode == plain.returncode == 0, legacy.stderr + plain.stderr
    assert json.loads(legacy.stdout) == json.loads(plain.stdout)
    assert json.loads(legacy.stdout)["tokenizer"] == "ko"
    assert "warning: reading pred.txt as cp949" in legacy.stderr
    assert "Traceback" not in legacy.stderr
    forced = _sllm("--encoding", "utf-8", "score", "rouge", "-p", "pred.txt", "-r", "ref.txt", cwd=tmp_path)
    assert forced.returncode == 1
    assert forced.stderr.startswith("error: pred.txt:1: cannot decode byte 0 as utf-8")


def test_judgment_records_gzipped_and_cp949_are_read(tmp_path: Path) -> None:
    import gzip

    from sllm.textio import read_json_records

    rows = [{"question_id": 1, "judgment": "좋은 답변입니다. [[8]]"}, {"question_id": 2, "judgment": "[[3]]"}]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path = tmp_path / "judgments.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode("cp949")))
    with pytest.warns(SllmWarning, match="cp949"):
        assert read_json_records(path) == [(f"{path}:1", rows[0]), (f"{path}:2", rows[1])]
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'[{"a": "ok"},\n {"a": "caf\xe9"}]')
    with pytest.raises(SllmError, match=r"bad\.json:2: cannot decode byte 25 as utf-8 \(0xe9\)"):
        read_json_records(bad, "utf-8")
