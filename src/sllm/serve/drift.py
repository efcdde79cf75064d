"""Drift of live prompts from a reference: the reference profile, and the measures against it.

`build_profile(texts)` summarises reference prompts (the fine-tuning data, or last month's request
log) as a JSON-serialisable dict; `DriftMonitor(profile)` keeps the last `window` live prompts and
measures how far they have moved from it. The measures (all 0 when the live prompts look like the
reference):

  psi_length          PSI of prompt length in characters, on bins cut at the reference's quintiles
  psi_words           PSI of prompt length in whitespace-separated tokens, the same way
  psi_hangul          PSI of each prompt's Hangul share of letters, on fixed bins (HANGUL_EDGES)
  language_shift      total variation distance (0-1) of the language mix: the share of prompts
                      that are mostly Hangul / mostly Latin / other (`sllm.language.main_script`)
  embedding_distance  cosine distance (0-2) between the live and the reference centroid of the prompt
                      embeddings, as is (not divided by the spread: a number comparable across
                      windows of one profile; `embedding_outliers` is the spread-relative view)
  embedding_outliers  share of live prompts farther from the reference centroid than 95 % of the
                      reference prompts were (about 0.05 while nothing changes)
  ngram_distance      the centroid distance in the character n-gram space (always computed)
  prompts             how many live prompts the measures are over

PSI reads as the credit-scoring rule of thumb: under 0.1 stable, 0.1-0.25 a moderate shift, over
0.25 a major one. With fewer than ~50 live prompts every measure is noisy.

The embedding space ("multilingual-safe fallback"). The bundled sentence encoder, all-MiniLM-L6-v2,
was trained on English and barely tells Korean sentences apart. So the space is chosen once, when
the profile is built, and the live prompts are embedded in the same one (a distance between two
spaces means nothing): the sentence encoder, unless it cannot be loaded, or the reference prompts
are mostly Hangul (`sllm.language.looks_korean`) and the encoder is the English-only default; then
a character 2-4-gram hashing vector (scikit-learn's HashingVectorizer: no model, no vocabulary,
any script). An encoder folder given explicitly is trusted (pass a multilingual one for Korean).
Because a stream can turn Korean after an English reference, the n-gram centroid is kept in every
profile and `ngram_distance` is reported next to `embedding_distance` whatever the main space.
"""

from __future__ import annotations

import atexit
import queue
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sllm.errors import SllmError, warn
from sllm.language import SCRIPTS, hangul_ratio, looks_korean, main_script

