"""Search state kept in the database: one stored embedding per paper.

The keyword and vector indexes on disk are derived data, rebuilt from the database; the
embeddings are kept here because they are slow to compute (minutes to hours on a CPU),
so a rebuilt or copied index never has to embed everything again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base, utcnow


class PaperEmbedding(Base):
    __tablename__ = "paper_embedding"

    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    # Paper.content_hash when embedded: a differing hash means the paper changed since
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    # hash of the embedded text, so a change elsewhere (comments, versions) skips re-embedding
    text_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # float16, L2-normalised
    embedded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    # the change sequence of the transaction that stored it (store/changes.py)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False, index=True)


class EmbeddingClaim(Base):
    """A paper an embedder has claimed until ``expires_at``, so N embedders compute it once.

    Claims live in the database, not in a node's data dir: any node may embed. A claim
    of a killed embedder simply expires and is taken over.
    """

    __tablename__ = "embedding_claim"

    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
