"""The Self-Instruct loop: generate instructions from 8 in-context tasks (6 human, 2 machine-made
once there are some), filter them, decide which are classification tasks, generate instances
(output-first for classification), filter those, repeat until N instructions are kept.

Every batch is checkpointed in the work folder (kept instructions with their instances, every
decision with its reason, the number of finished batches), so an interrupted run resumes at the
next batch without regenerating; sampled calls are seeded per prompt, so they are cached too.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sllm.data.examples import Example
from sllm.data.selfinstruct import filters
from sllm.data.selfinstruct.prompts import classify_prompt, generation_prompt, instance_prompt
from sllm.errors import SllmError
from sllm.generation.config import make_config
from sllm.models.base import LM, GenerationRequest

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
BUNDLED = {"en": SEEDS / "en_seed_tasks_sample.jsonl", "ko": SEEDS / "ko_seed_tasks.jsonl"}


class SelfInstructConfig(BaseModel):
    """Settings of a run (the defaults are the paper's where it states them)."""

    seeds: str = Field("en", description="en | ko (bundled seed tasks) | a seed_tasks.jsonl path")
    n: int = Field(20, ge=1, description="stop once this many new instructions are kept")
    batch_size: int = Field(4, ge=1, description="generation prompts per batch")
    num_prompt_instructions: int = 8
    num_machine_instructions: int = 2
    rouge_threshold: float = 0.7
    min_words: int | None = Field(None, description="default 4 (the paper's); 3 for Korean seed pools")
    max_words: int = 150
    temperature: float = 0.7
    top_p: float = 0.5
    max_new_tokens: int = 256
    instance_max_new_tokens: int = 256
    seed: int = 0
    max_batches: int | None = None

    def identity(self) -> str:
        """A digest of the settings that change what is generated (not n or max_batches)."""
        fixed = self.model_dump(exclude={"n", "max_batches"})
        return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:16]


def load_seed_tasks(seeds: str) -> tuple[list[dict[str, Any]], str]:
    """Seed tasks (Self-Instruct's layout) and their language (ko when mostly Hangul)."""
    from sllm.language import hangul_ratio
    from sllm.metaeval.records import read_records

    path = BUNDLED.get(seeds, Path(seeds))
    tasks = []
    for where, record in read_records(path):
        if not str(record.get("instruction", "")).strip():
            raise SllmError(f"{where}: missing field 'instruction'")
        tasks.append(record)
    if not tasks:
        raise SllmError(f"{path}: no seed tasks")
    language = "ko" if hangul_ratio([t["instruction"] for t in tasks]) > 0.5 else "en"
    return tasks, language


def check_work_dir(config: SelfInstructConfig, work: Path) -> None:
    """Raise when `work` holds the checkpoint of a run with other settings (no model needed)."""
    state_path = Path(work) / "state.json"
    if state_path.is_file() and json.loads(state_path.read_text()).get("identity") != config.identity():
        raise SllmError(
            f"{work} holds a Self-Instruct run with other settings; use another --work-dir or delete it"
        )


RULES = {
    "length": "length", "blacklisted": "blacklist", "starts with punctuation": "punctuation",
    "starts with 'Write a program'": "program", "ROUGE-L": "rouge_l", "no valid instance": "no_instance",
    "contains U+FFFD": "broken_text",
}  # fmt: skip


def rule_of(reason: str | None) -> str:
    """The filter a decision's reason names ("kept" when there is none)."""
    if reason is None:
        return "kept"
    return next((rule for prefix, rule in RULES.items() if reason.startswith(prefix)), reason)