SCHEMA = "sllm.drift-profile/1"
MIN_PROMPTS = 10
EPSILON = 1e-4  # the share given to an empty bin, so that PSI stays finite
# Quintiles, not the usual deciles: on a window of n live prompts PSI's floor from sampling alone is
# about (bins - 1) / n (0.05 for 200 prompts in 10 bins, 0.1 for 40 in 5); with deciles 40 English
# prompts against 60 others of the same set scored 0.37-0.79, with quintiles 0.13-0.15.
QUANTILES = (0.2, 0.4, 0.6, 0.8)
# Fixed, not quantile, bins: an English reference has Hangul share 0 everywhere, and quantile
# edges would collapse into a single bin that no Korean prompt could leave.
HANGUL_EDGES = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
SENTENCE, NGRAM = "sentence", "char-ngram"
NGRAM_SETTINGS = {"analyzer": "char_wb", "ngram_range": [2, 4], "n_features": 4096}
MEASURES = (
    "psi_length", "psi_words", "psi_hangul", "language_shift", "embedding_distance", "embedding_outliers",
    "ngram_distance", "prompts",
)  # fmt: skip


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = EPSILON) -> float:
    """Population stability index of two distributions over the same bins (counts or shares).

    sum((a - e) * ln(a / e)) after each side is normalised and empty bins get `epsilon`.
    Written here: it is one line of numpy, and none of the installed libraries has it (scipy has
    the KL divergence, of which PSI is the symmetric sum, but not the empty-bin convention)."""
    e = np.clip(np.asarray(expected, dtype=float), 0, None)
    a = np.clip(np.asarray(actual, dtype=float), 0, None)
    if e.shape != a.shape or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("psi needs two non-empty distributions over the same bins")
    e, a = np.maximum(e / e.sum(), epsilon), np.maximum(a / a.sum(), epsilon)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Half the L1 distance of two distributions over named categories (0 same, 1 disjoint)."""
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def shares(values: Iterable[float], edges: Sequence[float]) -> list[float]:
    """Share of values in each bin: (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    counts = np.bincount(np.searchsorted(np.asarray(edges), np.asarray(list(values), float), side="left"),
                         minlength=len(edges) + 1)  # fmt: skip
    return (counts / max(counts.sum(), 1)).tolist()


def language_mix(texts: Iterable[str]) -> dict[str, float]:
    """Share of texts per main script: hangul, latin, other."""
    scripts = [main_script(t) for t in texts]
    return {s: scripts.count(s) / max(len(scripts), 1) for s in SCRIPTS}


def hangul_share(text: str) -> float:
    """The Hangul share of a text's letters (0 without letters)."""
    return hangul_ratio([text])


class Embedder:
    """Embeds texts in a profile's spaces: the sentence encoder (when the profile has it) and
    the character n-gram hashing space; every vector is L2-normalised."""

    def __init__(self, encoder_name: str | None, encoder: Any = None) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        settings = {**NGRAM_SETTINGS, "ngram_range": tuple(NGRAM_SETTINGS["ngram_range"])}
        self.hashing = HashingVectorizer(**settings, alternate_sign=False, norm="l2")
        self.encoder_name = encoder_name
        self.encoder = encoder
        if encoder_name is not None and encoder is None:
            from sllm.embeddings import DEFAULT, load_encoder

            self.encoder = load_encoder(None if encoder_name == DEFAULT else encoder_name)

    def embed(self, texts: list[str]) -> dict[str, np.ndarray]:
        """{space: (n, dim) float32 matrix of unit vectors}."""
        out = {NGRAM: self.hashing.transform(texts).toarray().astype(np.float32)}
        if self.encoder is not None:
            out[SENTENCE] = np.asarray(
                self.encoder.encode(texts, normalize_embeddings=True, batch_size=32, show_progress_bar=False),
                dtype=np.float32,
            )
        return out


def _direction(vectors: np.ndarray) -> np.ndarray:
    centre = vectors.mean(axis=0).astype(np.float64)
    norm = np.linalg.norm(centre)
    return centre / norm if norm > 0 else centre


def _space_summary(vectors: np.ndarray) -> dict[str, Any]:
    """Centroid direction, and the spread of the reference around it: each prompt's cosine distance
    to the centroid of the *others* (leave-one-out: a prompt pulls its own centroid towards itself,
    which on 60 prompts made 25 % of new prompts from the same set look farther than the p95)."""
    vectors = vectors.astype(np.float64)
    centre = _direction(vectors)
    others = vectors.sum(axis=0) - vectors
    others /= np.maximum(np.linalg.norm(others, axis=1, keepdims=True), 1e-12)
    distances = 1.0 - np.einsum("ij,ij->i", vectors, others)
    return {
        "centroid": [round(float(x), 6) for x in centre],
        "spread": round(float(distances.mean()), 6),  # mean cosine distance to the centroid
        "spread_p95": round(float(np.quantile(distances, 0.95)), 6),
    }


def _choose_encoder(texts: list[str], encoder: Any) -> tuple[str | None, Any, str]:
    """(encoder name or None, the loaded encoder or None, why) by the rule in the module docstring."""
    from sllm.embeddings import DEFAULT, load_encoder

    if isinstance(encoder, str) and encoder.lower() == "none":
        return None, None, "no sentence encoder asked for (--encoder none)"
    if encoder is not None and not isinstance(encoder, (str, Path)):
        return str(getattr(encoder, "name", None) or type(encoder).__name__), encoder, "encoder object given"
    if encoder not in (None, "", DEFAULT, "minilm"):
        folder = str(Path(encoder).resolve())
        return folder, load_encoder(folder), "encoder folder given"
    if looks_korean(texts):
        return None, None, f"the reference is mostly Hangul and {DEFAULT} is English-only"
    try:
        return DEFAULT, load_encoder(None), "the bundled sentence encoder"
    except (SllmError, ImportError, OSError) as exc:
        warn(f"drift profile: no sentence encoder ({exc}); using character n-grams")
        return None, None, f"the sentence encoder could not be loaded: {exc}"


def build_profile(texts: Sequence[str], encoder: Any = None) -> dict[str, Any]:
    """The reference profile of prompts: length, Hangul and language distributions, embedding
    centroids and spreads. `encoder`: None (the bundled MiniLM, with the fallback rule), a local
    sentence-transformers folder, "none" (character n-grams only) or a loaded encoder object."""
    texts = [str(t) for t in texts]
    if len(texts) < MIN_PROMPTS:
        raise SllmError(f"a drift profile needs at least {MIN_PROMPTS} prompts; got {len(texts)}")
    name, loaded, why = _choose_encoder(texts, encoder)
    embedded = Embedder(name, loaded).embed(texts)
    chars = np.array([len(t) for t in texts], float)
    words = np.array([len(t.split()) for t in texts], float)
    hangul = [hangul_share(t) for t in texts]
    lengths = {}
    for key, values in (("chars", chars), ("words", words)):
        edges = np.unique(np.quantile(values, QUANTILES)).tolist()
        summary = {"mean": round(float(values.mean()), 3), "median": float(np.median(values))}
        lengths[key] = {"edges": edges, "shares": shares(values, edges), **summary}
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "prompts": len(texts),
        "lengths": lengths,
        "hangul": {
            "edges": list(HANGUL_EDGES),
            "shares": shares(hangul, HANGUL_EDGES),
            "mean": round(float(np.mean(hangul)), 6),
        },
        "language": language_mix(texts),
        "embedding": {
            "space": SENTENCE if name is not None else NGRAM,
            "encoder": name,
            "why": why,
            "spaces": {space: _space_summary(vectors) for space, vectors in embedded.items()},
            "ngram": dict(NGRAM_SETTINGS),
        },
    }


