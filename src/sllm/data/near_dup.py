"""Near-duplicate groups: MinHash LSH (datasketch) over character shingles, each candidate pair
confirmed by its exact Jaccard similarity (the threshold, default 0.8). Character shingles need
no word segmentation: 5 characters for alphabetic text, 2 for Korean (a Hangul syllable carries
about as much as a short English word, so syllable bigrams are the usual unit in Korean
retrieval; with 5-grams a Korean paraphrase scores ~0.7, with bigrams ~0.85)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.8
SHINGLE = 5
KOREAN_SHINGLE = 2


def shingles(text: str, n: int | None = None) -> set[str]:
    """Character n-grams of the lower-cased text with whitespace collapsed (n: 2 for Korean, else 5)."""
    from sllm.language import hangul_ratio

    norm = " ".join(text.lower().split())
    if n is None:
        n = KOREAN_SHINGLE if hangul_ratio([norm]) > 0.5 else SHINGLE
    if len(norm) <= n:
        return {norm} if norm else set()
    return {norm[i : i + n] for i in range(len(norm) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b| (1 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass
class Groups:
    """For each text: the index of its group's first member, and (for later members) the member
    it was matched to with their Jaccard similarity."""

    first: list[int]
    matched: dict[int, tuple[int, float]]

    def members(self) -> dict[int, list[int]]:
        """Group representative -> member indices, in order."""
        out: dict[int, list[int]] = {}
        for i, root in enumerate(self.first):
            out.setdefault(root, []).append(i)
        return out


def near_duplicate_groups(
    texts: list[str], threshold: float = DEFAULT_THRESHOLD, num_perm: int = 128, seed: int = 1
) -> Groups:
    """Group texts whose shingle sets have Jaccard >= threshold (transitively); deterministic."""
    from datasketch import MinHash, MinHashLSH

    sets = [shingles(t) for t in texts]
    # LSH banding tuned to the threshold misses many pairs just above it (a 0.83 pair is found
    # only about half the time); banding for a lower threshold finds them, and the exact Jaccard
    # check below keeps the result exact.
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.2), num_perm=num_perm)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    matched: dict[int, tuple[int, float]] = {}
    for i, items in enumerate(sets):
        signature = MinHash(num_perm=num_perm, seed=seed)
        signature.update_batch([s.encode("utf-8") for s in items])
        best: tuple[int, float] | None = None
        for j in sorted(int(key) for key in lsh.query(signature)):
            similarity = jaccard(items, sets[j])
            if similarity >= threshold:
                ri, rj = root(i), root(j)
                parent[max(ri, rj)] = min(ri, rj)  # the group's root stays its earliest row
                if best is None or similarity > best[1]:
                    best = (j, similarity)
        if best is not None:
            matched[i] = best
        lsh.insert(str(i), signature)
    first = [root(i) for i in range(len(texts))]
    return Groups(first, matched)
