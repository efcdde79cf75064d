"""sllm: the small-LLM lifecycle toolkit."""

__version__ = "0.1.0"
