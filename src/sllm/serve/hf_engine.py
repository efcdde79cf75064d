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

from sllm.generation.stopping import streamable
from sllm.models.detokenize import TextStream
from sllm.models.hf import HFLM, plain_lm_head
from sllm.models.hf_generate import eos_token_ids, finish_row, hf_generation_config, left_pad
from sllm.serve.jobs import Delta, Failed, Finished, Job, TokenLogprob

SCORE_CHUNK = 512  # positions per log-softmax over the vocabulary


class HFEngine:
    """Serve an HFLM: batch keys, batched streaming generation, prompt log-probs."""

    streaming = True

    def __init__(self, lm: HFLM) -> None:
        self.lm = lm
        self.tokenizer = lm.tokenizer
        self.max_length, self.window_source = lm.max_length, lm.window_source

    def encode(self, text: str) -> list[int]:
        """Token ids of a text."""
        return self.lm.encode(text)

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """The prompt a chat becomes (the model's chat template)."""
        return self.lm.render_chat(messages)

    def decode(self, ids: list[int]) -> str:
        """Text of token ids, special tokens left out."""
        return self.tokenizer.decode(ids, skip_special_tokens=True)

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
        lm, tokenizer = self.lm, self.tokenizer
        longest = max(job.config.max_new_tokens for job in jobs)
        config = jobs[0].config.model_copy(update={"max_new_tokens": longest})
        ids, mask = left_pad([job.prompt_ids for job in jobs], tokenizer.pad_token_id)
        width = ids.shape[1]
        enders = set() if config.ignore_eos else set(eos_token_ids(lm)) | {tokenizer.pad_token_id}
        streamer = RowStreamer(self, jobs, enders, metrics) if config.strategy != "beam" else None
        want_logprobs = any(job.top_logprobs is not None for job in jobs)
        if config.seed is not None:
            torch.manual_seed(config.seed)
        from transformers import StoppingCriteriaList

        output = lm.model.generate(
            input_ids=ids.to(lm.device),
            attention_mask=mask.to(lm.device),
            generation_config=hf_generation_config(lm, config),
            tokenizer=tokenizer if config.stop else None,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([RowLimits(jobs, width)]),
            return_dict_in_generate=True,
            output_logits=want_logprobs,
        )
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


def token_pieces(decode: Any, ids: list[int]) -> list[str]:
    """Each token's share of the decoded text: a token that ends inside a character gets "" and
    the token completing it the whole character, so the pieces join to the decoded text."""
    stream = TextStream(decode)
    pieces = [stream.push([token]) for token in ids]
    if pieces:
        pieces[-1] += stream.finish("stop")
    return pieces


class RowLimits:
    """Stopping criterion per row: its own max_tokens, a disconnected client, a passed deadline."""

    def __init__(self, jobs: list[Job], width: int) -> None:
        self.jobs, self.width = jobs, width

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        generated = input_ids.shape[1] - self.width
        done = [generated >= job.config.max_new_tokens or job.stopped() for job in self.jobs]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class RowStreamer:
    """transformers streamer for a whole batch: per-row text deltas, stop sequences held back."""

    def __init__(self, engine: HFEngine, jobs: list[Job], enders: set[int], metrics: Any) -> None:
        self.jobs, self.enders, self.metrics = jobs, enders, metrics
        self.streams = [TextStream(engine.decode) for _ in jobs]
        self.raw = [""] * len(jobs)  # detokenised so far
        self.sent = [""] * len(jobs)  # sent to the client so far
        self.counts = [0] * len(jobs)
        self.done = [False] * len(jobs)
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        """Called by generate: first with the prompt, then with each step's token per row."""
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        now = time.monotonic()
        for row, token in enumerate(value.reshape(-1).tolist()):
            job = self.jobs[row]
            if self.done[row] or self.counts[row] >= job.config.max_new_tokens:
                continue
            if token in self.enders:
                self.done[row] = True
                continue
            self.counts[row] += 1
            self.metrics.token(job, now)
            self.raw[row] += self.streams[row].push([token])
            self._send(row, *streamable(self.raw[row], job.config.stop))

    def _send(self, row: int, text: str, final: bool) -> None:
        if final:
            self.done[row] = True
        if len(text) > len(self.sent[row]) and text.startswith(self.sent[row]):
            job = self.jobs[row]
            if job.streams:
                job.emit(Delta(text[len(self.sent[row]) :], self.counts[row]))
            self.sent[row] = text

    def flush(self, row: int, final_text: str) -> None:
        """Send what the row's final text holds beyond what was streamed."""
        self._send(row, final_text, True)

    def end(self) -> None:
        """Called by generate when the batch is done."""
