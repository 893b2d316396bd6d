"""First-page thumbnails: ``/papers/{id}/thumb-small.webp`` (cards) and ``thumb-large.webp``
(the paper page), straight from the database, so every node serves every thumbnail.

Pages link them as ``...webp?v=<etag>``: that URL never changes its bytes, so browsers keep
it a year without asking again. Without ``v`` (or with an old one) the answer is cached a
day and revalidated with its ETag (304).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.records import is_arxiv_id
from paperfeed.store.thumbnails import ThumbInfo, image, large_info
from paperfeed.web.deps import SessionDep, not_modified, paper_or_404

router = APIRouter(include_in_schema=False)
SIZES = ("small", "large")
VERSIONED = "public, max-age=31536000, immutable"
UNVERSIONED = "public, max-age=86400"


@router.get("/papers/{paper_id:path}/thumb-{size}.webp")
def thumbnail(request: Request, session: SessionDep, paper_id: str, size: str, v: str | None = None):
    if size not in SIZES:
        raise HTTPException(404, "thumbnails are thumb-small.webp and thumb-large.webp")
    paper = paper_or_404(session, paper_id)
    found = image(session, paper.pk, size)
    if found is None:
        raise HTTPException(404, f"No thumbnail for {paper_id!r} yet.")
    data, version = found
    etag = f'"{version}-{size[0]}"'
    headers = {"ETag": etag, "Cache-Control": VERSIONED if v == version else UNVERSIONED}
    cached = not_modified(request, etag)
    if cached:
        cached.headers.update(headers)
        return cached
    return Response(data, media_type="image/webp", headers=headers)


def thumbnail_url(paper_id: str, size: str, info: ThumbInfo) -> str:
    """The versioned path of a paper's thumbnail (what pages and the API link)."""
    return f"{paper_path(paper_id)}/thumb-{size}.webp?v={info.etag}"


def absolute_thumbnail_url(request: Request, paper_id: str, info: ThumbInfo | None) -> str | None:
    """For the API: absolute, on PAPERFEED_BASE_URL like feed links; None without a thumbnail."""
    if info is None:
        return None
    return request.app.state.settings.base_url.rstrip("/") + thumbnail_url(paper_id, "small", info)


def page_thumbnail(request: Request, session: Session, paper) -> ThumbInfo | None:
    """The paper page's large thumbnail; without one, the paper is noted for the thumbnail
    job to do first (in this process's memory: a GET writes nothing)."""
    info = large_info(session, paper.pk)
    if info is None and request.app.state.settings.thumbnails and not paper.withdrawn and is_arxiv_id(paper.id):
        request.app.state.thumbnail_wanted.add(paper.pk)
    return info
