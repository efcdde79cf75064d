"""Running untrusted, model-written code: one sandboxed process per program."""

from sllm.execution.sandbox import ExecutionResult, SandboxLimits, run_program, run_programs, sandbox_status

__all__ = ["ExecutionResult", "SandboxLimits", "run_program", "run_programs", "sandbox_status"]
