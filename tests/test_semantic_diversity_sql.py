"""Semantic similarity, BERTScore-style matching, diversity metrics and text-to-SQL execution."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sacrebleu
from helpers import run_cli

from sllm.errors import SllmError
from sllm.metrics import corpus_score, get_metric


def _score(name: str, prediction: str, references: list[str], **options) -> dict[str, float]:
    return get_metric(name).fn(prediction, references, **options)


@pytest.mark.slow
def test_semantic_similarity_orders_paraphrase_above_unrelated() -> None:
    ref = ["A man is playing the guitar on stage."]
    same = _score("semantic_similarity", ref[0], ref)["semantic_similarity"]
    para = _score("semantic_similarity", "Someone performs a song with a guitar.", ref)["semantic_similarity"]
    other = _score("semantic_similarity", "The stock market fell sharply today.", ref)["semantic_similarity"]
    assert same == pytest.approx(1.0, abs=1e-5)
    assert para > 0.5 > other
    # The cosine of the two sentences' embeddings, with the encoder called directly.
    from sentence_transformers.util import cos_sim

    from sllm.embeddings import load_encoder

    vectors = load_encoder().encode(
        [ref[0], "Someone performs a song with a guitar."], convert_to_tensor=True
    )
    assert para == pytest.approx(float(cos_sim(vectors[0], vectors[1])), abs=1e-5)


def test_bertscore_greedy_matching() -> None:
    ref = ["The cat sat on the mat near the door."]
    same = _score("bertscore", ref[0], ref)
    assert same["bertscore_f1"] == pytest.approx(1.0, abs=1e-5)
    para = _score("bertscore", "A cat was sitting on the mat.", ref)["bertscore_f1"]
    other = _score("bertscore", "Quarterly revenue grew by eight percent.", ref)["bertscore_f1"]
    assert para > other
    # A short candidate covered by the reference: precise, but it does not recall everything.
    part = _score("bertscore", "The cat sat", ref)
    assert part["bertscore_precision"] > part["bertscore_recall"]
    # Several references: the best-matching one counts.
    best = _score("bertscore", ref[0], ["Revenue grew.", ref[0]])
    assert best["bertscore_f1"] == pytest.approx(1.0, abs=1e-5)


def test_distinct_n_and_repetition_hand_computed() -> None:
    scores = corpus_score("distinct_n", ["a b a b", "a c"], [[], []], tokenizer="whitespace")
    assert scores == {"distinct_1": 0.5, "distinct_2": 0.75}
    looped = corpus_score("repetition", ["a b c d a b c d", "x y z w v"], [[], []])
    assert looped["seq_rep_4"] == pytest.approx((0.2 + 0.0) / 2)


def test_diversity_on_korean_uses_morphemes() -> None:
    texts = ["오늘 날씨가 정말 좋네요", "오늘 날씨가 정말 좋네요", "내일은 비가 온대요"]
    by_ko = corpus_score("distinct_n", texts, [[]] * 3, tokenizer="ko", n=1)["distinct_1"]
    # rouge-score's default tokenizer drops Hangul entirely: no tokens at all.
    assert corpus_score("distinct_n", texts, [[]] * 3, tokenizer="default", n=1)["distinct_1"] == 0.0
    # kiwi: 오늘 날씨 가 정말 좋 네요 (twice) and 내일 은 비 가 오 ᆫ대 요: 12 distinct of 19 morphemes
    assert by_ko == pytest.approx(12 / 19)


def test_self_bleu_matches_sacrebleu() -> None:
    texts = ["the cat sat on the mat", "the dog sat on the log", "a bird flew over the house"]
    expected = sum(
        sacrebleu.sentence_bleu(t, texts[:i] + texts[i + 1 :]).score for i, t in enumerate(texts)
    ) / len(texts)
    assert corpus_score("self_bleu", texts, [[]] * 3)["self_bleu"] == pytest.approx(expected)
    assert corpus_score("self_bleu", ["same words here"] * 3, [[]] * 3)["self_bleu"] == pytest.approx(100.0)


@pytest.fixture()
def shop_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER, name TEXT, city TEXT, age INTEGER)")
    conn.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?)",
        [
            (1, "김민준", "서울", 34),
            (2, "Alice", "Busan", 28),
            (3, "이서연", "서울", 41),
            (4, "Bob", "Seoul", 19),
        ],
    )
    conn.commit()
    conn.close()
    return path


def _ex(prediction: str, gold: str, db: Path) -> float:
    return _score("sql_execution", prediction, [gold], database=str(db))["execution_accuracy"]


def test_sql_execution_accuracy(shop_db: Path) -> None:
    gold = "SELECT name FROM customers WHERE city = '서울' AND age > 30"
    assert _ex("select name from customers where age > 30 and city = '서울';", gold, shop_db) == 1.0
    assert _ex("SELECT name FROM customers WHERE city = '서울'", gold, shop_db) == 1.0  # same rows
    assert _ex("SELECT name FROM customers", gold, shop_db) == 0.0
    assert _ex("SELEC name FROM", gold, shop_db) == 0.0  # syntax error counts as wrong
    ordered = "SELECT name FROM customers ORDER BY age DESC"
    assert _ex("SELECT name FROM customers ORDER BY age", ordered, shop_db) == 0.0
    assert _ex("SELECT name FROM customers ORDER BY age DESC", ordered, shop_db) == 1.0
    # Row order does not matter without ORDER BY in the gold query.
    assert _ex("SELECT name FROM customers ORDER BY id DESC", "SELECT name FROM customers", shop_db) == 1.0


def test_sql_execution_is_read_only_and_time_limited(shop_db: Path, tmp_path: Path) -> None:
    gold = "SELECT count(*) FROM customers"
    assert _ex("DROP TABLE customers", gold, shop_db) == 0.0
    assert _ex("DELETE FROM customers", gold, shop_db) == 0.0
    attached = tmp_path / "evil.db"
    assert _ex(f"ATTACH DATABASE '{attached}' AS evil", gold, shop_db) == 0.0
    assert not attached.exists()
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    assert get_metric("sql_execution").fn(endless, [gold], database=str(shop_db), timeout_s=0.5) == {
        "execution_accuracy": 0.0
    }
    conn = sqlite3.connect(shop_db)
    assert conn.execute(gold).fetchone() == (4,)
    conn.close()
    with pytest.raises(SllmError, match="gold query fails"):
        _ex("SELECT 1", "SELECT nope FROM customers", shop_db)
    with pytest.raises(SllmError, match="database not found"):
        _ex("SELECT 1", gold, tmp_path / "missing.sqlite")


@pytest.mark.slow
def test_score_cli_reference_free_and_options(tmp_path: Path, shop_db: Path) -> None:
    (tmp_path / "gen.txt").write_text("a b a b\na c\n")
    result = run_cli(
        "score", "distinct_n", "-p", str(tmp_path / "gen.txt"), "--tokenizer", "whitespace", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scores"] == {"distinct_1": 0.5, "distinct_2": 0.75}
    assert run_cli("score", "rouge", "-p", str(tmp_path / "gen.txt")).returncode == 2
    (tmp_path / "pred.txt").write_text("SELECT name FROM customers WHERE age > 30\nSELECT 1\n")
    (tmp_path / "gold.txt").write_text(
        "SELECT name FROM customers WHERE age >= 31\nSELECT count(*) FROM customers\n"
    )
    args = ["-p", str(tmp_path / "pred.txt"), "-r", str(tmp_path / "gold.txt"), "--json"]
    result = run_cli("score", "sql_execution", *args, "--option", f"database={shop_db}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scores"]["execution_accuracy"] == 0.5