class SelfInstruct:
    """One run of the loop for one generator model, checkpointed in `work_dir`."""

    def __init__(self, lm: LM, config: SelfInstructConfig, work_dir: str | Path) -> None:
        self.lm, self.config, self.work = lm, config, Path(work_dir)
        self.tasks, self.language = load_seed_tasks(config.seeds)
        self.human = [t["instruction"] for t in self.tasks]
        # a Korean word (eojeol) carries its particles: 3 of them say about what 4 English words do
        self.min_words = config.min_words or (3 if self.language == "ko" else 4)
        self.work.mkdir(parents=True, exist_ok=True)
        self.kept, self.done = self._resume()
        self.rouge = filters.RougeFilter(
            self.human + [r["instruction"] for r in self.kept], config.rouge_threshold
        )

    # -- checkpoint ---------------------------------------------------------------------------
    def _resume(self) -> tuple[list[dict[str, Any]], int]:
        state_path = self.work / "state.json"
        if not state_path.is_file():
            return [], 0
        check_work_dir(self.config, self.work)
        done = int(json.loads(state_path.read_text())["batches_done"])
        # a batch written but not marked done (killed in between) is dropped and redone
        kept = [r for r in self._read("machine.jsonl") if r["batch"] < done]
        self._rewrite("machine.jsonl", kept)
        self._rewrite("decisions.jsonl", [d for d in self._read("decisions.jsonl") if d["batch"] < done])
        return kept, done

    def _read(self, name: str) -> list[dict[str, Any]]:
        path = self.work / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    def _rewrite(self, name: str, rows: list[dict[str, Any]]) -> None:
        (self.work / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    def _append(self, name: str, rows: list[dict[str, Any]]) -> None:
        with (self.work / name).open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    def _mark_done(self, batches: int) -> None:
        state = {"identity": self.config.identity(), "batches_done": batches, "generator": self.lm.spec}
        tmp = self.work / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.work / "state.json")

    # -- the loop -----------------------------------------------------------------------------
    def run(self, progress: bool = False) -> dict[str, Any]:
        """Run batches until N instructions are kept (or max_batches); the summary."""
        from sllm.progress import progress_bar

        cfg = self.config
        limit = cfg.max_batches or 10 * math.ceil(cfg.n / cfg.batch_size) + 10
        with progress_bar("self-instruct", cfg.n, progress) as bar:
            bar.update(min(len(self.kept), cfg.n))
            while len(self.kept) < cfg.n and self.done < limit:
                before = len(self.kept)
                self._batch(self.done)
                self.done += 1
                self._mark_done(self.done)
                bar.update(min(len(self.kept), cfg.n) - min(before, cfg.n))
        return self.summary()

    def _prompts(self, batch: int) -> list[tuple[str, int]]:
        cfg = self.config
        rng = random.Random(f"{cfg.seed}:{batch}")
        machine = [r["instruction"] for r in self.kept]
        prompts = []
        for j in range(cfg.batch_size):
            k = min(cfg.num_machine_instructions, len(machine))
            chosen = rng.sample(machine, k) + rng.sample(
                self.human, min(len(self.human), cfg.num_prompt_instructions - k)
            )
            rng.shuffle(chosen)
            prompts.append(
                (generation_prompt(chosen, self.language), cfg.seed * 1_000_003 + batch * 1000 + j)
            )
        return prompts

    def _batch(self, batch: int) -> None:
        cfg = self.config
        prompts = self._prompts(batch)
        stop = ["\n\n", f"\n{cfg.num_prompt_instructions + 8}."]
        requests = [
            GenerationRequest(prompt=p, config=make_config(strategy="sample", temperature=cfg.temperature,
                                                           top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens,
                                                           seed=seed, stop=stop))
            for p, seed in prompts
        ]  # fmt: skip
        replies = self.lm.generate(requests)
        decisions, accepted = [], []
        for (prompt, seed), reply in zip(prompts, replies, strict=True):
            digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
            nxt = cfg.num_prompt_instructions + 1
            for text in filters.split_instructions(reply.text, nxt):
                reason = filters.instruction_problem(text, self.language, self.min_words, cfg.max_words)
                if reason is None:
                    score, other = self.rouge.closest(text)
                    if score >= cfg.rouge_threshold:
                        reason = f"ROUGE-L {score:.2f} with: {other}"
                decisions.append(
                    {"batch": batch, "instruction": text, "kept": reason is None, "reason": reason}
                )
                if reason is None:
                    self.rouge.add(text)
                    accepted.append({"instruction": text, "prompt_digest": digest, "seed": seed})
        self._instances(batch, accepted, decisions)
        self._append("decisions.jsonl", decisions)

    def _instances(self, batch: int, accepted: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> None:
        cfg = self.config
        greedy = make_config(max_new_tokens=3, stop=["\n"])
        replies = self.lm.generate(
            [
                GenerationRequest(prompt=classify_prompt(a["instruction"], self.language), config=greedy)
                for a in accepted
            ]
        )
        for a, reply in zip(accepted, replies, strict=True):
            answer = reply.text.strip().lower()
            a["is_classification"] = answer.startswith(("yes", "예", "네"))
        config = make_config(max_new_tokens=cfg.instance_max_new_tokens, stop=["\nTask:", "\n작업:"])
        replies = self.lm.generate([
            GenerationRequest(prompt=instance_prompt(a["instruction"], a["is_classification"], self.language),
                              config=config)
            for a in accepted
        ])  # fmt: skip
        kept = []
        for a, reply in zip(accepted, replies, strict=True):
            instances, dropped = [], Counter()
            seen = set()
            for inst in filters.parse_instances(reply.text, a["is_classification"], self.language):
                reason = filters.instance_problem(a["instruction"], inst) or (
                    "duplicate instance" if inst in seen else None
                )
                seen.add(inst)
                if reason:
                    dropped[reason] += 1
                else:
                    instances.append({"input": inst.input, "output": inst.output})
            if not instances:
                decision = next(d for d in decisions if d["instruction"] == a["instruction"] and d["kept"])
                decision.update(
                    kept=False, reason="no valid instance" + (f" ({dict(dropped)})" if dropped else "")
                )
                self.rouge.pool.remove(a["instruction"])
                continue
            kept.append({**a, "batch": batch, "instances": instances})
        self.kept += kept
        self._append("machine.jsonl", kept)

    # -- results ------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts of candidates, rejections by reason, kept instructions and rows."""
        decisions = self._read("decisions.jsonl")
        reasons = Counter(rule_of(d["reason"]) for d in decisions)
        return {
            "batches": self.done,
            "candidates": len(decisions),
            "kept_instructions": len(self.kept),
            "rows": sum(len(r["instances"]) for r in self.kept),
            "decisions": dict(reasons),
            "language": self.language,
        }

    def examples(self, generator: str, fingerprint: str) -> list[Example]:
        """The kept instructions' instances as Alpaca rows with their provenance."""
        rows = []
        for r in self.kept:
            for inst in r["instances"]:
                provenance = {
                    "source": "self-instruct", "generator": generator, "generator_fingerprint": fingerprint,
                    "prompt_digest": r["prompt_digest"], "seed": r["seed"], "step": r["batch"],
                    "is_classification": r["is_classification"],
                }  # fmt: skip
                meta = {"provenance": provenance}
                rows.append(Example.from_alpaca(r["instruction"], inst["input"], inst["output"], meta))
        return rows


def run_selfinstruct(  # noqa: PLR0913 - the run's settings
    config: SelfInstructConfig,
    generator: str,
    output: Path,
    work_dir: Path | None = None,
    use_cache: bool = True,
    track: bool = True,
    price_table: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """`sllm data selfinstruct`: check everything, generate (resuming from `work_dir`, default next
    to `output`), write the rows as Alpaca JSONL and record the run; the report."""
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import load_examples, write_examples
    from sllm.models.spec import open_model
    from sllm.usage import usage_report

    work = work_dir or output.with_name(output.stem + ".work")
    check_run(config, generator, output, work, price_table)
    seed_path = BUNDLED.get(config.seeds, Path(config.seeds))
    seed_rows, seed_layout = load_examples(seed_path)  # read as the run will read it, before the model
    lm = open_model(generator, use_cache=use_cache)
    run = SelfInstruct(lm, config, work)
    summary = run.run(progress=progress)
    rows = run.examples(lm.spec, lm.fingerprint())
    write_examples(rows, output, "alpaca")
    report = summary | {"output": str(output), "work_dir": str(work), "generator": lm.spec,
                        "output_digest": dataset_digest(rows)}  # fmt: skip
    report |= usage_report(lm, price_table)
    files = [
        DataFile("seed_tasks", seed_path, seed_rows, seed_layout),
        DataFile.output(output, rows, "alpaca"),
    ]
    params = config.model_dump() | {"generator": lm.spec, "fingerprint": lm.fingerprint()}
    metrics = {k: float(v) for k, v in summary.items() if isinstance(v, int)}
    metrics |= {f"decisions.{k}": float(v) for k, v in summary["decisions"].items()}
    report["run_id"] = track_data("selfinstruct", files, params, metrics, track, [work / "decisions.jsonl"])
    return report


def check_run(
    config: SelfInstructConfig, generator: str, output: Path, work: Path, price_table: Path | None
) -> None:
    """Everything a run can get wrong before its generator loads: decoding values, paths, the
    seed tasks, and a work folder holding a run with other settings."""
    from sllm import preflight
    from sllm.errors import UsageError

    make_config(strategy="sample", temperature=config.temperature, top_p=config.top_p,
                max_new_tokens=config.max_new_tokens)  # fmt: skip
    make_config(max_new_tokens=config.instance_max_new_tokens)
    if not 0 < config.rouge_threshold <= 1:
        raise UsageError(
            f"--rouge-threshold: expected a ROUGE-L F1 above 0 and at most 1, got {config.rouge_threshold:g}"
        )
    preflight.model_spec(generator, "--generator")
    preflight.writable_file(output, "--output")
    preflight.writable_dir(work, "--work-dir")
    preflight.price_table(price_table)
    load_seed_tasks(config.seeds)
    check_work_dir(config, work)
