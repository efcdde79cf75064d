"""One instruction example, whatever file it came from: chat messages plus the fields to keep.

Alpaca rows become a user turn (instruction, then the input after a blank line, as Alpaca's own
prompt puts them) and an assistant turn; ShareGPT `from` values map to roles as FastChat maps
them. The original instruction / input are kept so Alpaca round-trips exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {
    "system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
    "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
}  # fmt: skip
TO_SHAREGPT = {"system": "system", "user": "human", "assistant": "gpt"}


@dataclass
class Example:
    """Messages (role / content), the Alpaca fields when known, other fields, and where it was read."""

    messages: list[dict[str, str]]
    meta: dict[str, Any] = field(default_factory=dict)
    where: str = ""
    instruction: str | None = None
    input: str | None = None

    @classmethod
    def from_alpaca(
        cls, instruction: str, input_text: str, output: str, meta: dict[str, Any], where: str = ""
    ) -> Example:
        """An Alpaca triple as a two-turn conversation (plus a system turn when the row has one)."""
        user = f"{instruction}\n\n{input_text}" if input_text.strip() else instruction
        system = meta.pop("system", None)
        head = [{"role": "system", "content": str(system)}] if system else []
        turns = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
        return cls([*head, *turns], meta, where, instruction, input_text)

    @property
    def system(self) -> str | None:
        """The system prompt, if the first message is one."""
        return self.messages[0]["content"] if self.messages and self.messages[0]["role"] == "system" else None

    @property
    def turns(self) -> list[dict[str, str]]:
        """The messages without the system prompt."""
        return self.messages[1:] if self.system is not None else self.messages

    @property
    def single_turn(self) -> bool:
        """One user turn answered once."""
        return [m["role"] for m in self.turns] == ["user", "assistant"]

    def alpaca(self) -> dict[str, Any]:
        """instruction / input / output (+ system and other fields); single-turn examples only."""
        if not self.single_turn:
            raise ValueError(f"{self.where}: a multi-turn conversation has no Alpaca form")
        user, answer = self.turns[0]["content"], self.turns[1]["content"]
        instruction = self.instruction if self.instruction is not None else user
        row: dict[str, Any] = {"instruction": instruction, "input": self.input or "", "output": answer}
        if self.system is not None:
            row["system"] = self.system
        return row | self.meta

    def text(self) -> str:
        """Every message's content, joined (for overlap, language and duplicate checks)."""
        return "\n".join(m["content"] for m in self.messages)

    def canonical(self) -> dict[str, Any]:
        """The content that defines the example (for digests and duplicates): messages and fields."""
        return {"messages": self.messages, "meta": self.meta}
