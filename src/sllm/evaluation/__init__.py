"""The evaluation pipeline: task specs -> requests -> model outputs -> metrics -> records."""

from sllm.evaluation.pipeline import EvalConfig, evaluate

__all__ = ["EvalConfig", "evaluate"]
