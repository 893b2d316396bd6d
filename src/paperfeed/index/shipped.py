"""Document vectors shipped with the demo data, so semantic search works from the first minute.

Embedding the 76k demo papers takes hours on two CPU cores; the vectors are the same for
everyone, so ``scripts/embed-demo`` computes them once with the production model and path
(index/embed.py) and they ship beside the demo files:

- ``vectors-<model>.npz``: ``ids`` (paper ids, UTF-8), ``text_hash`` (index/embed.py's hash of the
  embedded text), ``q`` (int8, one whole-text vector per paper) and ``scale`` (float32 per
  row: a row is ``q * scale``, renormalised);
- ``vectors-<model>.json``: the model, the layout and the sha256 of the ``.npz``.

They are whole-text vectors only (passages would triple the size), stored under
``SHIPPED_MODEL``: search uses them at once, and the background embedder later replaces
each with the full ``MODEL_NAME`` embedding (whole text and passages). A paper whose text
differs from the one embedded (its hash) gets no shipped vector and is embedded as usual;
a file whose checksum does not match is refused as a whole.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperfeed.db import Database
from paperfeed.index.embed import DIM, MODEL, paper_text, text_hash
from paperfeed.models import utcnow
from paperfeed.store.changes import bump
from paperfeed.store.indexing import papers_without_embedding, store_embeddings

# Stored embeddings made from shipped vectors: whole text only, no passages yet.
SHIPPED_MODEL = f"{MODEL}+shipped"
FORMAT = "paperfeed-shipped-vectors/1"


def vector_paths(directory: Path) -> tuple[Path, Path]:
    stem = directory / f"vectors-{MODEL}"
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows with one float32 scale per row (symmetric, per-row max)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows back from ``quantize``."""
    vectors = q.astype(np.float32) * scale[:, None]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def write_vectors(directory: Path, ids: list[str], hashes: list[str], vectors: np.ndarray) -> Path:
    """Write the ``.npz`` and its manifest; returns the ``.npz`` path."""
    npz, manifest = vector_paths(directory)
    q, scale = quantize(vectors)
    with npz.open("wb") as f:  # a file object: np.savez would otherwise append ".npz"
        np.savez(f, ids=np.asarray([i.encode() for i in ids]), text_hash=np.asarray(hashes, dtype="S32"), q=q, scale=scale)
    meta = {"format": FORMAT, "model": MODEL, "stored_as": SHIPPED_MODEL, "dim": int(vectors.shape[1]),
            "count": len(ids), "dtype": "int8, per-row float32 scale", "text": "title. abstract (whole text)",
            "file": npz.name, "sha256": sha256_of(npz)}
    manifest.write_text(json.dumps(meta, indent=1) + "\n")
    return npz


@dataclass
class BuildPlan:
    """What ``scripts/embed-demo`` embeds: every live paper, longest texts batched together."""

    ids: list[str]
    hashes: list[str]
    texts: list[str]

    @classmethod
    def from_rows(cls, rows) -> "BuildPlan":
        texts = [paper_text(r.title, r.abstract) for r in rows]
        return cls([r.id for r in rows], [text_hash(t) for t in texts], texts)

    def parts(self, size: int) -> list[np.ndarray]:
        """Row numbers in chunks of similar text length (less padding per batch)."""
        order = np.argsort([len(t) for t in self.texts], kind="stable")
        return [order[i:i + size] for i in range(0, len(order), size)]


def build_vectors(plan: BuildPlan, encode: Callable[[list[str]], np.ndarray], work: Path, *,
                  part_size: int = 1024, worker: int = 0, workers: int = 1,
                  on_progress: Callable[[int, int], None] | None = None) -> np.ndarray | None:
    """Embed ``plan`` in parts saved under ``work`` (resumable; ``workers`` processes split
    the parts by number). Returns all vectors in plan order once every part exists."""
    work.mkdir(parents=True, exist_ok=True)
    _claim_work_dir(work, plan, part_size)
    parts = plan.parts(part_size)
    for number, rows in enumerate(parts):
        path = work / f"part-{number:05d}.npy"
        if number % workers == worker and not path.exists():
            vectors = encode([plan.texts[i] for i in rows])
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors.astype(np.float32))
            tmp.rename(path)
        if on_progress:
            on_progress(min((number + 1) * part_size, len(plan.texts)), len(plan.texts))
    if not all((work / f"part-{n:05d}.npy").exists() for n in range(len(parts))):
        return None
    out = np.zeros((len(plan.texts), DIM), dtype=np.float32)
    for number, rows in enumerate(parts):
        out[rows] = np.load(work / f"part-{number:05d}.npy")
    return out


