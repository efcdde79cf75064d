"""Meta-evaluation: how well a judge agrees with humans (votes) or correlates with them (scores)."""

from sllm.metaeval.agreement import Agreement, compute_agreement
from sllm.metaeval.human_correlation import correlate

__all__ = ["Agreement", "compute_agreement", "correlate"]
