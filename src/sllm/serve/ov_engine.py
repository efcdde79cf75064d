"""The OpenVINO engine: `sllm serve --model ov:...` on GenAI's continuous batching.

OpenVINO GenAI's `ContinuousBatchingPipeline` schedules requests step by step over a paged KV
cache: a request joins the running batch at the next step and leaves it when it ends, so nobody
waits for a whole batch (what the built-in transformers engine does). This module only feeds it:
it admits the queued jobs between steps (`more`), reads each request's new tokens after every
step and sends them through the same detokeniser, stop-sequence hold-back and end handling as the
transformers engine (`RowStreamer`, `finish_row`), so the texts agree with `sllm generate --model
ov:...`. Echo scoring uses the `ov:` backend's scorer (full logits of the stateful IR).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sllm.models.openvino import OVLM, genai_config
from sllm.serve.jobs import Failed, Finished, Job, TokenLogprob
from sllm.serve.streaming import RowStreamer, TokenizerEngine, token_pieces

KV_CACHE_GB = 1  # the paged KV cache: 1 GB holds ~14k tokens of SmolLM2-135M in float32


class OVEngine(TokenizerEngine):
    """Serve an OVLM: continuous batching for generation, one forward pass per scored prompt."""

    streaming = True
    continuous = True

    def __init__(self, lm: OVLM, max_running: int = 8) -> None:
        import openvino_genai

        super().__init__(lm)
        scheduler = openvino_genai.SchedulerConfig()
        scheduler.cache_size = KV_CACHE_GB
        scheduler.max_num_seqs = max_running
        scheduler.max_num_batched_tokens = max(2048, lm.max_length)
        self.pipeline = openvino_genai.ContinuousBatchingPipeline(
            str(lm.folder), scheduler, "CPU", lm._precision()
        )
        self.enders = lm.eos_ids | {self.tokenizer.pad_token_id}
        self.capacity = max_running
        self.next_id = 0

    def batch_key(self, job: Job) -> Any:
        """Every generation shares the running batch (each request keeps its own settings)."""
        return ("score",) if job.kind == "score" else ("generate",)

    def run(self, jobs: list[Job], metrics: Any, more: Callable[[int, int], list[Job]] | None = None) -> None:
        """Score the jobs, or generate: admit jobs between steps until none is left running."""
        if jobs[0].kind == "score":
            for job in jobs:
                self._score(job, metrics)
            return
        running: dict[int, tuple[Job, Any, RowStreamer]] = {}
        self._admit(jobs, running, metrics)
        while running:
            self.pipeline.step()
            now = time.monotonic()
            for request_id, (job, handle, streamer) in list(running.items()):
                if job.stopped():
                    handle.cancel()
                if handle.can_read():
                    for output in handle.read().values():
                        for token in output.generated_ids:
                            streamer.put_token(0, int(token), now)
                if streamer.done[0] and not job.stopped():
                    handle.cancel()  # ended by an end token or a stop sequence seen here
                if str(handle.get_status()).rsplit(".", 1)[-1] != "RUNNING":
                    del running[request_id]
                    self._finish(job, streamer, metrics)
            if more is not None:  # new requests join at the next step, not after this batch
                self._admit(more(self.capacity - len(running), len(running)), running, metrics)

    def _admit(self, jobs: list[Job], running: dict, metrics: Any) -> None:
        import openvino

        for job in jobs:
            if job.top_logprobs is not None:
                job.emit(Failed(400, "logprobs of generated tokens are not supported by the OpenVINO engine"))
                continue
            config = genai_config(job.config)
            if not job.config.ignore_eos:  # a bare GenAI config knows no end token of this model
                config.stop_token_ids = set(self.enders)
            ids = openvino.Tensor(np.asarray([job.prompt_ids], dtype=np.int64))
            handle = self.pipeline.add_request(self.next_id, ids, config)
            enders = set() if job.config.ignore_eos else self.enders
            running[self.next_id] = (job, handle, RowStreamer(self, [job], enders, metrics))
            self.next_id += 1

    def _finish(self, job: Job, streamer: RowStreamer, metrics: Any) -> None:
        from sllm.models.hf_generate import finish_row

        if job.timed_out():
            job.emit(Failed(504, "the request timed out"))
            return
        result = finish_row(self.tokenizer, streamer.ids[0], streamer.enders, job.config, len(job.prompt_ids))
        streamer.flush(0, result.text)
        reason = "abort" if job.cancelled.is_set() else result.finish_reason
        finished = Finished(result.text, len(job.prompt_ids), result.n_tokens, reason)
        metrics.finished(job, finished)
        job.emit(finished)

    def _score(self, job: Job, metrics: Any) -> None:
        """Log-prob of every prompt token given the ones before it (echo + logprobs)."""
        if job.stopped():
            job.emit(Failed(504 if job.timed_out() else 499, "request ended before it was scored"))
            return
        ids = job.prompt_ids
        logprobs = self.lm.prompt_logprobs(ids)
        pieces = token_pieces(self.decode, ids)
        entries, offset = [TokenLogprob(pieces[0], None, {}, 0)], len(pieces[0])
        top = job.top_logprobs or 0
        for position in range(1, len(ids)):
            row = logprobs[position - 1]
            best = np.argsort(row)[::-1][:top] if top else []
            alternatives = {self.decode([int(i)]): float(row[i]) for i in best}
            entries.append(TokenLogprob(pieces[position], float(row[ids[position]]), alternatives, offset))
            offset += len(pieces[position])
        finished = Finished("".join(pieces), len(ids), 0, "length", entries)
        metrics.finished(job, finished)
        job.emit(finished)