def _claim_work_dir(work: Path, plan: BuildPlan, part_size: int) -> None:
    """Parts are numbered, so a resumed run must plan the very same papers and texts."""
    digest = hashlib.sha256(f"{part_size}\n".encode())
    for pid, hashed in zip(plan.ids, plan.hashes):
        digest.update(f"{pid} {hashed}\n".encode())
    stamp = work / "plan.sha256"
    if stamp.exists() and stamp.read_text().strip() != digest.hexdigest():
        raise ValueError(f"{work} holds parts of other papers or texts; use another work dir")
    stamp.write_text(digest.hexdigest() + "\n")


class ShippedVectorsRefused(ValueError):
    """The shipped vectors cannot be trusted (checksum, layout, model); none are used."""


@dataclass
class LoadReport:
    stored: int = 0  # papers that got a shipped vector
    changed: int = 0  # papers whose text is not the one embedded: left to the embedder
    unknown: int = 0  # papers without embedding that the file does not cover
    refused: str | None = None  # why the file was not used at all


def read_vectors(directory: Path) -> tuple[dict, dict[str, tuple[str, int]], np.ndarray, np.ndarray] | None:
    """(manifest, {id: (text hash, row)}, q, scale) after checking the checksum and layout;
    None when no vectors ship here. Raises ShippedVectorsRefused for a file not to be used."""
    npz, manifest_path = vector_paths(directory)
    if not npz.exists() and not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise ShippedVectorsRefused(f"{manifest_path.name}: unreadable manifest ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("model") != MODEL or manifest.get("dim") != DIM:
        raise ShippedVectorsRefused(f"{manifest_path.name}: not {FORMAT} vectors of {MODEL} ({DIM} dimensions)")
    if not npz.exists():
        raise ShippedVectorsRefused(f"{npz.name} is missing")
    actual = sha256_of(npz)
    if actual != manifest.get("sha256"):
        raise ShippedVectorsRefused(f"{npz.name}: sha256 {actual[:12]}… does not match the manifest's "
                                    f"{str(manifest.get('sha256'))[:12]}…")
    try:
        with np.load(npz, allow_pickle=False) as data:
            ids, hashes, q, scale = data["ids"], data["text_hash"], data["q"], data["scale"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ShippedVectorsRefused(f"{npz.name}: unreadable ({exc})") from None
    n = len(ids)
    if (not (len(hashes) == len(scale) == n == manifest.get("count")) or q.shape != (n, DIM)
            or (ids.dtype.kind, hashes.dtype.kind, q.dtype, scale.dtype) != ("S", "S", np.int8, np.float32)):
        raise ShippedVectorsRefused(f"{npz.name}: arrays do not match the manifest")
    try:
        index = {i.decode(): (h.decode(), row) for row, (i, h) in enumerate(zip(ids.tolist(), hashes.tolist()))}
    except UnicodeDecodeError:
        raise ShippedVectorsRefused(f"{npz.name}: ids are not UTF-8") from None
    return manifest, index, q, scale


def load_shipped(db: Database, directory: Path, *, batch: int = 5000,
                 on_progress: Callable[[int, int], None] | None = None) -> LoadReport:
    """Store shipped vectors for live papers that have no embedding yet and whose text is
    the one embedded. Never replaces an embedding. A refused file stores nothing."""
    report = LoadReport()
    try:
        found = read_vectors(directory)
    except ShippedVectorsRefused as exc:
        report.refused = str(exc)
        return report
    if found is None:
        return report
    _, index, q, scale = found
    with db.session() as session:
        papers = papers_without_embedding(session)
    for start in range(0, len(papers), batch):
        rows = _rows_for(papers[start:start + batch], index, q, scale, report, utcnow())
        if rows:
            with db.session() as session:
                seq = bump(session)  # replicas pick the new vectors up by this number
                store_embeddings(session, [{**r, "change_seq": seq} for r in rows], [])
        if on_progress:
            on_progress(min(start + batch, len(papers)), len(papers))
    return report


def _rows_for(papers, index, q, scale, report: LoadReport, now) -> list[dict]:
    rows = []
    for p in papers:
        hashed = text_hash(paper_text(p.title, p.abstract))
        shipped = index.get(p.id)
        if shipped is None:
            report.unknown += 1
        elif shipped[0] != hashed:
            report.changed += 1
        else:
            vector = dequantize(q[shipped[1]:shipped[1] + 1], scale[shipped[1]:shipped[1] + 1])
            rows.append({"paper_pk": p.pk, "model": SHIPPED_MODEL, "content_hash": p.content_hash,
                         "text_hash": hashed, "dim": DIM, "vector": vector.astype(np.float16).tobytes(),
                         "embedded_at": now})
            report.stored += 1
    return rows
