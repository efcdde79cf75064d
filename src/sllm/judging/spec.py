"""Judge configs: prompt, mode, scale, parser, reference need and decoding, as YAML (alpaca_eval's
idea of judges as configs), looked up by name; users add their own with include folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sllm.errors import unknown_name
from sllm.judging.parsers import PARSERS
from sllm.tasks.spec import read_yaml

BUILTIN = Path(__file__).parent / "builtin"


class JudgeSpec(BaseModel):
    """One judge: how to ask, and how to read the answer."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    mode: Literal["single", "pairwise"]
    turns: int = Field(1, ge=1, le=2, description="2: the multi-turn MT-Bench templates")
    needs_reference: bool = False
    parser: str = Field(
        ..., description="a judge parser's name: rating, pairwise_abc, arena_hard, first_line_score"
    )
    scale: list[float] | None = Field(None, description="[low, high] for ratings")
    system_prompt: str = ""
    prompt_template: str = Field(..., description="Python str.format fields, as FastChat's")
    retry_instruction: str = Field(
        "",
        description="appended on a retry when the reply did not parse (default per parser)",
    )
    language: str = "en"
    fence_answers: bool = Field(
        True,
        description="wrap each answer in <answer-NONCE> tags and tell the judge (False: FastChat's prompt "
        "exactly, fences of plain text only)",
    )
    decoding: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0, "max_new_tokens": 2048})
    source: str = ""

    @field_validator("parser")
    @classmethod
    def _known_parser(cls, name: str) -> str:
        if name not in PARSERS:
            raise ValueError(str(unknown_name("judge parser", name, PARSERS.names())))
        return name


_CACHE: dict[tuple[str, ...], dict[str, JudgeSpec]] = {}


def _load(include: tuple[str, ...]) -> dict[str, JudgeSpec]:
    from pydantic import ValidationError

    from sllm.config_errors import validation_message
    from sllm.errors import SllmError

    judges: dict[str, JudgeSpec] = {}
    for folder in [BUILTIN, *map(Path, include)]:
        if not folder.is_dir():
            raise SllmError(f"judge folder not found: {folder}")
        for path in sorted(folder.rglob("*.yaml")):
            for data in read_yaml(path):
                try:
                    spec = JudgeSpec(**data, source=str(path))
                except ValidationError as exc:
                    raise SllmError(validation_message(exc, source=path)) from None
                judges[spec.name] = spec
    return judges


def list_judges(include: tuple[str, ...] = ()) -> dict[str, JudgeSpec]:
    """Every judge config, built-in first, later folders overriding earlier names."""
    if include not in _CACHE:
        _CACHE[include] = _load(include)
    return _CACHE[include]


def get_judge(name: str, include: tuple[str, ...] = ()) -> JudgeSpec:
    """A judge config by name (close names suggested on a miss)."""
    judges = list_judges(include)
    if name not in judges:
        raise unknown_name("judge", name, judges)
    return judges[name]
