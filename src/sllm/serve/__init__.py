"""`sllm serve`: an OpenAI-compatible HTTP gateway in front of a model, with Prometheus metrics.

protocol.py   the OpenAI request bodies we accept, checked, and their decoding settings
jobs.py       one unit of work for the engine, and the events it sends back
batcher.py    the bounded queue and the worker that runs compatible jobs as one batch
hf_engine.py  the built-in engine: transformers generation streamed per row, prompt log-probs
lm_engine.py  any other sllm backend behind the same queue (whole replies, no streaming)
metrics.py    Prometheus metrics named as vLLM's, so its Grafana dashboard reads both
responses.py  OpenAI response bodies and server-sent-event chunks
app.py        the FastAPI routes, API-key auth and error bodies
holder.py     the model being served; follows a registry alias without dropping requests
child.py      a real engine server (`vllm serve`, any command) as a child process on loopback
gateway.py    --engine vllm|command: the key check and metrics in front of that engine
drift.py      reference profiles of prompts and the drift monitor (sllm_drift gauges)
drift_report.py  drift of a logged stream, window by window, as a dict and a self-contained HTML page
request_log.py   the PII-masked request log, and eval sets drawn from it
prompt_files.py  prompts read from instruction files, request logs and plain text
"""
