"""The collections API's bodies as pydantic models, for the OpenAPI schema (as in
api_models.py: the routes answer with plain dicts, these document them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paperfeed.web.api_models import PaperInfo

Visibility = Literal["public", "unlisted", "private"]
ReadingState = Literal["to_read", "read"]


class CollectionSummary(BaseModel):
    owner: str
    slug: str = Field(description="the address: /c/{owner}/{slug}")
    title: str
    description: str
    visibility: Visibility
    numPapers: int
    url: str
    createdAt: str | None
    updatedAt: str | None


class CollectionPaper(BaseModel):
    paper: PaperInfo
    addedAt: str | None
    url: str
    note: str | None = Field(None, description="the owner's private note; only in the owner's answers")
    state: ReadingState | None = Field(None, description="the owner's reading state; only in the owner's answers")


class CollectionDetail(CollectionSummary):
    papers: list[CollectionPaper]


class CollectionItemOut(BaseModel):
    id: str = Field(description="the paper's id")
    note: str
    state: ReadingState
    addedAt: str | None


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=1000)
    description: str = Field("", max_length=20_000)
    visibility: Visibility = "private"
    slug: str | None = Field(None, max_length=100, description="default: made from the title")


class CollectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=20_000)
    visibility: Visibility | None = None
    slug: str | None = Field(None, max_length=100)


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=100_000, description="at most 4,000 characters; a longer note is a 400")
    state: ReadingState | None = None


class ImportOut(BaseModel):
    collection: CollectionSummary
    references: int = Field(description="references in the file")
    added: int = Field(description="papers put in the new collection")
    matched: dict[str, int] = Field(description="references matched by arxiv id, doi and title")
    unmatched: list[str] = Field(description="titles (or keys) of the references not found here")
