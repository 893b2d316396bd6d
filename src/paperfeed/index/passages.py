"""Passage vectors: a long abstract is also embedded as overlapping sentence windows.

Why: the model reads 256 word pieces, so the end of a long abstract is never seen, and
one vector for a whole abstract blurs the one sentence a claim-style query is about.
Scoring a paper by its best passage (the whole-text vector counts as one) raised
semantic nDCG@10 on SciFact train from 0.660 to 0.688 and hybrid from 0.739 to 0.747
(bench/search_quality.py). Windows of 3 sentences, 2 apart, each after the title:
about 4 passages per long abstract, so embedding takes about 3x as long.

Stored with the paper's vector in ``paper_embedding.vector``: the whole-text vector
first, then each passage's, all float16 (``dim`` is one vector's length).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

WINDOW = 3  # sentences per passage
STRIDE = 2  # sentences between passage starts: consecutive passages share one sentence
# A sentence ends at . ! or ? after a lower-case letter, digit or bracket, before a
# capital; the space may be missing ("disabilities.A line scan"), as in some sources.
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]%][.!?])\s*(?=[A-Z])")


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def passage_texts(title: str, abstract: str | None) -> list[str]:
    """Title-prefixed windows of the abstract; none when the abstract is short enough
    for the whole-text vector to cover it (``WINDOW`` sentences or fewer)."""
    parts = sentences(abstract or "")
    if len(parts) <= WINDOW:
        return []
    title = title.strip()
    out = []
    for start in range(0, len(parts), STRIDE):
        out.append(f"{title}. {' '.join(parts[start:start + WINDOW])}")
        if start + WINDOW >= len(parts):
            break
    return out


def pack(vectors: np.ndarray) -> bytes:
    """The whole-text vector then the passage vectors, as one float16 blob."""
    return np.asarray(vectors, dtype=np.float16).tobytes()


def unpack(blob: bytes, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(whole-text vector, passage vectors (m, dim)) from a ``pack``-ed blob."""
    matrix = np.frombuffer(blob, dtype=np.float16).reshape(-1, dim)
    return matrix[0], matrix[1:]


class PassageFile:
    """A snapshot's passage vectors on disk, read with ``pread`` a paper at a time.

    Memory-mapping them let the kernel map ~64 KiB around every random read, so a busy
    server's RSS grew towards the whole file (3.7 GB of file pages at 1M papers,
    bench/search_speed.py); read this way they stay in the page cache, outside RSS.
    """

    def __init__(self, path: Path):
        header = np.load(path, mmap_mode="r")  # parses the .npy header; nothing is read
        self.shape, self.dtype = header.shape, header.dtype
        self._offset = header.offset
        self._row_bytes = header.dtype.itemsize * header.shape[1]
        del header
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def read_runs(self, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Rows ``starts[i]:starts[i] + counts[i]`` for each i, stacked in that order."""
        size = self._row_bytes
        parts = [os.pread(self._fd, int(n) * size, self._offset + int(first) * size)
                 for first, n in zip(starts, counts)]
        return np.frombuffer(b"".join(parts), dtype=self.dtype).reshape(-1, self.shape[1])

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)
