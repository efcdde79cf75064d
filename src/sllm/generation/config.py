"""GenerationConfig: one typed object for every decoding strategy, plus named presets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sllm import smoke
from sllm.config_errors import validation_message
from sllm.errors import UsageError, unknown_name

Strategy = Literal["greedy", "beam", "sample"]


class GenerationConfig(BaseModel):
    """Decoding settings shared by every backend; part of the cache key of a request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = Field("greedy", description="greedy, beam search or sampling")
    max_new_tokens: int = Field(256, ge=1, validate_default=True, description="cap on generated tokens")
    temperature: float = Field(1.0, gt=0.0, description="softmax temperature (sampling)")
    top_k: int = Field(0, ge=0, description="keep the k most likely tokens; 0 = off (sampling)")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus mass in (0, 1] (sampling)")
    num_beams: int = Field(1, ge=1, description="beams for beam search")
    length_penalty: float = Field(1.0, description="beam-search length penalty exponent")
    repetition_penalty: float = Field(1.0, gt=0.0, description="CTRL-style penalty; 1.0 = off")
    no_repeat_ngram_size: int = Field(0, ge=0, description="forbid repeating n-grams; 0 = off")
    stop: tuple[str, ...] = Field((), description="stop sequences, cut from the output")
    ignore_eos: bool = Field(False, description="keep generating past the EOS token")
    seed: int | None = Field(None, description="seed for sampling; fixes the result")
    truncate: Literal["left", "right"] | None = Field(
        None, description="cut a prompt too long for the context window from this side; None = error"
    )

    @field_validator("max_new_tokens")
    @classmethod
    def _smoke_tokens(cls, value: int) -> int:
        return smoke.cap(value, smoke.NEW_TOKENS)  # SLLM_SMOKE: a few new tokens

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_tuple(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        return tuple(value)

    @model_validator(mode="after")
    def _check_strategy(self) -> GenerationConfig:
        if self.strategy != "beam" and self.num_beams > 1:
            raise ValueError("num_beams > 1 needs strategy 'beam'")
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")
        return self

    @property
    def deterministic(self) -> bool:
        """True when the same request always yields the same text (cacheable)."""
        return self.strategy != "sample" or self.seed is not None

    def cache_key(self) -> dict[str, Any]:
        """Return the settings that change the output, as a canonical dict."""
        key = self.model_dump(mode="json")
        if self.truncate is None:  # keys of requests that never needed a cut stay as they were
            del key["truncate"]
        return key


PRESETS: dict[str, dict[str, Any]] = {
    "greedy": {"strategy": "greedy"},
    "beam": {"strategy": "beam", "num_beams": 4, "no_repeat_ngram_size": 3},
    "sample": {"strategy": "sample", "temperature": 1.0, "top_k": 0, "top_p": 1.0},
    "nucleus": {"strategy": "sample", "temperature": 0.7, "top_p": 0.9},
    "topk": {"strategy": "sample", "temperature": 0.7, "top_k": 40},
}


def make_config(**values: Any) -> GenerationConfig:
    """Build a GenerationConfig, turning validation errors into one clear usage line."""
    try:
        return GenerationConfig(**values)
    except ValidationError as exc:
        raise UsageError(validation_message(exc, label=_setting)) from None


def _setting(field: str) -> str:
    return f"invalid generation setting {field}"


def preset(name: str, **overrides: Any) -> GenerationConfig:
    """Return the named preset with overrides applied (None values are ignored)."""
    if name not in PRESETS:
        raise unknown_name("decoding preset", name, PRESETS)
    values = {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}
    return make_config(**values)


def config_from_flags(
    preset_name: str | None = None, strategy: str | None = None, **flags: Any
) -> GenerationConfig:
    """A GenerationConfig from command-line flags (None = not given): the preset first, explicit
    flags win; sampling knobs without a strategy mean sampling, more than one beam beam search."""
    given = {k: v for k, v in flags.items() if v is not None and v != []}
    if strategy is None and preset_name is None:
        if given.get("num_beams", 1) > 1:
            strategy = "beam"
        elif any(k in given for k in ("temperature", "top_k", "top_p")):
            strategy = "sample"
    if preset_name is not None:
        return preset(preset_name, strategy=strategy, **given)
    # The strategies share their names with presets, so `--strategy beam` means 4 beams.
    return make_config(**{**PRESETS[strategy or "greedy"], **given})
