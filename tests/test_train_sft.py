"""SFT on the default model: exact label masking, a short LoRA run that lowers the held-out loss,
merge equal to the adapter, registry round trip with EOS-terminated answers, resume equality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from helpers import run_cli, tiny_base_model

DATA = FIXTURES / "sft" / "seed_alpaca.jsonl"
SMALL = {"max_length": 192, "batch_size": 4, "lora": {"r": 8, "alpha": 16, "dropout": 0.0}}


def config(tmp_path: Path, **settings):  # noqa: ANN003, ANN201
    from sllm.train.config import SFTRunConfig

    return SFTRunConfig(**{"data": str(DATA), "output_dir": str(tmp_path / "out"), **SMALL, **settings})


def test_loss_mask_covers_exactly_the_assistant_tokens(tmp_path: Path) -> None:
    from sllm.train.sft import sft_trainer

    rows = [
        {"messages": [
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris"},
            {"role": "user", "content": "And of Italy?"},
            {"role": "assistant", "content": "Rome"},
        ]},
        {"messages": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"}]},
    ] * 6  # fmt: skip
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    trainer, _ = sft_trainer(config(tmp_path, data=str(data), eval_fraction=0, track=False))
    tok = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[0], trainer.train_dataset[1]])

    def ids(text: str) -> list[int]:
        return tok(text, add_special_tokens=False)["input_ids"]

    # the ChatML text, piece by piece: (text, trained?)
    default_system = (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    )
    first = (
        "<|im_start|>system\nAnswer in one word.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n"
    )
    second = "\n<|im_start|>user\nAnd of Italy?<|im_end|>\n<|im_start|>assistant\n"
    hi = "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n"
    pieces = [
        [(first + "<|im_start|>assistant\n", False), ("Paris<|im_end|>", True), (second, False),
         ("Rome<|im_end|>", True), ("\n", False)],
        [(default_system + hi, False), ("Hi!<|im_end|>", True), ("\n", False)],
    ]  # fmt: skip
    for row, parts in enumerate(pieces):
        expected_ids = [i for text, _ in parts for i in ids(text)]
        expected_labels = [i if trained else -100 for text, trained in parts for i in ids(text)]
        n = len(expected_ids)
        assert batch["input_ids"][row][:n].tolist() == expected_ids
        assert batch["labels"][row][:n].tolist() == expected_labels
        assert (batch["labels"][row][n:] == -100).all()  # padding
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert im_end in batch["labels"][1].tolist()  # the end-of-turn token is learned: the model learns to stop


@pytest.mark.slow
def test_lora_sft_lowers_held_out_loss_merges_and_registers(tmp_path: Path) -> None:
    from sllm.models.spec import load_model
    from sllm.train.sft import run_sft

    lines = DATA.read_text().splitlines(keepends=True)
    (tmp_path / "train.jsonl").write_text("".join(lines[:24]))
    (tmp_path / "held_out.jsonl").write_text("".join(lines[-14:]))
    settings = {"data": str(tmp_path / "train.jsonl"), "eval_data": str(tmp_path / "held_out.jsonl"),
                "epochs": 3, "learning_rate": 5e-4, "register_as": "fixture-sft"}  # fmt: skip
    result = run_sft(config(tmp_path, **settings))
    losses = [h["loss"] for h in result.history if "loss" in h]
    epochs = [sum(losses[k : k + 6]) / 6 for k in (0, 6, 12)]  # 24 rows, batches of 4: 6 steps an epoch
    assert len(losses) == 18 and epochs[2] < epochs[0]
    assert result.metrics["eval_loss"] < result.metrics["base_eval_loss"]
    assert result.registered == "fixture-sft@1" and result.kind == "adapter"

    from sllm.tracking import get_run

    run = get_run(result.run_id)
    assert run["params"]["method"] == "lora" and "eval_loss" in run["metrics"]
    assert {d["name"] for d in run["datasets"]} == {"train", "eval"}
    assert (
        run["params"]["data_digest.train"]
        == json.loads((result.folder / "sllm_model.json").read_text())["data_digests"]["train"][:16]
    )

    # merged model == adapter model
    import torch

    from sllm.train.export import export

    exported = export(str(result.folder), tmp_path / "merged")
    adapter_lm = load_model(f"hf:{_base()},adapter={result.folder}")
    merged_lm = load_model(f"hf:{exported.folder}")
    inputs = adapter_lm.tokenizer("Give three tips for staying healthy.", return_tensors="pt")
    with torch.no_grad():
        a = adapter_lm.model(**inputs).logits
        b = merged_lm.model(**inputs).logits
    assert torch.allclose(a, b, atol=1e-4)
    card = (exported.folder / "README.md").read_text()
    assert "Apache-2.0" in card and "digests" in card and exported.warnings  # data licence unknown

    # registry:NAME@latest serves the trained model; unseen prompts end with EOS, not max tokens
    for prompt in ("Name a fruit that is yellow.", "Translate 'thank you' into French."):
        spec = "registry:fixture-sft@latest"
        out = run_cli("generate", "--model", spec, "--max-new-tokens", "96", "--json", prompt)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["finish_reason"] == "stop"


def _base() -> str:
    from sllm.models.default_model import default_model_path

    return str(default_model_path())


@pytest.mark.slow
def test_resume_from_checkpoint_gives_the_same_weights(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from sllm.train.sft import run_sft

    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if state.global_step == 2:
                control.should_training_stop = True
            return control

    settings = {"max_steps": 4, "save_steps": 2, "batch_size": 2, "max_length": 128, "eval_fraction": 0,
                "track": False}  # fmt: skip
    straight = run_sft(config(tmp_path / "a", **settings))
    run_sft(config(tmp_path / "b", **settings), callbacks=[StopAt()])
    assert (tmp_path / "b" / "out" / "checkpoint-2").is_dir()
    resumed = run_sft(config(tmp_path / "b", resume=True, **settings))
    a = load_file(straight.folder / "adapter_model.safetensors")
    b = load_file(resumed.folder / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_qlora_needs_cuda(tmp_path: Path) -> None:
    import torch

    from sllm.errors import SllmError
    from sllm.train.common import check_method

    if torch.cuda.is_available():
        pytest.skip("CUDA present: QLoRA is exercised on GPU machines")
    with pytest.raises(SllmError, match="qlora needs a CUDA GPU"):
        check_method(config(tmp_path, method="qlora"))


@pytest.mark.slow
def test_train_cli_overrides_eval_suite_and_bad_settings(tmp_path: Path) -> None:
    args = ["train", "sft", "--data", str(DATA), "-o", str(tmp_path / "out"), "--eval-suite", "hellaswag",
            "max_steps=2", "batch_size=2", "max_length=128", "eval_limit=5", "eval_fraction=0", "lora.r=4",
            "--no-track", "--json"]  # fmt: skip
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    suite = {k: v for k, v in report["metrics"].items() if k.startswith("suite/hellaswag/")}
    assert {"suite/hellaswag/acc/base", "suite/hellaswag/acc/trained", "suite/hellaswag/acc/delta"} <= set(
        suite
    )
    delta = suite["suite/hellaswag/acc/trained"] - suite["suite/hellaswag/acc/base"]
    assert abs(suite["suite/hellaswag/acc/delta"] - delta) < 1e-9
    described = json.loads((tmp_path / "out" / "final" / "sllm_model.json").read_text())
    assert described["config"]["lora"]["r"] == 4 and "hellaswag/acc" in described["eval_suite"]

    bad = run_cli("train", "sft", "--data", str(DATA), "lora.rank=4", "--no-track")
    assert bad.returncode != 0 and "field 'lora.rank'" in bad.stderr
    missing = run_cli("train", "sft", "--data", str(tmp_path / "nope.jsonl"), "--no-track")
    assert missing.returncode != 0 and "nope.jsonl" in missing.stderr


def test_named_chatml_on_a_base_model_adds_and_trains_its_tokens(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from sllm.models.spec import load_model
    from sllm.train.export import export
    from sllm.train.sft import run_sft, sft_trainer

    base = tiny_base_model(tmp_path / "base", DATA.read_text().splitlines())
    settings = {"model": f"hf:{base}", "template": "chatml", "max_steps": 12, "batch_size": 8,
                "max_length": 512, "learning_rate": 5e-3, "eval_fraction": 0.2, "track": False,
                "lora": {"r": 4, "alpha": 8, "dropout": 0.0}}  # fmt: skip
    trainer, _ = sft_trainer(config(tmp_path, **settings))
    tok = trainer.processing_class
    start, end = tok.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    assert (start, end) == (400, 401) and tok.eos_token == "<|im_end|>"
    labels = trainer.data_collator([trainer.train_dataset[k] for k in range(4)])["labels"]
    assert (labels == end).sum() == 4 and not (labels == start).any()  # it learns to end its turn

    result = run_sft(config(tmp_path, **settings))
    assert result.metrics["eval_loss"] < result.metrics["base_eval_loss"]
    saved = load_file(result.folder / "adapter_model.safetensors")
    prefix = "base_model.model.model.embed_tokens.token_adapter."
    trained_rows = saved[prefix + "trainable_tokens_delta"]
    assert not torch.allclose(trained_rows, saved[prefix + "base_layer.weight"][[start, end]])

    # the adapter brings its tokenizer: the base grows to 402 rows on load, and merging keeps the rows
    adapter_lm = load_model(f"hf:{base},adapter={result.folder}")
    assert len(adapter_lm.tokenizer) == 402 and adapter_lm.tokenizer.eos_token == "<|im_end|>"
    prompt = adapter_lm.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    merged = load_model(f"hf:{export(str(result.folder), tmp_path / 'merged').folder}")
    assert torch.allclose(merged.model.get_input_embeddings().weight[[start, end]], trained_rows)
    inputs = adapter_lm.tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(adapter_lm.model(**inputs).logits, merged.model(**inputs).logits, atol=1e-4)


def test_packing_keeps_each_rows_loss_mask(tmp_path: Path) -> None:
    from sllm.train.sft import sft_trainer

    def dataset(packing: bool):  # noqa: ANN202
        # 5 fixture rows have their answer past max_length=192: the user is told, packed or not
        with pytest.warns(
            UserWarning, match=r"5 of 54 training rows have no answer tokens within max_length=192"
        ):
            trainer, _ = sft_trainer(config(tmp_path, packing=packing, eval_fraction=0, track=False))
        return trainer.train_dataset

    rows = {tuple(r["input_ids"]): r["labels"] for r in dataset(False)}
    packed = dataset(True)
    assert len(packed) < len(rows) and max(len(r["input_ids"]) for r in packed) <= SMALL["max_length"]
    found, masked = 0, 0
    for row in packed:
        start = 0
        for length in row["seq_lengths"]:
            ids, labels = (
                tuple(row["input_ids"][start : start + length]),
                row["labels"][start : start + length],
            )
            if ids in rows:
                assert rows[ids] == labels  # same tokens, same mask
                found += 1
            else:  # its answer lies past max_length: unpacked drops it, packed keeps it fully masked
                assert set(labels) == {-100}
                masked += 1
            start += length
    n_rows = len(DATA.read_text().splitlines())
    assert found == len(rows) and found + masked == n_rows  # every row packed once, none split