def check_profile(profile: Any, where: str = "profile") -> dict[str, Any]:
    """The profile, if it is one this version reads; else an error naming `where`."""
    if not isinstance(profile, dict) or profile.get("schema") != SCHEMA:
        found = profile.get("schema") if isinstance(profile, dict) else type(profile).__name__
        raise SllmError(f"{where}: not a drift profile of schema {SCHEMA} (found {found!r}); "
                        "build one with sllm monitor profile")  # fmt: skip
    for key in ("lengths", "hangul", "language", "embedding"):
        if key not in profile:
            raise SllmError(f"{where}: the drift profile has no '{key}'")
    return profile


def save_profile(profile: dict[str, Any], path: str | Path) -> None:
    """Write a profile as JSON (UTF-8)."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read and check a profile written by `save_profile`."""
    import json

    from sllm.textio import read_text

    try:
        profile = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise SllmError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    return check_profile(profile, str(path))


@dataclass(frozen=True)
class Features:
    """What the measures need of one prompt, computed once when it arrives."""

    chars: int
    words: int
    hangul: float
    script: str
    vectors: dict[str, np.ndarray]
    outlier: bool | np.bool_  # farther from the reference centroid than the reference's p95


class Reference:
    """A checked profile with its centroids as arrays, and the embedder of its spaces."""

    def __init__(self, profile: dict[str, Any], encoder: Any = None) -> None:
        self.profile = check_profile(profile)
        embedding = profile["embedding"]
        self.space = embedding["space"]
        self.spaces = {s: v for s, v in embedding["spaces"].items() if s in (SENTENCE, NGRAM)}
        self.centroids = {s: np.asarray(v["centroid"], dtype=np.float64) for s, v in self.spaces.items()}
        name = embedding.get("encoder") if SENTENCE in self.spaces else None
        try:
            self.embedder = Embedder(name, encoder)
        except (SllmError, ImportError, OSError) as exc:
            raise SllmError(
                f"the drift profile was built with the sentence encoder {name}, which cannot be loaded "
                f"here ({exc}); rebuild it with --encoder none or another folder"
            ) from None
        probe = self.embedder.embed(["warm-up"])  # loads lazily built parts now, not on a request
        for space, centre in self.centroids.items():
            if space not in probe or probe[space].shape[1] != centre.shape[0]:
                raise SllmError(
                    f"the drift profile's {space} centroid has {centre.shape[0]} dimensions; the "
                    f"encoder here gives {probe[space].shape[1] if space in probe else 'none'}"
                )

    def features(self, texts: list[str]) -> list[Features]:
        """Features of prompts, embedded as one batch."""
        if not texts:
            return []
        vectors = self.embedder.embed(texts)
        p95 = self.spaces[self.space]["spread_p95"]
        far = 1.0 - vectors[self.space].astype(np.float64) @ self.centroids[self.space] > p95
        out = []
        for i, text in enumerate(texts):
            row = {space: v[i] for space, v in vectors.items() if space in self.centroids}
            out.append(
                Features(len(text), len(text.split()), hangul_share(text), main_script(text), row, far[i])
            )
        return out

    def measures(self, window: Sequence[Features]) -> dict[str, float]:
        """Every measure of MEASURES over live prompts (NaN, and prompts 0, when there are none)."""
        if not window:
            return {m: (0.0 if m == "prompts" else float("nan")) for m in MEASURES}
        p = self.profile

        def binned(key: str, ref: dict[str, Any]) -> float:
            return psi(ref["shares"], shares((getattr(f, key) for f in window), ref["edges"]))

        scripts = [f.script for f in window]
        out = {
            "psi_length": binned("chars", p["lengths"]["chars"]),
            "psi_words": binned("words", p["lengths"]["words"]),
            "psi_hangul": binned("hangul", p["hangul"]),
            "language_shift": total_variation(
                p["language"], {s: scripts.count(s) / len(window) for s in SCRIPTS}
            ),
            "embedding_distance": self._distance(window, self.space),
            "embedding_outliers": float(sum(f.outlier for f in window)) / len(window),
            "ngram_distance": self._distance(window, NGRAM),
            "prompts": float(len(window)),
        }
        return {k: round(float(v), 6) for k, v in out.items()}

    def _distance(self, window: Sequence[Features], space: str) -> float:
        live = _direction(np.stack([f.vectors[space] for f in window]))
        return float(max(0.0, 1.0 - live @ self.centroids[space]))


