"""Prompt construction: few-shot exemplar selection and context assembly."""
