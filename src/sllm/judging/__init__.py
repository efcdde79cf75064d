"""LLM-as-judge: YAML judge configs, verdict parsing, single and pairwise judging with position swap."""

from sllm.judging.spec import JudgeSpec, get_judge, list_judges

__all__ = ["JudgeSpec", "get_judge", "list_judges"]
