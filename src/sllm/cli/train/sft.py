"""`sllm train sft`: supervised fine-tuning from a YAML config with KEY=VALUE overrides."""

from __future__ import annotations

from typing import Any

from sllm.cli.train import add_training_command

EXAMPLES = """
[bold]Examples[/bold]

  sllm train sft --config sft.yaml
  sllm train sft --data train.jsonl max_steps=50 lora.r=16 learning_rate=1e-4
  sllm train sft --data train.jsonl --model hf:./base-model template=chatml method=full
  sllm train sft --config sft.yaml --register ko-chat            # then: --model registry:ko-chat@latest
  sllm train sft --data train.jsonl --eval-suite quick          # hellaswag + arc_easy, base vs trained

Any config value can follow as KEY=VALUE (dotted for nested: lora.alpha=32). Defaults: LoRA r=8,
alpha 16, dropout 0.05 on all linear layers; the loss on assistant tokens only (loss_on=all for
every token); 10% of the data held out (eval_data=FILE to pass your own), evaluated before and
after training (loss and perplexity); fp32 on CPU, bf16 on CUDA; method=qlora (4-bit NF4, double
quantisation, paged AdamW) needs CUDA and bitsandbytes. resume=true continues from the last
checkpoint in output_dir (save_steps=N writes them). Every run is an MLflow run with the config,
the data digests, the loss per step and the adapter.
"""


def _run(settings: Any) -> Any:
    from sllm.train.sft import run_sft

    return run_sft(settings)


train_sft = add_training_command(
    "sft",
    "sllm.train.config:SFTRunConfig",
    _run,
    "Supervised fine-tuning with LoRA, QLoRA or all weights.",
    EXAMPLES,
)
