"""Fine-tuning on TRL and PEFT: one config and one run function per algorithm, merge and export."""
