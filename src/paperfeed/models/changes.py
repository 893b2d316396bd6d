"""The change sequence: one counter that every change an index, cache or ETag depends on advances."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base


class ChangeCounter(Base):
    """A single row (pk 1); see store/changes.py for why a row and not a SEQUENCE."""

    __tablename__ = "change_counter"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)
