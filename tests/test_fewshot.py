"""Few-shot selection: fixed, seeded random, and retrieved (embeddings for English, BM25 for Korean)."""

from __future__ import annotations

import pytest

from sllm.errors import UsageError
from sllm.language import hangul_ratio
from sllm.prompting.fewshot import ExemplarSelector
from sllm.prompting.retrieval import Retriever

POOL = [
    {"q": "How many legs does a spider have?"},
    {"q": "What is the capital city of France?"},
    {"q": "Which ocean is the largest on Earth?"},
    {"q": "What is the capital city of Italy?"},
    {"q": "How many legs does an insect have?"},
]


def _selector(sampler: str, pool=POOL) -> ExemplarSelector:
    return ExemplarSelector(pool, sampler, 1234, lambda d: d["q"])


def test_fixed_and_random_never_pick_the_document_itself():
    doc = POOL[0]
    assert _selector("fixed").select(doc, 0, 2) == [POOL[1], POOL[2]]
    picked = _selector("random").select(doc, 0, 3)
    assert doc not in picked and len(picked) == 3
    assert picked == _selector("random").select(doc, 0, 3)  # seeded


def test_retrieved_by_embedding_puts_the_closest_last():
    selector = _selector("retrieved")
    picked = selector.select({"q": "What is the capital city of Spain?"}, 0, 2)
    assert selector._retriever.method == "embedding"
    assert {p["q"] for p in picked} == {
        "What is the capital city of France?",
        "What is the capital city of Italy?",
    }
    legs = selector.select({"q": "How many legs does a dog have?"}, 1, 1)
    assert "legs" in legs[0]["q"]


def test_retrieved_korean_uses_bm25_over_morphemes():
    pool = ["서울은 대한민국의 수도이다.", "바다에는 물고기가 많이 산다.", "부산은 대한민국의 항구 도시이다."]
    retriever = Retriever(pool)
    assert retriever.method == "bm25" and hangul_ratio(pool) == 1.0
    assert retriever.nearest("대한민국의 수도는 어디인가?", 1, exclude=set()) == [0]
    assert retriever.nearest("물고기는 어디에 사는가?", 1, exclude=set()) == [1]


def test_pool_too_small_and_unknown_sampler():
    with pytest.raises(UsageError, match="pool has only 4"):
        _selector("fixed").select(POOL[0], 0, 5)
    with pytest.raises(UsageError, match="unknown few-shot sampler"):
        _selector("nearest")
