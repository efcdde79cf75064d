"""The built-in engine: the `hf:` backend's model, generation streamed row by row, prompt scoring.

Generation is transformers' own `generate` on a left-padded batch, with the decoding settings
`sllm generate` uses (`hf_generation_config`), so a served reply is the text `sllm generate`
gives. Two hooks make it a server engine:

- a streamer receives each step's new token of every row; it detokenises per row (whole
  characters only) and holds back a tail that may grow into a stop sequence;
- a stopping criterion ends a row at its own `max_tokens`, when its client disconnected, or when
  its deadline passed, so jobs with different limits share one batch and a gone client frees
  its row at the next step.

Prompt scoring (`echo` + `logprobs`) is one forward pass per prompt with the log-softmax taken
in chunks, so a 2,048-token prompt never holds a [2048 x vocabulary] tensor at once.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from sllm.models.hf import plain_lm_head
from sllm.models.hf_generate import end_tokens, finish_row, run_generate
from sllm.serve.jobs import Failed, Finished, Job, TokenLogprob
from sllm.serve.streaming import RowStreamer, TokenizerEngine, token_pieces

SCORE_CHUNK = 512  # positions per log-softmax over the vocabulary


class HFEngine(TokenizerEngine):
    """Serve an HFLM: batch keys, batched streaming generation, prompt log-probs."""

    streaming = True

    def batch_key(self, job: Job) -> Any:
        """Jobs share a batch when they decode alike; each one keeps its own max_tokens."""
        if job.kind == "score":
            return ("score",)
        config = job.config
        if config.strategy == "sample" and config.seed is not None:
            return ("seeded", id(job))  # a seeded reply must not depend on its batch mates
        settings = config.model_copy(update={"max_new_tokens": 1}).cache_key()
        return ("generate", repr(sorted(settings.items())), job.top_logprobs is not None)

    def run(self, jobs: list[Job], metrics: Any) -> None:
        """Run one batch of jobs of one kind."""
        if jobs[0].kind == "score":
            for job in jobs:
                self._score(job, metrics)
        else:
            self._generate(jobs, metrics)

    # -- generation ----------------------------------------------------------------------------
    @torch.inference_mode()
    def _generate(self, jobs: list[Job], metrics: Any) -> None:
        from transformers import StoppingCriteriaList

        tokenizer = self.tokenizer
        longest = max(job.config.max_new_tokens for job in jobs)
        config = jobs[0].config.model_copy(update={"max_new_tokens": longest})
        enders = end_tokens(self.lm, config)
        streamer = RowStreamer(self, jobs, enders, metrics) if config.strategy != "beam" else None
        width = max(len(job.prompt_ids) for job in jobs)  # the left-padded prompt width
        output, _ = run_generate(
            self.lm, [job.prompt_ids for job in jobs], config,
            streamer=streamer, stopping_criteria=StoppingCriteriaList([RowLimits(jobs, width)]),
            return_dict_in_generate=True, output_logits=any(job.top_logprobs is not None for job in jobs),
        )  # fmt: skip
        for row, job in enumerate(jobs):
            new_ids = output.sequences[row, width:].tolist()[: job.config.max_new_tokens]
            result = finish_row(tokenizer, new_ids, enders, job.config, len(job.prompt_ids))
            if job.timed_out():
                job.emit(Failed(504, "the request timed out"))
                continue
            reason = "abort" if job.cancelled.is_set() else result.finish_reason
            if streamer is not None:
                streamer.flush(row, result.text)
            elif result.n_tokens:  # beam search streams nothing: its tokens all come at the end
                metrics.token(job, time.monotonic())
            logprobs = None
            if job.top_logprobs is not None:
                steps = [output.logits[t][row] for t in range(result.n_tokens)]
                logprobs = self._step_logprobs(steps, new_ids[: result.n_tokens], job.top_logprobs)
            finished = Finished(result.text, len(job.prompt_ids), result.n_tokens, reason, logprobs)
            metrics.finished(job, finished)
            job.emit(finished)

    def _step_logprobs(self, steps: list[torch.Tensor], ids: list[int], top: int) -> list[TokenLogprob]:
        """Log-probs of generated tokens under the model's own distribution (before sampling)."""
        pieces = token_pieces(self.decode, ids)
        out, offset = [], 0
        for logits, token, piece in zip(steps, ids, pieces):
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            out.append(TokenLogprob(piece, float(logprobs[token]), self._top(logprobs, top), offset))
            offset += len(piece)
        return out

    def _top(self, logprobs: torch.Tensor, top: int) -> dict[str, float]:
        if top <= 0:
            return {}
        values, indices = logprobs.topk(top)
        return {self.decode([int(i)]): float(v) for v, i in zip(values, indices)}

    # -- prompt scoring ------------------------------------------------------------------------
    @torch.inference_mode()
    def _score(self, job: Job, metrics: Any) -> None:
        """Log-prob of every prompt token given the ones before it (echo + logprobs)."""
        if job.stopped():
            job.emit(Failed(504 if job.timed_out() else 499, "request ended before it was scored"))
            return
        ids = job.prompt_ids
        lm = self.lm
        tensor = torch.tensor([ids], device=lm.device)
        head = plain_lm_head(lm.model)
        if head is None:
            logits_of = lm.model(input_ids=tensor).logits[0]
        else:
            logits_of = lm.model.get_decoder()(input_ids=tensor).last_hidden_state[0]
        pieces = token_pieces(self.decode, ids)
        top = job.top_logprobs or 0
        entries = [TokenLogprob(pieces[0], None, {}, 0)]
        offset = len(pieces[0])
        for start in range(0, len(ids) - 1, SCORE_CHUNK):
            block = logits_of[start : start + SCORE_CHUNK]
            logprobs = torch.log_softmax((block if head is None else head(block)).float(), dim=-1)
            for i, row in enumerate(logprobs[: len(ids) - 1 - start]):
                position = start + i + 1
                piece = pieces[position]
                entries.append(TokenLogprob(piece, float(row[ids[position]]), self._top(row, top), offset))
                offset += len(piece)
        finished = Finished("".join(pieces), len(ids), 0, "length", entries)
        metrics.finished(job, finished)
        job.emit(finished)


class RowLimits:
    """Stopping criterion per row: its own max_tokens, a disconnected client, a passed deadline."""

    def __init__(self, jobs: list[Job], width: int) -> None:
        self.jobs, self.width = jobs, width

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        generated = input_ids.shape[1] - self.width
        done = [generated >= job.config.max_new_tokens or job.stopped() for job in self.jobs]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
