"""Embedding throughput: texts/s of the production path and the alternatives, same texts.

The texts are what the embedder really encodes for demo papers (each paper's whole text
and its passages, index/embedjob.py), from demo/*.jsonl.gz. Each variant encodes them
all once after a short warm-up; ratios are against the path before this bench (bf16
autocast on every CPU) in the same run (the machine is shared, so absolute numbers move). Agreement is the
cosine of each variant's vectors with fp32 ones (mean / min).

    .venv/bin/python bench/embed_speed.py [--papers 12] [--threads 1,2] [--no-onnx]
                                          [--scifact 600] [--serving] [--no-speed]

``--scifact N``: semantic nDCG@10 (whole texts) on SciFact's test queries over their
relevant documents plus distractors, N documents in all, for fp32 (bf16 where native)
and ONNX int8: the quality check of a quantised model (read from ../shared, never copied).
``--serving``: the background worker's papers/s while searches are being answered in
the same process, against the same chunks embedded alone (the CLI's situation).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEMO = ROOT / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"
SCIFACT = ROOT.parent / "shared" / "relevance" / "scifact"
BEFORE = "before: bf16 autocast everywhere, batch 32, length-sorted"


def demo_papers(n: int) -> list[tuple[str, str]]:
    out = []
    with gzip.open(DEMO, "rt") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("abstract"):
                out.append((rec["title"], rec["abstract"]))
            if len(out) == n:
                break
    return out


def production_texts(papers) -> list[str]:
    from paperfeed.index.embed import paper_text
    from paperfeed.index.passages import passage_texts

    return [t for title, abstract in papers for t in (paper_text(title, abstract), *passage_texts(title, abstract))]


class TorchVariant:
    def __init__(self, embedder, autocast: bool, batch: int, sort: bool = True):
        self.e, self.autocast, self.batch, self.sort = embedder, autocast, batch, sort

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.autocast is None:
            return self.e.encode_documents(texts)  # the production call itself
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if self.autocast else torch.autocast("cpu", enabled=False)
        with torch.inference_mode(), ctx:
            if self.sort:
                return self.e.model.encode(texts, batch_size=self.batch, normalize_embeddings=True,
                                           show_progress_bar=False)
            # batches in arrival order: what encode's own length sort saves
            return np.vstack([self.e.model.encode(texts[i:i + self.batch], batch_size=self.batch,
                                                  normalize_embeddings=True, show_progress_bar=False)
                              for i in range(0, len(texts), self.batch)])


class OnnxVariant:
    """The same transformer exported to ONNX, mean pooling and normalising in numpy."""

    def __init__(self, path: Path, tokenizer, threads: int, batch: int = 32):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.tok, self.batch = tokenizer, batch
        self.inputs = {i.name for i in self.session.get_inputs()}

    def __call__(self, texts: list[str]) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts])
        out = np.zeros((len(texts), 384), np.float32)
        for i in range(0, len(texts), self.batch):
            rows = order[i:i + self.batch]
            enc = self.tok([texts[r] for r in rows], padding=True, truncation=True, max_length=256,
                           return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in enc.items() if k in self.inputs}
            hidden = self.session.run(None, feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def export_onnx(embedder, folder: Path) -> tuple[Path, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    bert, tok = embedder.model[0].auto_model, embedder.model.tokenizer
    enc = tok(["an example sentence", "another, longer example sentence"], padding=True, return_tensors="pt")
    fp32, int8 = folder / "minilm.onnx", folder / "minilm-int8.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"hidden": {0: "batch", 1: "tokens"}}
    class Hidden(torch.nn.Module):  # keyword arguments: the exporter passes positionals
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Hidden().float().eval(), tuple(enc[n] for n in names), str(fp32), input_names=names,
                          output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def timed(fn, texts: list[str]) -> tuple[float, np.ndarray]:
    fn(texts[:8])  # warm-up
    start = time.perf_counter()
    vecs = np.asarray(fn(texts), dtype=np.float32)
    return len(texts) / (time.perf_counter() - start), vecs


def speed_table(texts: list[str], threads: list[int], onnx: bool, tmp: Path) -> dict:
    import torch

    from paperfeed.index.embed import Embedder

    embedder = Embedder("cpu", threads=threads[0])
    variants = {BEFORE: TorchVariant(embedder, True, 32),
                f"production now ({'bf16' if embedder.bf16 else 'fp32'}: this CPU "
                f"{'has' if embedder.bf16 else 'lacks'} bf16 instructions)": TorchVariant(embedder, None, 32),
                "fp32, batch 32": TorchVariant(embedder, False, 32),
                "production, batches in arrival order": TorchVariant(embedder, embedder.bf16, 32, sort=False),
                "production, batch 16": TorchVariant(embedder, embedder.bf16, 16),
                "production, batch 64": TorchVariant(embedder, embedder.bf16, 64),
                "production, batch 128": TorchVariant(embedder, embedder.bf16, 128)}
    if onnx:
        fp32_path, int8_path = export_onnx(embedder, tmp)
    rows = {}
    for t in threads:
        torch.set_num_threads(t)
        here = dict(variants)
        if onnx:
            here["ONNX Runtime fp32"] = OnnxVariant(fp32_path, embedder.model.tokenizer, t)
            here["ONNX Runtime int8 (dynamic)"] = OnnxVariant(int8_path, embedder.model.tokenizer, t)
        for name, fn in here.items():
            rate, vecs = timed(fn, texts)
            rows[(name, t)] = (rate, vecs)
            print(f"  {t} thread(s)  {name}: {rate:.1f} texts/s", file=sys.stderr, flush=True)
    fp32 = rows[("fp32, batch 32", threads[0])][1]
    base = {t: rows[(BEFORE, t)][0] for t in threads}
    print(f"\n{len(texts)} texts (demo papers' whole texts and passages), texts/s (x the path before, same threads)")
    heads = " | ".join(f"{t} thread(s)" for t in threads)
    print(f"| variant | {heads} | cosine to fp32 (mean / min) |")
    print(f"|---|{'---|' * len(threads)}---|")
    for name in dict.fromkeys(n for n, _ in rows):
        cos = (rows[(name, threads[0])][1] * fp32).sum(1)
        cells = " | ".join(f"{rows[(name, t)][0]:.1f} ({rows[(name, t)][0] / base[t]:.2f}x)" for t in threads)
        print(f"| {name} | {cells} | {cos.mean():.5f} / {cos.min():.5f} |")
    return {"embedder": embedder, "onnx": (fp32_path, int8_path) if onnx else None}


def scifact_quality(n_docs: int, made: dict) -> None:
    """Semantic nDCG@10 on a SciFact subset: the relevant documents plus distractors."""
    from paperfeed.index.embed import paper_text
    from paperfeed.index.shipped import dequantize, quantize

    corpus = {d["_id"]: d for d in map(json.loads, (SCIFACT / "corpus.jsonl").open())}
    queries = {q["_id"]: q["text"] for q in map(json.loads, (SCIFACT / "queries.jsonl").open())}
    qrels: dict[str, dict[str, int]] = {}
    for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    relevant = sorted({d for rels in qrels.values() for d in rels})
    rest = [d for d in corpus if d not in set(relevant)]
    docs = relevant + rest[:max(0, n_docs - len(relevant))]
    texts = [paper_text(corpus[d]["title"], corpus[d]["text"]) for d in docs]
    embedder = made["embedder"]
    qvecs = np.vstack([embedder.encode_query(queries[q]) for q in qrels])
    variants = {"fp32": TorchVariant(embedder, False, 32)}
    if embedder.bf16:  # emulated bf16 is too slow for this on CPUs without it; cosine above says enough
        variants["bf16 autocast"] = TorchVariant(embedder, True, 32)
    if made["onnx"]:
        variants["ONNX int8"] = OnnxVariant(made["onnx"][1], embedder.model.tokenizer, 1)
    print(f"\nSciFact test, {len(qrels)} queries over {len(docs)} documents (the relevant ones + distractors), "
          "semantic whole-text nDCG@10:")
    for name, fn in variants.items():
        dvecs = np.asarray(fn(texts), dtype=np.float32)
        print(f"  {name}: {_semantic_ndcg(qvecs, dvecs, docs, qrels):.4f}", flush=True)
        if name == "fp32":  # what shipping costs: int8 rows with a scale (index/shipped.py), and float16
            shipped = dequantize(*quantize(dvecs))
            print(f"  fp32 shipped as int8 + scale: {_semantic_ndcg(qvecs, shipped, docs, qrels):.4f} "
                  f"(cosine to fp32 min {(shipped * dvecs).sum(1).min():.5f})")
            half = dvecs.astype(np.float16).astype(np.float32)
            print(f"  fp32 stored as float16: {_semantic_ndcg(qvecs, half, docs, qrels):.4f}", flush=True)


def _semantic_ndcg(qvecs, dvecs, docs, qrels) -> float:
    scores = qvecs @ dvecs.T
    return float(np.mean([_ndcg10([docs[i] for i in np.argsort(-row)[:10]], qrels[q])
                          for q, row in zip(qrels, scores)]))


def _ndcg10(ranked: list[str], rels: dict[str, int]) -> float:
    dcg = sum(rels.get(d, 0) / np.log2(i + 2) for i, d in enumerate(ranked))
    ideal = sum(r / np.log2(i + 2) for i, r in enumerate(sorted(rels.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def serving_share(papers) -> None:
    """Worker chunks (64 papers) embedded alone, then while searches run in another thread."""
    from paperfeed.config import Settings
    from paperfeed.db import open_database
    from paperfeed.index.embed import get_embedder
    from paperfeed.index.embedjob import embed_chunk
    from paperfeed.index.sync import sync_index
    from paperfeed.index.worker import WORKER_CHUNK
    from paperfeed.ingest.importer import import_file
    from paperfeed.rank.search import search

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Settings(data_dir=Path(tmp)))
        path = Path(tmp) / "papers.jsonl"
        path.write_text("".join(json.dumps({"id": f"2601.{i:05d}", "title": t, "abstract": a}) + "\n"
                                for i, (t, a) in enumerate(papers)))
        import_file(db, path)
        sync_index(db, db.settings)
        embedder = get_embedder("cpu", 1)
        half = len(papers) // 2
        start = time.perf_counter()
        alone = embed_chunk(db, embedder, size=half)[0]
        alone_rate = alone / (time.perf_counter() - start)
        stop, served = threading.Event(), [0]

        def serve():
            words = ["attention", "diffusion language model", "graph neural networks", "protein"]
            while not stop.is_set():
                search(db, words[served[0] % len(words)], mode="keyword", limit=20)
                served[0] += 1

        thread = threading.Thread(target=serve)
        thread.start()
        start = time.perf_counter()
        busy = sum(embed_chunk(db, embedder, size=min(WORKER_CHUNK, half))[0] for _ in range(max(1, half // 64)))
        busy_rate = busy / (time.perf_counter() - start)
        stop.set()
        thread.join()
        db.dispose()
    print(f"\nworker while serving: {busy_rate:.2f} papers/s ({served[0]} searches answered meanwhile) against "
          f"{alone_rate:.2f} papers/s alone: {busy_rate / alone_rate:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=12)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--no-onnx", action="store_true")
    parser.add_argument("--scifact", type=int, default=0, metavar="N")
    parser.add_argument("--serving", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed table (with --scifact)")
    args = parser.parse_args()
    papers = demo_papers(args.papers)
    texts = production_texts(papers)
    with tempfile.TemporaryDirectory(prefix="embed-speed-") as tmp:  # the exported models
        if args.no_speed:  # the quality check alone
            from paperfeed.index.embed import Embedder

            embedder = Embedder("cpu", threads=1)
            made = {"embedder": embedder, "onnx": None if args.no_onnx else export_onnx(embedder, Path(tmp))}
        else:
            made = speed_table(texts, [int(t) for t in args.threads.split(",")], not args.no_onnx, Path(tmp))
        if args.scifact:
            scifact_quality(args.scifact, made)
    if args.serving:
        serving_share(papers)


if __name__ == "__main__":
    main()
