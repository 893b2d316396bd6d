"""The JSON API's bodies as pydantic models, for the OpenAPI schema only.

The routes keep answering with orjson (``response_model=None``): these models document
the bodies and never re-serialise them, so the bytes stay what clients already parse."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every API error: 400 (bad value), 401/403 (token), 404 (unknown), 422 (missing or mistyped)."""

    error: str = Field(description="what was wrong, for people")


class Author(BaseModel):
    name: str


class PaperVersion(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: int
    created: str | None = None


class Submitter(BaseModel):
    user: str
    name: str
    type: str = "user"


class PaperInfo(BaseModel):
    """HF's PaperInfo fields first, then paperfeed's extras."""

    id: str = Field(description="arXiv id without version")
    title: str
    summary: str = Field(description="the abstract, LaTeX math left as $...$")
    authors: list[Author]
    publishedAt: str | None
    upvotes: int
    numComments: int = Field(description="comments on this site")
    githubRepo: str | None
    projectPage: str | None
    ai_summary: str | None
    ai_keywords: list[str]
    keywords: list[str] = Field(description="5-8 key phrases extracted here, offline (empty until extracted)")
    categories: list[str]
    primaryCategory: str | None
    version: int | None
    versions: list[PaperVersion]
    updatedAt: str | None
    arxivUrl: str | None
    pdfUrl: str | None
    codeUrls: list[str]
    doi: str | None
    journalRef: str | None
    arxivComments: str | None = Field(description="arXiv's comments field")
    withdrawn: bool
    submittedOnDailyAt: str | None = Field(None, description="the day of the page that lists it")
    submittedOnDailyBy: Submitter | None = None


class PaperDetail(PaperInfo):
    dailyDates: list[str] = Field(description="the days whose page lists the paper")
    thumbnail: str | None = Field(None, description="the first page as a small WebP (absolute URL); null until made")


class _TopLevel(BaseModel):
    """Repeated from ``paper``: HF's client reads them at the top level of list items."""

    paper: PaperInfo
    title: str
    summary: str
    publishedAt: str | None
    numComments: int
    githubRepo: str | None
    projectPage: str | None
    ai_summary: str | None
    ai_keywords: list[str]
    thumbnail: str | None = Field(description="the paper's first page as a small WebP (absolute URL), as HF has; "
                                              "null until the thumbnail job has made it")
    keywords: list[str] = Field(description="the paper's key phrases, extracted here")


class DailyItem(_TopLevel):
    isAuthorParticipating: bool
    source: str = Field(description="auto (a listing), hf (Hugging Face) or user (submitted here)")
    submittedBy: Submitter | None = None


class SearchItem(_TopLevel):
    score: float | None = Field(None, description="relevance; absent for the newest papers (no q)")
    highlights: dict[str, str] | None = Field(
        None, description="title/abstract as escaped HTML with <mark> around matches")


class Me(BaseModel):
    username: str
    email_verified: bool
    is_admin: bool


class VoteState(BaseModel):
    voted: bool
    upvotes: int


class CommentOut(BaseModel):
    id: int
    html: str = Field(description="the comment rendered as sanitised HTML")


class Submitted(BaseModel):
    id: str
    day: str


def errors(*statuses: int) -> dict:
    """``responses=`` entries documenting the ``{"error": ...}`` body of each status."""
    return {status: {"model": ErrorBody} for status in statuses}


def answers(model, *error_statuses: int, status: int = 200) -> dict:
    """The success body's model and the error bodies, for a route's ``responses=``."""
    return {status: {"model": model}, **errors(*error_statuses)}
