"""Decoding settings, presets and stop-sequence handling."""

from sllm.generation.config import PRESETS, GenerationConfig, preset
from sllm.generation.stopping import truncate_at_stop

__all__ = ["PRESETS", "GenerationConfig", "preset", "truncate_at_stop"]
