"""Tracking plumbing over MLflow: where runs go, how a command records one, how to read them."""

from sllm.tracking.query import get_run, list_runs
from sllm.tracking.runs import RunRecorder, track_run
from sllm.tracking.store import configure, tracking_uri

__all__ = ["RunRecorder", "configure", "get_run", "list_runs", "track_run", "tracking_uri"]
