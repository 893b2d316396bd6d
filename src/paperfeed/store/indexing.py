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
                   PaperEmbedding.model, PaperEmbedding.dim, PaperEmbedding.vector)
            .outerjoin(PaperEmbedding, PaperEmbedding.paper_pk == Paper.pk).where(*_missing_filter(model)))


def store_embeddings(session: Session, fresh: list[dict], kept: list[dict]) -> None:
    """Replace the embeddings in ``fresh``; for ``kept`` (same text) move only the hashes on."""
    if fresh:
        session.execute(delete(PaperEmbedding).where(PaperEmbedding.paper_pk.in_([r["paper_pk"] for r in fresh])))
        session.execute(insert(PaperEmbedding), fresh)
    for r in kept:
        session.execute(update(PaperEmbedding).where(PaperEmbedding.paper_pk == r["paper_pk"]).values(
            content_hash=r["content_hash"], embedded_at=r["embedded_at"], change_seq=r["change_seq"]))


def live_paper_texts(session: Session) -> list:
    """(pk, id, title, abstract, content_hash) of every live paper, for shipped vectors."""
    return list(session.execute(select(Paper.pk, Paper.id, Paper.title, Paper.abstract, Paper.content_hash)
                                .where(Paper.withdrawn.is_(False)).order_by(Paper.pk)))


def papers_without_embedding(session: Session) -> list:
    """(pk, id, title, abstract, content_hash) of live papers with no embedding at all."""
    return list(session.execute(
        select(Paper.pk, Paper.id, Paper.title, Paper.abstract, Paper.content_hash)
        .outerjoin(PaperEmbedding, PaperEmbedding.paper_pk == Paper.pk)
        .where(Paper.withdrawn.is_(False), PaperEmbedding.paper_pk.is_(None)).order_by(Paper.pk)))


def embedding_rate(session: Session, model: str, sample: int = 2000, window: float = 3600.0) -> float | None:
    """Papers per second the embedders stored lately (``model`` only), from the ``embedded_at``
    of the newest ``sample`` embeddings within ``window`` seconds of the newest; None when
    there is too little to tell. No clock is read: the times are the embedders'."""
    times = list(session.scalars(select(PaperEmbedding.embedded_at).where(PaperEmbedding.model == model)
                                 .order_by(PaperEmbedding.embedded_at.desc()).limit(sample)))
    if len(times) < 2:
        return None
    recent = [t for t in times if (times[0] - t).total_seconds() <= window]
    span = (recent[0] - recent[-1]).total_seconds()
    # A chunk's rows carry the time it was stored, after it was embedded: the oldest
    # chunk's rows were made before the span began, so they do not count.
    made_within = sum(1 for t in recent if (t - recent[-1]).total_seconds() > 1.0)
    return made_within / span if span > 1.0 and made_within else None


def count_with_embedding(session: Session) -> int:
    """Live papers with an embedding of any model (searchable by meaning)."""
    return session.scalar(select(func.count()).select_from(Paper)
                          .join(PaperEmbedding, PaperEmbedding.paper_pk == Paper.pk)
                          .where(Paper.withdrawn.is_(False))) or 0
