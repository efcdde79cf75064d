"""Instruction data: formats, validation, splits, Self-Instruct, quality filters,
decontamination and dataset digests."""
