"""Model families from names, for self-preference warnings: one maintained table of patterns.

A family is the lineage of the weights (a fine-tune of Llama is in the llama family), or the
vendor's series for closed models. Names are matched lower-cased, anywhere in a model spec
(`openai:gpt-4o@http://...`, `hf:meta-llama/Llama-3.1-8B`, `gpt4_1106_preview`), starting at a
word boundary. Judge names from alpaca_eval annotators (`weighted_alpaca_eval_gpt4_turbo`) are
read without their config words, so the judge is GPT-4 Turbo, not "alpaca".
"""

from __future__ import annotations

import re

# (family, pattern); first match wins, so more specific patterns come first.
FAMILY_TABLE: tuple[tuple[str, str], ...] = (
    ("gpt-4", r"(chat)?gpt[-_ ]?4(?!all)"),  # gpt-4, gpt4, gpt-4o, gpt-4.1, gpt4_1106_preview, chatgpt-4o
    ("gpt-3.5", r"(gpt[-_ ]?3\.?5|chatgpt|text[-_]davinci|gpt35)"),
    ("openai-o", r"o[134](?=$|[^a-z0-9])|o[134]-(mini|preview|pro)"),
    ("claude", r"claude"),
    ("gemini", r"gemini"),
    ("gemma", r"(code)?gemma"),
    ("mixtral", r"mixtral"),
    ("mistral", r"(mistral|ministral|codestral|zephyr)"),
    ("llama", r"(code)?llama|vicuna|alpaca|koala|guanaco|tulu"),  # Llama fine-tunes named without it
    ("qwen", r"(qwen|qwq)"),
    ("deepseek", r"deepseek"),
    ("phi", r"phi[-_ ]?\d"),
    ("smollm", r"smollm"),
    ("yi", r"yi[-_ ](\d|large|lightning)"),
    ("solar", r"solar"),
    ("exaone", r"exaone"),
    ("hyperclova", r"(hyperclova|hcx)"),
    ("kanana", r"kanana"),
    ("command-r", r"(command[-_ ]?r|cohere)"),
    ("falcon", r"falcon"),
    ("olmo", r"olmo"),
    ("granite", r"granite"),
    ("internlm", r"internlm"),
    ("chatglm", r"(chat)?glm[-_ ]?\d"),
)
_COMPILED = tuple((name, re.compile(rf"(?:^|[^a-z0-9])(?:{pattern})")) for name, pattern in FAMILY_TABLE)
# alpaca_eval annotator configs: weighted_alpaca_eval_gpt4_turbo, alpaca_eval_cot_gpt4_turbo_fn, ...
_CONFIG_WORDS = re.compile(r"alpaca[_-]?eval|(?<![a-z0-9])(weighted|cot|clf|fn|ranking)(?![a-z0-9])")


def family(name: str) -> str | None:
    """The model family a spec, model or judge name points to, if recognisable."""
    text = name.lower().strip()
    if text == "default":
        return "smollm"  # sllm's default model is SmolLM2
    text = _CONFIG_WORDS.sub(" ", text)
    for candidate, pattern in _COMPILED:
        if pattern.search(text):
            return candidate
    return None


def same_family(judge: str, candidate: str, judge_family: str | None = None) -> bool:
    """Whether `candidate` is the judge itself or of its family (`judge_family` overrides the guess)."""
    own = (judge_family or "").strip().lower() or family(judge)
    return candidate == judge or (own is not None and family(candidate) == own)
