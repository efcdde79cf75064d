"""Lexical metrics: exact match, SQuAD EM/F1, KorQuAD character F1, ROUGE, BLEU, chrF.

ROUGE is rouge-score's implementation and BLEU/chrF are sacrebleu's; what is ours is only the
tokenizer handed to them (see tokenizers.py) and the SQuAD/KorQuAD normalisations, which follow
the official evaluation scripts line by line (no library ships them for v2 and KorQuAD).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

from sllm.metrics.registry import register_metric
from sllm.metrics.tokenizers import get_tokenizer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@register_metric("exact_match", "sample")
def exact_match(
    prediction: str,
    references: list[str],
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    regexes_to_ignore: list[str] | None = None,
    **_: Any,
) -> dict[str, float]:
    """1 when the prediction equals a reference after the chosen clean-ups (lm-eval's options)."""

    def clean(text: str) -> str:
        for pattern in regexes_to_ignore or []:
            text = re.sub(pattern, "", text)
        if ignore_case:
            text = text.lower()
        if ignore_punctuation:
            text = text.translate(str.maketrans("", "", string.punctuation))
        return text

    return {"exact_match": float(any(clean(prediction) == clean(r) for r in references))}


def normalize_squad(text: str) -> str:
    """SQuAD's normalisation: lowercase, drop punctuation and articles, squeeze spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _token_f1(prediction: list[str], gold: list[str]) -> float:
    if not prediction or not gold:
        # SQuAD v2: an unanswerable question is right only when the prediction is empty too.
        return float(prediction == gold)
    common = Counter(prediction) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction), same / len(gold)
    return 2 * precision * recall / (precision + recall)


@register_metric("squad", "sample")
def squad(prediction: str, references: list[str], **_: Any) -> dict[str, float]:
    """SQuAD v1.1/v2.0 EM and F1 (max over references; no reference = unanswerable)."""
    golds = [r for r in references if normalize_squad(r)] or [""]
    pred = normalize_squad(prediction)
    em = max(float(pred == normalize_squad(g)) for g in golds)
    f1 = max(_token_f1(pred.split(), normalize_squad(g).split()) for g in golds)
    return {"exact": em, "f1": f1}


def normalize_korquad(text: str) -> str:
    """KorQuAD v1's normalisation: quote/bracket marks to spaces, then SQuAD-style clean-up."""
    for mark in ("'", '"', "《", "》", "<", ">", "〈", "〉", "(", ")", "‘", "’"):
        text = text.replace(mark, " ")
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(text.split())


@register_metric("korquad", "sample")
def korquad(prediction: str, references: list[str], **_: Any) -> dict[str, float]:
    """KorQuAD EM and character-level F1 (spaces removed), max over references."""
    pred = normalize_korquad(prediction)
    em = max(float(pred == normalize_korquad(r)) for r in references)
    pred_chars = list(pred.replace(" ", ""))
    f1 = 0.0
    for reference in references:
        gold_chars = list(normalize_korquad(reference).replace(" ", ""))
        same = sum((Counter(pred_chars) & Counter(gold_chars)).values())
        if same:
            precision, recall = same / len(pred_chars), same / len(gold_chars)
            f1 = max(f1, 2 * precision * recall / (precision + recall))
    return {"exact": em, "f1": f1}


def _rouge_scorer(tokenizer: str) -> Any:
    from rouge_score import rouge_scorer

    if tokenizer in ("default", "rouge"):
        # rouge-score's own tokenizer with Porter stemming: the English reference setting.
        return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=get_tokenizer(tokenizer))


@register_metric("rouge", "sample", needs_tokenizer=True)
def rouge(prediction: str, references: list[str], tokenizer: str = "default", **_: Any) -> dict[str, float]:
    """ROUGE-1/2/L/Lsum F-measure (max over references); rougeLsum splits sentences on newlines."""
    scorer = _rouge_scorer(tokenizer)
    best: dict[str, float] = dict.fromkeys(ROUGE_TYPES, 0.0)
    for reference in references:
        scores = scorer.score(reference, prediction)
        for name in ROUGE_TYPES:
            best[name] = max(best[name], scores[name].fmeasure)
    return best


def _streams(
    predictions: list[str], references: list[list[str]], tokenizer: str
) -> tuple[list[str], list[list[str]], str]:
    """Transpose references into sacrebleu's streams; pre-tokenise for non-default tokenizers."""
    width = max(len(r) for r in references)
    # Repeating a sample's last reference changes neither clipped counts nor the closest length.
    streams = [[refs[min(i, len(refs) - 1)] for refs in references] for i in range(width)]
    if tokenizer in ("default", "13a"):
        return predictions, streams, "13a"
    tok = get_tokenizer(tokenizer)
    join = lambda text: " ".join(tok.tokenize(text))  # noqa: E731
    return [join(p) for p in predictions], [[join(r) for r in s] for s in streams], "none"


@register_metric("bleu", "corpus", needs_tokenizer=True)
def bleu(
    predictions: list[str], references: list[list[str]], tokenizer: str = "default", **_: Any
) -> dict[str, float]:
    """Corpus BLEU by sacrebleu (13a tokenisation by default)."""
    import sacrebleu

    preds, streams, tokenize = _streams(predictions, references, tokenizer)
    return {"bleu": sacrebleu.corpus_bleu(preds, streams, tokenize=tokenize).score}


@register_metric("chrf", "corpus")
def chrf(
    predictions: list[str], references: list[list[str]], word_order: int = 0, **_: Any
) -> dict[str, float]:
    """Corpus chrF (chrF++ with word_order=2) by sacrebleu; character n-grams suit Korean as is."""
    import sacrebleu

    preds, streams, _ = _streams(predictions, references, "default")
    return {"chrf": sacrebleu.corpus_chrf(preds, streams, word_order=word_order).score}
