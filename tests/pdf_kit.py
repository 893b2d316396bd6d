"""Real PDFs for the thumbnail tests and bench, written here: a paper-like document (title,
authors, two columns of text, vector figures with curves and fills, several pages), plus
the broken, encrypted and oversized kinds a fetch can bring back. No real arXiv PDFs are
available offline, so these stand in for them."""

from __future__ import annotations

import io
import math
import random
import zlib

WORDS = ("we propose a method for learning sparse attention over long sequences and show that it "
         "improves accuracy while reducing memory our experiments on language modelling and "
         "retrieval benchmarks confirm the analysis the model converges faster than baselines").split()


def paper_pdf(title: str = "Sparse Attention for Long Sequences", pages: int = 8, seed: int = 0,
              compress: bool = True) -> bytes:
    """A multi-page, paper-like PDF: text in two columns and a vector figure on every page."""
    rng = random.Random(seed)
    streams = [_page_content(title if n == 0 else None, n, rng) for n in range(pages)]
    return _write_pdf(streams, compress)


def _page_content(title: str | None, number: int, rng: random.Random) -> bytes:
    ops = ["0 0 0 rg"]
    top = 742
    if title:
        ops += [f"BT /F2 17 Tf 72 {top} Td ({_esc(title)}) Tj ET",
                f"BT /F1 10 Tf 72 {top - 22} Td (Ada Lovelace, Alan Turing, Grace Hopper) Tj ET",
                f"BT /F2 11 Tf 280 {top - 50} Td (Abstract) Tj ET"]
        top -= 70
    for column, x in enumerate((72, 318)):
        ops.append(f"BT /F1 9 Tf 11 TL {x} {top} Td")
        for _ in range(30 if column == 0 else 24):
            ops.append(f"({_esc(' '.join(rng.choice(WORDS) for _ in range(8)))}) '")
        ops.append("ET")
    ops += _figure(318, 110, rng)
    ops.append(f"BT /F1 9 Tf 300 40 Td ({number + 1}) Tj ET")
    return "\n".join(ops).encode("latin-1")


def _figure(x: float, y: float, rng: random.Random) -> list[str]:
    """A plot: axes, a filled band, two curves and bars, all vector paths."""
    w, h = 220, 120
    ops = ["q 0.8 w 0 0 0 RG", f"{x} {y} m {x} {y + h} l S", f"{x} {y} m {x + w} {y} l S"]
    ops.append("0.75 0.85 1 rg")
    band = [(x + i * w / 20, y + h / 2 + 20 * math.sin(i / 3)) for i in range(21)]
    ops.append(f"{band[0][0]:.1f} {band[0][1] - 10:.1f} m " + " ".join(f"{px:.1f} {py + 10:.1f} l" for px, py in band)
               + " " + " ".join(f"{px:.1f} {py - 10:.1f} l" for px, py in reversed(band)) + " f")
    for color, phase in (("0.1 0.3 0.8", 0.0), ("0.85 0.2 0.1", 1.3)):
        ops.append(f"{color} RG 1.2 w {x:.1f} {y + h / 2:.1f} m")
        for i in range(1, 11):
            x0, x1 = x + (i - 0.5) * w / 10, x + i * w / 10
            ops.append(f"{x0:.1f} {y + h / 2 + 40 * math.sin(i + phase):.1f} {x0 + 5:.1f} "
                       f"{y + h / 2 + 30 * math.cos(i + phase):.1f} {x1:.1f} {y + h / 2 + rng.uniform(-30, 30):.1f} c")
        ops.append("S")
    for i in range(6):
        ops.append(f"0.3 0.6 0.3 rg {x + 10 + i * 35} {y + 2} 14 {rng.uniform(10, 50):.1f} re f")
    ops.append("Q")
    return ops


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _write_pdf(streams: list[bytes], compress: bool) -> bytes:
    count = len(streams)
    # objects: 1 catalog, 2 pages, 3-4 fonts, then (page, content) pairs
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(count))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>")
    for i, content in enumerate(streams):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {6 + 2 * i} 0 R "
                       "/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>".encode())
        data = zlib.compress(content, 6) if compress else content
        flate = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(data), flate) + data + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """The same paper, locked with a user password (pypdf, RC4-128: needs no crypto library)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(paper_pdf(pages=1))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def broken_pdf() -> bytes:
    """Starts like a PDF, then garbage: what a truncated or damaged download looks like."""
    return b"%PDF-1.7\n" + bytes(random.Random(1).randrange(256) for _ in range(3000))
