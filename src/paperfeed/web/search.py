"""The search page: every paper, by keyword, meaning or both."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from paperfeed.rank.search import MODES, SearchError, search_in
from paperfeed.store.feed import activity_for
from paperfeed.web.deps import SessionDep, render
from paperfeed.web.votes import viewer_votes

router = APIRouter(include_in_schema=False)


SEARCH_PER_PAGE = 20


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep, q: str = "", mode: str = "hybrid",
                category: str | None = None, since: date | None = None, until: date | None = None,
                p: int = Query(1, ge=1, le=500), exact: bool = False):
    if since and until and since > until:
        raise SearchError("the start date is after the end date")
    results = None
    counts = {}
    if q.strip():
        results = search_in(session, request.app.state.settings, q, limit=SEARCH_PER_PAGE + 1, offset=(p - 1) * SEARCH_PER_PAGE,
                         mode=mode, category=(category or "").strip() or None, since=since, until=until,
                         exact=exact)
        counts = activity_for(session, [h.paper.pk for h in results.hits])
    votes = viewer_votes(request, session, [h.paper for h in results.hits]) if results else frozenset()
    context = {"voted_pks": votes, "q": q, "mode": mode, "modes": MODES, "category": category or "", "since": since, "until": until,
               "results": results, "counts": counts, "page_no": p, "per_page": SEARCH_PER_PAGE,
               "exact": exact}
    return render(request, "search.html", context)


