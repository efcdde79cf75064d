"""Running untrusted, model-written code: sandboxed processes, and judged runs for verdicts."""

from sllm.execution.judged import CodeTask, run_judged, run_judged_many
from sllm.execution.sandbox import ExecutionResult, SandboxLimits, run_program, run_programs, sandbox_status

__all__ = [
    "CodeTask",
    "ExecutionResult",
    "SandboxLimits",
    "run_judged",
    "run_judged_many",
    "run_program",
    "run_programs",
    "sandbox_status",
]
