"""For you (a page and an API route) and "Not interested" on cards (htmx, in place).

The ranking is rank/foryou.py; these routes only parse, authenticate and render.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import Field
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.models import User
from paperfeed.rank.foryou import (
    MAX_LIMIT,
    WINDOWS,
    Recommendations,
    RecommendError,
    recommend,
)
from paperfeed.store import notinterested
from paperfeed.store.feed import PaperActivity, activity_for
from paperfeed.web.api import BEARER, JSONResponse, _top_level, paper_info
from paperfeed.web.api_models import DailyItem, answers
from paperfeed.web.auth import CurrentUser, OptionalUser
from paperfeed.web.deps import SessionDep, paper_or_404, render
from paperfeed.web.render import iso_z
from paperfeed.web.votes import viewer_votes

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["community"], dependencies=[Depends(BEARER)])
PAGE_LIMIT = 30
WINDOW_NAMES = {"day": "Day", "week": "Week", "month": "Month", "all": "All papers"}


class RecommendationItem(DailyItem):
    """A daily_papers item, with why and how strongly it is recommended."""

    score: float = Field(description="higher is closer to what the user liked (0 for popular picks)")
    reason: str = Field(description='why, e.g. \'like "X" that you upvoted\'')


def _recommend(request: Request, session: Session, user: User, window: str, limit: int,
               until: date | None) -> Recommendations:
    try:
        return recommend(session, request.app.state.settings, user.pk, window=window, limit=limit, until=until)
    except RecommendError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/for-you", response_class=HTMLResponse)
def for_you_page(request: Request, user: OptionalUser, session: SessionDep, window: str = "week",
                 until: date | None = None):
    if user is None:
        return RedirectResponse("/login?next=/for-you", 303)
    recs = _recommend(request, session, user, window, PAGE_LIMIT, until)
    papers = [p.paper for p in recs.picks]
    return render(request, "foryou.html", {
        "recs": recs, "windows": WINDOW_NAMES, "until": until,
        "activity": activity_for(session, [p.pk for p in papers]),
        "voted_pks": viewer_votes(request, session, papers),
        "hidden_papers": notinterested.hidden_papers(session, user.pk, limit=50)})


@api.get("/me/recommendations", summary="Papers recommended for the account (For you)", response_model=None,
         responses=answers(list[RecommendationItem], 400, 401, 403, 422))
def api_recommendations(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    window: str = Query("week", description="day | week | month | all", json_schema_extra={"enum": list(WINDOWS)}),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    until: date | None = Query(None, description="the window ends at the newest day with papers up to this day"),
):
    recs = _recommend(request, session, user, window, limit, until)
    counts = activity_for(session, [p.pk for p in recs.picks])
    return JSONResponse([_item(p, counts.get(p.pk, PaperActivity())) for p in recs.picks],
                        headers={"X-Recommendation-Mode": recs.mode, "Cache-Control": "no-store"})


def _item(pick, act: PaperActivity) -> dict:
    paper = pick.paper
    info = paper_info(paper, act.upvotes, act.num_comments)
    day = act.days[-1] if act.days else None
    if day:
        info["submittedOnDailyAt"] = iso_z(day)
    return {"paper": info, "publishedAt": iso_z(day) if day else info["publishedAt"], "title": paper.title,
            "summary": paper.abstract, "numComments": act.num_comments, "isAuthorParticipating": False,
            "source": "auto", "score": round(pick.score, 6), "reason": pick.reason, **_top_level(info)}


# --- "Not interested" ------------------------------------------------------------


@router.post("/papers/{paper_id:path}/not-interested", response_class=HTMLResponse)
def mark(request: Request, user: CurrentUser, session: SessionDep, paper_id: str):
    """Hides the paper for this user; htmx swaps the card for a one-line "Undo"."""
    paper = paper_or_404(session, paper_id)
    notinterested.mark_not_interested(session, user.pk, paper.pk)
    session.commit()  # before answering: the card must not come back on the next page
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(_back(request, paper.id), 303)
    return render(request, "partials/card_hidden.html", {"paper": paper})


@router.post("/papers/{paper_id:path}/not-interested/undo", response_class=HTMLResponse)
def undo(request: Request, user: CurrentUser, session: SessionDep, paper_id: str):
    """Takes the mark back; htmx gets the card again, a plain form goes back where it was."""
    paper = paper_or_404(session, paper_id)
    notinterested.undo_not_interested(session, user.pk, paper.pk)
    session.commit()
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(_back(request, paper.id), 303)
    act = activity_for(session, [paper.pk])[paper.pk]
    return render(request, "partials/card_alone.html", {
        "paper": paper, "upvotes": act.upvotes, "comments": act.num_comments, "day": None,
        "voted_pks": viewer_votes(request, session, [paper])})


def _back(request: Request, paper_id: str) -> str:
    """Where a form without htmx returns: For you when it came from there, else the paper."""
    referer = request.headers.get("referer", "")
    return "/for-you" if "/for-you" in referer else paper_path(paper_id)
