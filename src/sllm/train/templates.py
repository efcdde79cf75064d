"""Chat templates for training: the loss mask needs `{% generation %}` markers around what the
assistant says (transformers' `return_assistant_tokens_mask`, TRL's `assistant_only_loss`).

Order of preference: the template already has markers; TRL's patched version of a template it
knows; for ChatML templates (SmolLM2, Qwen, ...) our marked ChatML, which must render every probe
conversation byte-for-byte as the original (checked, else an error says so). A base model without
a template gets a named one (`chatml`), with its special tokens added to the vocabulary.
"""

from __future__ import annotations

import json
from typing import Any

from sllm.errors import SllmError

PROBES = [
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6"},
    ],
]

CHATML_TRAINING = (
    "{%- for message in messages %}"
    "{%- if loop.first and messages[0]['role'] != 'system' %}{{ DEFAULT_SYSTEM }}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{%- else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
NAMED = {"chatml": {"template": CHATML_TRAINING.replace("{{ DEFAULT_SYSTEM }}", ""),
                    "special_tokens": ["<|im_start|>", "<|im_end|>"], "eos": "<|im_end|>"}}  # fmt: skip


def _render(tokenizer: Any, template: str | None, messages: list[dict[str, str]], prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=prompt, chat_template=template
    )


def _same_rendering(tokenizer: Any, template: str) -> bool:
    for messages in PROBES:
        for upto, prompt in ((len(messages), False), (1, True)):
            if _render(tokenizer, template, messages[:upto], prompt) != _render(
                tokenizer, None, messages[:upto], prompt
            ):
                return False
    return True


def _chatml_with_default_system(tokenizer: Any) -> str:
    # the text a template adds before the first user turn when there is no system message
    head = _render(tokenizer, None, PROBES[0][:1], False).split("<|im_start|>user")[0]
    return CHATML_TRAINING.replace("{{ DEFAULT_SYSTEM }}", "{{ " + json.dumps(head) + " }}")


def training_template(tokenizer: Any) -> str:
    """A template with generation markers that renders exactly as the tokenizer's own."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    own = tokenizer.chat_template
    if not own:
        raise SllmError("the tokenizer has no chat template: set `template: chatml` for a base model")
    if has_generation_markers(own):
        return own
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError:
        patched = None
    if patched and _same_rendering(tokenizer, patched):
        return patched
    if "<|im_start|>" in own:
        candidate = _chatml_with_default_system(tokenizer)
        if _same_rendering(tokenizer, candidate):
            return candidate
    raise SllmError(
        "cannot mark the assistant turns of this chat template for the loss mask; add "
        "{% generation %} ... {% endgeneration %} around assistant content, or set loss_on: all"
    )


def apply_named_template(name: str, tokenizer: Any, model: Any) -> list[int]:
    """Give a base model a named template: its special tokens added (embeddings resized), EOS set.
    Returns the ids of the tokens that were new (their embeddings must be trained)."""
    from sllm.errors import unknown_name

    if name not in NAMED:
        raise unknown_name("chat template", name, NAMED)
    spec = NAMED[name]
    new = [t for t in spec["special_tokens"] if t not in tokenizer.get_vocab()]
    tokenizer.add_special_tokens({"additional_special_tokens": spec["special_tokens"]})
    tokenizer.chat_template = spec["template"]
    tokenizer.eos_token = spec["eos"]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if new:
        model.resize_token_embeddings(len(tokenizer))
    model.config.eos_token_id = tokenizer.eos_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    return [tokenizer.convert_tokens_to_ids(t) for t in new]
