"""First-page thumbnails: fetch a paper's PDF politely from the one configured source and
render its first page, locally, to a small (card) and a large (paper page) WebP.

PDFium (pypdfium2) renders; it needs no system service, and PyMuPDF's AGPL is avoided.
Everything that can go wrong with a download or a file ends as ``NoThumbnail`` with a
reason a person can read, and says whether trying again later could help.
"""

from __future__ import annotations

import io
import threading
from urllib.parse import quote

import pypdfium2 as pdfium
from PIL import Image

from paperfeed.config import Settings
from paperfeed.ingest.http import BodyTooLarge, FetchError, PoliteClient
from paperfeed.records import is_arxiv_id
from paperfeed.store.thumbnails import Images

SMALL_WIDTH = 160  # shown 80 px wide on a card: sharp on 2x screens
LARGE_WIDTH = 480  # shown 240 px wide on the paper page
MAX_ASPECT = 2.0  # taller pages are cut at twice their width, so no page makes a huge bitmap
WEBP_QUALITY = 70
# libwebp's effort (0-6): 2 encodes the large image twice as fast as the default 4 for 3%
# more bytes (bench/thumbnails.py); encoding is most of a thumbnail's time
WEBP_METHOD = 2
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410, 451})
# PDFium keeps global state and is not thread-safe: one render at a time per process
_PDFIUM = threading.Lock()


class NoThumbnail(Exception):
    """Why a paper has no thumbnail; ``permanent`` when trying again cannot help."""

    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


def pdf_url(settings: Settings, arxiv_id: str) -> str:
    """The PDF's address at the configured source; the id is percent-encoded (old ids keep their slash)."""
    return settings.thumbnail_pdf_base_url + quote(arxiv_id, safe="/")


def fetch_pdf(client: PoliteClient, settings: Settings, arxiv_id: str) -> bytes:
    """The paper's PDF, or ``NoThumbnail`` saying why not."""
    if not is_arxiv_id(arxiv_id):
        raise NoThumbnail("not an arXiv paper: no PDF source", permanent=True)
    cap = settings.thumbnail_max_pdf_bytes
    try:
        response = client.get(pdf_url(settings, arxiv_id), max_bytes=cap)
    except BodyTooLarge:
        raise NoThumbnail(f"PDF too large (over {cap:,} bytes)", permanent=True) from None
    except FetchError as exc:  # retries used up (5xx, 429, timeouts) or no connection
        raise NoThumbnail(f"download failed: {_short(str(exc))}", permanent=False) from None
    if response.status_code in PERMANENT_STATUSES:
        raise NoThumbnail(f"HTTP {response.status_code} for the PDF", permanent=True)
    if response.status_code != 200:
        raise NoThumbnail(f"HTTP {response.status_code} for the PDF", permanent=False)
    body = response.content
    if not body.lstrip()[:5] == b"%PDF-":
        kind = response.headers.get("Content-Type", "unknown").split(";")[0].strip()[:60]
        raise NoThumbnail(f"not a PDF (content type {kind})", permanent=True)
    return body


def render_first_page(pdf: bytes) -> Images:
    """The first page as a small and a large WebP. PDFium draws each size itself: text
    rasterised small is sharper, and cheaper, than a large bitmap scaled down."""
    with _PDFIUM:
        large, small = _first_page_bitmaps(pdf, (LARGE_WIDTH, SMALL_WIDTH))
    return Images(small=_webp(small), small_size=small.size, large=_webp(large), large_size=large.size,
                  pdf_bytes=len(pdf))


def _first_page_bitmaps(pdf: bytes, widths: tuple[int, ...]) -> list[Image.Image]:
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise NoThumbnail("encrypted PDF (needs a password)", permanent=True) from None
        raise NoThumbnail(f"broken PDF ({_short(str(exc))})", permanent=True) from None
    try:
        if len(document) == 0:
            raise NoThumbnail("broken PDF (no pages)", permanent=True)
        page = document[0]
        width, height = page.get_size()
        if width < 1 or height < 1:
            raise NoThumbnail("broken PDF (empty first page)", permanent=True)
        crop_bottom = max(0.0, height - width * MAX_ASPECT)  # points cut off a very tall page
        return [page.render(scale=target / width, crop=(0, crop_bottom, 0, 0), fill_color=(255, 255, 255, 255))
                .to_pil().convert("RGB") for target in widths]
    except pdfium.PdfiumError as exc:
        raise NoThumbnail(f"broken PDF ({_short(str(exc))})", permanent=True) from None
    finally:
        document.close()


def _webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return out.getvalue()


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."
