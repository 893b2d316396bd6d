"""Upvotes from pages (htmx swaps the button in place), and the viewer's votes for a page of cards."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.store import notinterested
from paperfeed.store import votes as vote_store
from paperfeed.web.auth import OptionalUser, page_viewer
from paperfeed.web.deps import SessionDep, paper_or_404, render

router = APIRouter(include_in_schema=False)


def viewer_votes(request: Request, session: Session, papers) -> frozenset[int]:
    """The viewer's upvotes among a page's papers, in one query (none for anonymous viewers)."""
    return frozenset(vote_store.voted_papers(session, page_viewer(request, session), [p.pk for p in papers]))


def viewer_hidden(request: Request, session: Session, papers) -> frozenset[int]:
    """The papers among these that the viewer marked "not interested" (none for anonymous viewers)."""
    user = page_viewer(request, session)
    return notinterested.hidden_among(session, user.pk if user else None, [p.pk for p in papers])


# --- upvotes -----------------------------------------------------------------


@router.post("/papers/{paper_id:path}/upvote", response_class=HTMLResponse)
def upvote(request: Request, paper_id: str, user: OptionalUser, session: SessionDep):
    """Toggles the vote and answers with the re-rendered button (htmx swaps it in place)."""
    paper = paper_or_404(session, paper_id)
    is_htmx = request.headers.get("hx-request") == "true"
    prompt = None
    if user is None:
        prompt = "signin"
    elif not user.email_verified:
        prompt = "verify"
    if prompt and not is_htmx:
        target = f"/login?next={quote(paper_path(paper.id))}" if prompt == "signin" else "/settings"
        return RedirectResponse(target, 303)
    if prompt:
        return render(request, "partials/upvote.html", {"paper": paper, "prompt": prompt,
                                                        "upvotes": vote_store.paper_upvotes(session, paper.pk)})
    state = vote_store.toggle_vote(session, user, paper)
    session.commit()  # before answering: a failed commit must be an error, not a lost vote
    if not is_htmx:
        return RedirectResponse(paper_path(paper.id), 303)
    return render(request, "partials/upvote.html", {"paper": paper, "upvotes": state.upvotes, "voted": state.voted})


