"""The queries the index replicas are built from: papers and embeddings by change
sequence, and what is still to embed. The index package shapes and writes the files."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from paperfeed.models import Paper, PaperEmbedding


def newest_change(session: Session) -> int:
    """The highest change number any paper carries (one index look-up)."""
    return session.scalar(select(func.max(Paper.change_seq))) or 0


def changed_papers(session: Session, since: int | None, batch: int) -> Iterator[list]:
    """What the keyword index holds of each paper changed after ``since`` (all when None),
    in change order, ``batch`` rows at a time."""
    stmt = (select(Paper.pk, Paper.title, Paper.abstract, Paper.authors, Paper.categories, Paper.submitted_at,
                   Paper.announced_on, Paper.withdrawn)
            .order_by(Paper.change_seq, Paper.pk).execution_options(yield_per=batch))
    if since is not None:
        stmt = stmt.where(Paper.change_seq > since)
    yield from session.execute(stmt).partitions(batch)


def live_paper_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Paper).where(Paper.withdrawn.is_(False))) or 0


def count_embeddings(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PaperEmbedding)) or 0


def live_paper_pks(session: Session) -> set[int]:
    return set(session.scalars(select(Paper.pk).where(Paper.withdrawn.is_(False))))


def embedding_stamp(session: Session) -> dict:
    """Changes whenever an embedding is added, replaced or removed, or its paper withdrawn."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(PaperEmbedding.paper_pk), 0),
               func.coalesce(func.max(PaperEmbedding.change_seq), 0))
        .select_from(PaperEmbedding).join(Paper, Paper.pk == PaperEmbedding.paper_pk)
        .where(Paper.withdrawn.is_(False))
    ).one()
    return {"count": int(row[0]), "pk_sum": int(row[1]), "seq": int(row[2])}


def current_embeddings(session: Session, batch: int):
    """Every live paper's embedding with what the vector filters need, in pk order."""
    stmt = (select(PaperEmbedding.paper_pk, PaperEmbedding.vector, PaperEmbedding.dim, PaperEmbedding.model,
                   Paper.submitted_at, Paper.announced_on, Paper.categories)
            .join(Paper, Paper.pk == PaperEmbedding.paper_pk).where(Paper.withdrawn.is_(False))
            .order_by(PaperEmbedding.paper_pk).execution_options(yield_per=batch))
    return session.execute(stmt)


def _missing_filter(model: str):
    return (Paper.withdrawn.is_(False),
            or_(PaperEmbedding.paper_pk.is_(None), PaperEmbedding.content_hash != Paper.content_hash,
                PaperEmbedding.model != model))


def count_missing_embeddings(session: Session, model: str) -> int:
    return session.scalar(select(func.count()).select_from(Paper)
                          .outerjoin(PaperEmbedding, PaperEmbedding.paper_pk == Paper.pk)
                          .where(*_missing_filter(model))) or 0


def missing_embeddings(model: str) -> Select:
    """The columns an embedding chunk needs, of papers without a current embedding."""
    return (select(Paper.pk, Paper.title, Paper.abstract, Paper.content_hash, PaperEmbedding.text_hash,
                   PaperEmbedding.model)
            .outerjoin(PaperEmbedding, PaperEmbedding.paper_pk == Paper.pk).where(*_missing_filter(model)))


def store_embeddings(session: Session, fresh: list[dict], kept: list[dict]) -> None:
    """Replace the embeddings in ``fresh``; for ``kept`` (same text) move only the hashes on."""
    if fresh:
        session.execute(delete(PaperEmbedding).where(PaperEmbedding.paper_pk.in_([r["paper_pk"] for r in fresh])))
        session.execute(insert(PaperEmbedding), fresh)
    for r in kept:
        session.execute(update(PaperEmbedding).where(PaperEmbedding.paper_pk == r["paper_pk"]).values(
            content_hash=r["content_hash"], embedded_at=r["embedded_at"], change_seq=r["change_seq"]))
