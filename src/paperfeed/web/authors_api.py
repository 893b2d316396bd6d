"""The authors API: an author's papers (the JSON of ``/authors/{name}``) and the authors an
account follows, which feed For you and digests. Token or session auth (auth.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from paperfeed.links import author_path
from paperfeed.records.authors import MAX_NAME, author_key
from paperfeed.store import authors as store
from paperfeed.store.feed import PaperActivity, activity_for
from paperfeed.web.api import BEARER, JSONResponse, paper_info
from paperfeed.web.api_models import PaperInfo, answers, errors
from paperfeed.web.auth import CurrentUser
from paperfeed.web.deps import SessionDep

router = APIRouter(prefix="/api", tags=["authors"], dependencies=[Depends(BEARER)])
MAX_LIMIT = 100


class Coauthor(BaseModel):
    name: str
    papers: int = Field(description="papers written together, over the author's newest 500")


class AuthorPapers(BaseModel):
    """Names are matched ignoring accents, case and initials, and are not disambiguated."""

    name: str = Field(description="the spelling most papers use")
    key: str
    spellings: list[str]
    total: int
    coauthors: list[Coauthor]
    papers: list[PaperInfo] = Field(description="newest first")


class FollowedAuthor(BaseModel):
    name: str = Field(description="the name as followed")
    key: str
    url: str = Field(description="the author's page on this site")


class FollowIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME)


def _checked_name(name: str) -> str:
    if len(name) > MAX_NAME or author_key(name) is None:
        raise HTTPException(400, "That is not an author's name.")
    return name


def _followed(name: str, key: str) -> dict:
    return {"name": name, "key": key, "url": author_path(name)}


@router.get("/authors/{name:path}", summary="An author's papers, newest first, with co-authors",
            response_model=None, responses=answers(AuthorPapers, 400, 404, 422))
def author_papers(session: SessionDep, name: str, limit: int = Query(50, ge=1, le=MAX_LIMIT),
                  offset: int = Query(0, ge=0, le=100_000)):
    page = store.author_page(session, _checked_name(name), limit=limit, offset=offset)
    if page is None:
        raise HTTPException(404, f"No papers by {name!r} on this instance.")
    counts = activity_for(session, [p.pk for p in page.papers])
    papers = [paper_info(p, (act := counts.get(p.pk, PaperActivity())).upvotes, act.num_comments)
              for p in page.papers]
    return JSONResponse({"name": page.name, "key": page.key, "spellings": page.spellings, "total": page.total,
                         "coauthors": [{"name": n, "papers": k} for n, k in page.coauthors], "papers": papers})


@router.get("/me/authors", summary="The authors you follow", response_model=None,
            responses=answers(list[FollowedAuthor], 401, 403))
def my_authors(user: CurrentUser, session: SessionDep):
    return JSONResponse([_followed(name, key) for name, key in store.followed_authors(session, user.pk)])


@router.post("/me/authors", summary="Follow an author (idempotent)", response_model=None,
             responses=answers(FollowedAuthor, 400, 401, 403, 404, 409, 422))
def follow(user: CurrentUser, session: SessionDep, data: FollowIn):
    name = _checked_name(data.name.strip())
    try:
        key = store.follow_author(session, user.pk, name)
    except store.FollowLimit as exc:
        raise HTTPException(409, str(exc)) from None
    except store.FollowError as exc:
        raise HTTPException(404, str(exc)) from None
    return JSONResponse(_followed(name, key))


@router.delete("/me/authors/{name:path}", summary="Stop following an author", status_code=204,
               response_class=Response, responses=errors(400, 401, 403, 404, 422))
def unfollow(user: CurrentUser, session: SessionDep, name: str):
    if not store.unfollow_author(session, user.pk, _checked_name(name)):
        raise HTTPException(404, f"You do not follow {name!r}.")
    return Response(status_code=204)
