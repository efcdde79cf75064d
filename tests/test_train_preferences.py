"""DPO and reward models on the default model with a small preference set: the implicit reward
margin grows, the reward model ranks held-out chosen answers above rejected ones; bad rows are
named by line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

EVASIVE = ["I don't know.", "Maybe.", "No comment.", "Ask someone else."]


def pairs_file(tmp_path: Path) -> Path:
    rows = [json.loads(line) for line in (FIXTURES / "sft" / "seed_alpaca.jsonl").read_text().splitlines()]
    pairs = [
        {
            "instruction": r["instruction"],
            "input": r["input"],
            "chosen": r["output"],
            "rejected": EVASIVE[k % 4],
        }
        for k, r in enumerate(rows[:40])
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return path


SETTINGS = {"max_length": 96, "batch_size": 4, "lora": {"r": 8, "alpha": 16, "dropout": 0.0}}


@pytest.mark.slow
def test_dpo_margin_grows(tmp_path: Path) -> None:
    from sllm.train.config import DPORunConfig
    from sllm.train.preference_training import run_preference

    config = DPORunConfig(data=str(pairs_file(tmp_path)), output_dir=str(tmp_path / "dpo"), max_steps=8,
                          learning_rate=5e-4, eval_fraction=0.2, **SETTINGS)  # fmt: skip
    result = run_preference("dpo", config)
    margins = [h["rewards/margins"] for h in result.history if "rewards/margins" in h and "loss" in h]
    assert len(margins) == 8
    assert sum(margins[-3:]) / 3 > sum(margins[:3]) / 3
    assert result.metrics["eval_rewards/margins"] > result.metrics["base_rewards/margins"]
    assert result.kind == "adapter" and (result.folder / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_precomputed_reference_log_probs_match_the_policy_at_the_start(tmp_path: Path) -> None:
    import math

    from sllm.train.config import DPORunConfig
    from sllm.train.preference_training import dpo_trainer

    config = DPORunConfig(data=str(pairs_file(tmp_path)), output_dir=str(tmp_path / "dpo"), max_steps=1,
                          precompute_ref_log_probs=True, eval_fraction=0, track=False,
                          **{**SETTINGS, "max_length": 64})  # fmt: skip
    trainer, _ = dpo_trainer(config)
    trainer.train()
    assert {"ref_chosen_logps", "ref_rejected_logps"} <= set(trainer.train_dataset.column_names)
    first = trainer.state.log_history[0]
    # before the first update the policy is the reference: a stale or mismatched precompute shows here
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-4) and first[
        "rewards/margins"
    ] == pytest.approx(0, abs=1e-4)


@pytest.mark.slow
def test_reward_model_ranks_held_out_chosen_above_rejected(tmp_path: Path) -> None:
    from sllm.train.config import RewardRunConfig
    from sllm.train.preference_training import run_preference

    config = RewardRunConfig(data=str(pairs_file(tmp_path)), output_dir=str(tmp_path / "rm"), max_steps=10,
                             learning_rate=1e-3, eval_fraction=0.2, **SETTINGS)  # fmt: skip
    result = run_preference("reward", config)
    assert result.metrics["eval_accuracy"] > 0.5
    assert result.metrics["eval_accuracy"] >= result.metrics["base_accuracy"]


def test_preference_file_errors_name_line_and_field(tmp_path: Path) -> None:
    from sllm.errors import SllmError
    from sllm.train.preferences import load_pairs

    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", "chosen": "b"}\n')
    with pytest.raises(SllmError, match=r"bad.jsonl:2: field 'rejected': missing or empty"):
        load_pairs(path)
    path.write_text('{"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", '
                    '"content": "hello"}], "rejected": "go away"}\n')  # fmt: skip
    (pair,) = load_pairs(path)
    assert (
        pair.messages[-1] == {"role": "assistant", "content": "hello"} and pair.meta["rejected"] == "go away"
    )


def test_accelerate_configs_load_with_accelerate() -> None:
    from accelerate.commands.config.config_args import load_config_from_file
    from conftest import ROOT

    found = {
        path.stem: load_config_from_file(str(path)).distributed_type.value
        for path in (ROOT / "configs" / "accelerate").glob("*.yaml")
    }
    assert found == {
        "ddp": "MULTI_GPU",
        "fsdp": "FSDP",
        "deepspeed_zero2": "DEEPSPEED",
        "deepspeed_zero3": "DEEPSPEED",
    }