class DriftMonitor:
    """A request observer for `sllm serve`: the last `window` prompts measured against a profile.

    `observe(record)` only queues the record's prompt: a worker thread embeds what is queued as one
    batch (MiniLM takes ~25 ms a prompt on a quiet CPU core, but ten times that while the model
    generates on the same cores, far too long to hold the server's event loop), adds it to the
    window and recomputes the measures; with `metrics` (a `ServerMetrics`) each measure is set on
    the `sllm_drift{model_name, measure}` gauge. Beyond `backlog` queued prompts new ones are
    dropped (and counted), so a burst never grows memory. `background=False` measures in the
    caller's thread instead. Safe to call from several threads."""

    def __init__(self, profile: dict[str, Any], window: int = 200, metrics: Any = None,  # noqa: PLR0913
                 model_name: str = "default", encoder: Any = None, background: bool = True,
                 backlog: int = 1000) -> None:  # fmt: skip
        if window < 1:
            raise SllmError(f"the drift window must hold at least 1 prompt; got {window}")
        self.reference = Reference(profile, encoder)
        self.window: deque[Features] = deque(maxlen=window)
        self.metrics = metrics
        self.model_name = model_name
        self.dropped = 0
        self._lock = threading.Lock()
        self._values = self.reference.measures([])
        self._pending: queue.Queue[str | None] = queue.Queue(maxsize=backlog)
        self._idle = threading.Condition()
        self._queued = self._done = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._work, name="sllm-drift", daemon=True)
            self._thread.start()
            # a daemon thread still inside torch while the interpreter exits aborts the process
            alive = weakref.ref(self)
            atexit.register(lambda: (monitor := alive()) is not None and monitor.close())

    def __call__(self, record: dict[str, Any]) -> None:
        self.observe(record)

    def observe(self, record: dict[str, Any]) -> None:
        """Queue a request record's `prompt` (a record without one is ignored)."""
        prompt = record.get("prompt")
        if not isinstance(prompt, str):
            return
        if self._thread is None:
            self.add([prompt])
            return
        with self._idle:
            try:
                self._pending.put_nowait(prompt)
                self._queued += 1
            except queue.Full:
                self.dropped += 1
                if self.dropped == 1:
                    print("warning: drift monitor is behind; dropping prompts", file=sys.stderr)

    def add(self, prompts: list[str]) -> None:
        """Add prompts to the window now (embedded as one batch) and update the measures."""
        features = self.reference.features(prompts)  # the slow part, outside the lock
        with self._lock:
            self.window.extend(features)
            self._values = self.reference.measures(self.window)
            if self.metrics is not None:
                for measure, value in self._values.items():
                    self.metrics.drift.labels(self.model_name, measure).set(value)

    def measures(self) -> dict[str, float]:
        """The measures over the current window."""
        with self._lock:
            return dict(self._values)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued prompt is measured; False if `timeout` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._done >= self._queued, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker after the batch it is measuring (prompts still queued are dropped)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            try:
                self._pending.put_nowait(None)
            except queue.Full:
                pass  # the worker is busy and sees the flag before its next batch
            thread.join(timeout)

    def _work(self) -> None:
        while (first := self._pending.get()) is not None and not self._stopping.is_set():
            batch = [first]
            while len(batch) < 64:
                try:
                    nxt = self._pending.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stopping.set()  # close() asked: stop after this batch
                    break
                batch.append(nxt)
            try:
                self.add(batch)
            except Exception as exc:  # noqa: BLE001 - monitoring must never stop; say why it skipped
                print(f"warning: drift monitor failed on {len(batch)} prompt(s): {exc}", file=sys.stderr)
            with self._idle:
                self._done += len(batch)
                self._idle.notify_all()
