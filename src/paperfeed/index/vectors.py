"""The vector index: an immutable snapshot of every paper's embedding, swapped atomically.

Index type depends on size, chosen by measurement (bench/search_speed.py): up to
``EXACT_MAX`` vectors an exact inner-product scan in numpy (recall 1.0, a few ms);
above it faiss ``IVF,SQ8`` (measured here at 75k: 0.3 ms against 35-75 ms for the exact
scan on busy cores; at 1M x 384: ~1 ms, recall@10 0.99, where the exact scan costs 118 ms).
The trained IVF quantizer is kept and reused for later generations until the collection
has grown 4x, so a new snapshot costs an ``add`` rather than a k-means.

On disk: ``vectors/<generation>/`` holds ``vectors.npy`` (float16), ``pks.npy``,
``days.npy``, ``cats.json`` and, for large snapshots, ``ivf.faiss``; ``vectors/CURRENT``
names the live generation and is replaced atomically, so readers (every web worker)
notice a new snapshot with one stat and never see a half-written one. Each generation
has a manifest that is checked before it is loaded (index/generations.py).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from paperfeed.index import generations
from paperfeed.index.generations import DamagedIndex
from paperfeed.index.keyword import day_number
from paperfeed.index.passages import PassageFile

# Measured (bench/search_speed.py, 2 busy cores): exact scan at 75k 35-75 ms, IVF 0.3 ms.
EXACT_MAX = 20_000
NPROBE = 48
TRAIN_ITERATIONS = 10


@dataclass
class VectorSnapshot:
    pks: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # (n, d), float32 for exact search, float16 (maybe mmapped) otherwise
    days: np.ndarray  # int32 (n,)
    cats: list[str]  # lower-cased categories per row, space separated
    model: str = ""
    stamp: dict = field(default_factory=dict)
    # how the embedders were doing when it was built ({"rate": papers/s}), for the ETA notice
    progress: dict = field(default_factory=dict)
    ivf: object | None = None  # a faiss index over the same rows, for large snapshots
    # Passage vectors (index/passages.py) of row i are passages[passage_start[i]:passage_start[i + 1]];
    # float16, read from disk when loaded: only candidates' rows are ever read.
    passages: "np.ndarray | PassageFile | None" = None
    passage_start: np.ndarray | None = None
    _rows: dict | None = None
    _cat_rows: dict | None = None

    def __len__(self) -> int:
        return len(self.pks)

    def row_of(self, pk: int) -> int | None:
        if self._rows is None:
            self._rows = {int(p): i for i, p in enumerate(self.pks)}
        return self._rows.get(int(pk))

    def vector_of(self, pk: int) -> np.ndarray | None:
        row = self.row_of(pk)
        return None if row is None else np.asarray(self.vectors[row], dtype=np.float32)

    def best_passage_scores(self, pks, query: np.ndarray) -> dict[int, float]:
        """Each paper's best cosine over its whole-text vector and its passages.

        For re-scoring candidates another index found; pks without a vector are left out.
        """
        found = [(pk, row) for pk in pks if (row := self.row_of(pk)) is not None]
        if not found:
            return {}
        query = query.astype(np.float32)
        rows = np.fromiter((row for _, row in found), dtype=np.int64, count=len(found))
        order = np.argsort(rows)  # memory-mapped rows are read in file order
        best = np.empty(len(rows), dtype=np.float32)
        best[order] = np.asarray(self.vectors[rows[order]], dtype=np.float32) @ query
        if self.passage_start is not None and len(self.passages):
            self._raise_to_best_passage(best, rows, query)
        return {int(pk): float(s) for (pk, _), s in zip(found, best)}

    def _raise_to_best_passage(self, best: np.ndarray, rows: np.ndarray, query: np.ndarray) -> None:
        starts = self.passage_start[rows]
        counts = self.passage_start[rows + 1] - starts
        has = np.flatnonzero(counts)
        if not len(has):
            return
        counts = counts[has]
        firsts = np.cumsum(counts) - counts  # where each paper's passages begin in the stack
        scores = np.asarray(self._passage_rows(starts[has], counts, firsts), dtype=np.float32) @ query
        best[has] = np.maximum(best[has], np.maximum.reduceat(scores, firsts))

    def _passage_rows(self, starts: np.ndarray, counts: np.ndarray, firsts: np.ndarray) -> np.ndarray:
        if isinstance(self.passages, PassageFile):
            return self.passages.read_runs(starts, counts)
        flat = np.repeat(starts - firsts, counts) + np.arange(counts.sum())  # all their passage rows
        return self.passages[flat]

    def search(self, query: np.ndarray, k: int, *, since: date | None = None, until: date | None = None,
               categories: list[str] | None = None, exclude: int | None = None) -> list[tuple[int, float]]:
        """(pk, cosine) best first, restricted to rows that pass the filters."""
        if len(self) == 0 or k <= 0:
            return []
        mask = self._filter_mask(since, until, categories)
        if self.ivf is not None:
            return self._search_ivf(query, k, mask, exclude)
        scores = self.vectors @ query.astype(np.float32)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        if exclude is not None and (row := self.row_of(exclude)) is not None:
            scores[row] = -np.inf
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.pks[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def _search_ivf(self, query, k, mask, exclude) -> list[tuple[int, float]]:
        import faiss

        params = None
        if mask is not None:  # search only rows that pass, probing wider to fill k
            bits = np.packbits(mask, bitorder="little")
            params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)),
                                               nprobe=min(self.ivf.nlist, 4 * NPROBE))
        scores, rows = self.ivf.search(query.reshape(1, -1).astype(np.float32), min(len(self), k + 1),
                                       params=params)
        out = [(int(self.pks[r]), float(s)) for s, r in zip(scores[0], rows[0]) if r >= 0]
        return [(pk, s) for pk, s in out if pk != exclude][:k]

    def _filter_mask(self, since, until, categories) -> np.ndarray | None:
        mask = None
        if since is not None:
            mask = self.days >= day_number(since)
        if until is not None:
            upper = self.days <= day_number(until)
            mask = upper if mask is None else mask & upper
        if categories:
            cat_mask = np.zeros(len(self), dtype=bool)
            for cat in categories:
                cat_mask[self._rows_in_category(cat)] = True
            mask = cat_mask if mask is None else mask & cat_mask
        return mask

    def _rows_in_category(self, cat: str) -> np.ndarray:
        if self._cat_rows is None:
            index: dict[str, list[int]] = {}
            for i, cats in enumerate(self.cats):
                for c in set(cats.split()) | {c.split(".")[0] for c in cats.split()}:
                    index.setdefault(c, []).append(i)
            self._cat_rows = {c: np.array(rows, dtype=np.int64) for c, rows in index.items()}
        return self._cat_rows.get(cat.lower(), np.array([], dtype=np.int64))


def empty_snapshot() -> VectorSnapshot:
    return VectorSnapshot(pks=np.zeros(0, np.int64), vectors=np.zeros((0, 0), np.float32),
                          days=np.zeros(0, np.int32), cats=[])


def train_ivf(vectors: np.ndarray, train_size: int = 60_000, seed: int = 0):
    """An empty, trained faiss IVF,SQ8 index for L2-normalised vectors (inner product = cosine)."""
    import faiss

    n, dim = vectors.shape
    nlist = int(min(4096, max(16, 4 * math.sqrt(n))))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = TRAIN_ITERATIONS
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, size=min(n, max(train_size, 40 * nlist)), replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    return index


def fill_ivf(index, vectors: np.ndarray, nprobe: int = NPROBE):
    for start in range(0, len(vectors), 100_000):
        index.add(np.ascontiguousarray(vectors[start:start + 100_000], dtype=np.float32))
    index.nprobe = nprobe
    return index


def build_ivf(vectors: np.ndarray, nprobe: int = NPROBE):
    return fill_ivf(train_ivf(vectors), vectors, nprobe)


def _ivf_for(root: Path, vectors: np.ndarray):
    """Reuse the stored trained quantizer while it still fits the collection; else train anew."""
    import faiss

    trained, info = root / "trained.faiss", root / "trained.json"
    if trained.exists() and info.exists():
        meta = json.loads(info.read_text())
        if meta["dim"] == vectors.shape[1] and len(vectors) <= 4 * meta["count"]:
            return fill_ivf(faiss.read_index(str(trained)), vectors)
    index = train_ivf(vectors)
    faiss.write_index(index, str(root / "trained.tmp"))
    os.replace(root / "trained.tmp", trained)
    info.write_text(json.dumps({"dim": int(vectors.shape[1]), "count": len(vectors)}))
    return fill_ivf(index, vectors)


# --- on-disk snapshots ---

def current_generation(root: Path) -> str | None:
    return generations.current(root)


def write_snapshot(root: Path, snap: VectorSnapshot) -> str:
    """Write ``snap`` as a new generation and make it current (caller holds the index lock)."""
    root.mkdir(parents=True, exist_ok=True)
    gen = generations.next_name(root, "g")
    target = root / gen
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    np.save(target / "vectors.npy", np.asarray(snap.vectors, dtype=np.float16))
    np.save(target / "pks.npy", snap.pks.astype(np.int64))
    np.save(target / "days.npy", snap.days.astype(np.int32))
    (target / "cats.json").write_text(json.dumps(snap.cats))
    if snap.passage_start is not None:
        np.save(target / "passages.npy", np.asarray(snap.passages, dtype=np.float16))
        np.save(target / "passage_start.npy", snap.passage_start.astype(np.int64))
    (target / "meta.json").write_text(json.dumps({"model": snap.model, "stamp": snap.stamp, "count": len(snap),
                                                  "progress": snap.progress}))
    if len(snap) > EXACT_MAX:
        import faiss

        faiss.write_index(_ivf_for(root, snap.vectors), str(target / "ivf.faiss"))
    generations.write_manifest(target, count=len(snap))
    generations.publish(root, gen)
    return gen


def read_meta(root: Path) -> dict:
    gen = current_generation(root)
    if gen is None:
        return {}
    try:
        return json.loads((root / gen / "meta.json").read_text())
    except FileNotFoundError:
        return {}


def load_snapshot(root: Path) -> tuple[str | None, VectorSnapshot]:
    gen = current_generation(root)
    if gen is None:
        return None, empty_snapshot()
    folder = root / gen
    check = generations.verify(folder)
    if not check.ok:
        raise DamagedIndex(f"vector snapshot {gen}: {check.problem}")
    meta = json.loads((folder / "meta.json").read_text())
    pks = np.load(folder / "pks.npy")
    days = np.load(folder / "days.npy")
    cats = json.loads((folder / "cats.json").read_text())
    ivf = None
    if (folder / "ivf.faiss").exists():
        import faiss

        ivf = faiss.read_index(str(folder / "ivf.faiss"))
        ivf.nprobe = NPROBE
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")  # read for similar() and re-scoring
    else:
        vectors = np.load(folder / "vectors.npy").astype(np.float32)
    passages = passage_start = None
    if (folder / "passage_start.npy").exists():
        passage_start = np.load(folder / "passage_start.npy")
        passages = PassageFile(folder / "passages.npy") if passage_start[-1] else np.load(folder / "passages.npy")
    return gen, VectorSnapshot(pks=pks, vectors=vectors, days=days, cats=cats, model=meta.get("model", ""),
                               stamp=meta.get("stamp", {}), progress=meta.get("progress", {}), ivf=ivf, passages=passages, passage_start=passage_start)


class VectorStore:
    """A process's view of the live snapshot; reloads when ``CURRENT`` changes."""

    def __init__(self, root: Path):
        self.root = root
        self._gen: str | None = None
        self._snap = empty_snapshot()

    def snapshot(self) -> VectorSnapshot:
        """The live snapshot; raises DamagedIndex when its files are not as written."""
        gen = current_generation(self.root)
        if gen != self._gen:
            self._gen, self._snap = None, empty_snapshot()
            self._gen, self._snap = load_snapshot(self.root)
        elif gen is not None and not generations.verify(self.root / gen, checksums=False).ok:
            self._gen, self._snap = None, empty_snapshot()  # drop the mapping before it is read
            raise DamagedIndex(f"vector snapshot {gen} changed on disk")
        return self._snap
