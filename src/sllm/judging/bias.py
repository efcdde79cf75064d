"""Self-preference: judges rate their own outputs (and their family's) higher (Zheng et al.,
2023; Panickssery et al., 2024). We warn when the judge and a candidate are the same model or
the same family, guessed from the names."""

from __future__ import annotations

import re

FAMILIES = (
    "gpt-4", "gpt-3.5", "o1", "o3", "claude", "gemini", "gemma", "llama", "mixtral", "mistral", "qwen",
    "deepseek", "phi", "smollm", "vicuna", "alpaca", "falcon", "yi", "solar", "exaone", "command-r",
)  # fmt: skip


def family(name: str) -> str | None:
    """The model family a spec or model name points to, if recognisable."""
    text = name.lower()
    if text.strip() == "default":
        return "smollm"  # sllm's default model is SmolLM2
    for candidate in FAMILIES:
        if re.search(rf"(^|[^a-z0-9]){re.escape(candidate)}", text):
            return candidate
    return None


def self_preference_risk(judge: str, candidates: list[str]) -> list[str]:
    """Candidates that are the judge itself or of the judge's family."""
    own = family(judge)
    return [c for c in candidates if c == judge or (own is not None and family(c) == own)]
