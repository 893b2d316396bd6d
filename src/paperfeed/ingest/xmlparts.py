"""Read an XML feed item by item, so one broken item does not lose the rest of the page.

The whole document is parsed first (the normal case). Only when that fails is it cut into
its items with a regular expression; each item is parsed on its own, inside a copy of the
root element so its namespace declarations still apply, and the broken ones are reported.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from paperfeed.records import MalformedRecord

_ROOT_TAG = re.compile(r"<([A-Za-z_][\w:.-]*)(?:\s[^>]*)?>", re.S)
_PROLOGUE = re.compile(r"^\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*", re.S)


def split_items(data: bytes, tag: str, namespace: str = "") -> tuple[ET.Element, list[ET.Element | MalformedRecord]]:
    """The document root (header fields) and its ``tag`` elements, broken ones as errors."""
    qualified = f"{{{namespace}}}{tag}" if namespace else tag
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return _salvage(data, tag)
    return root, list(root.iter(qualified))


def _salvage(data: bytes, tag: str) -> tuple[ET.Element, list[ET.Element | MalformedRecord]]:
    text = _PROLOGUE.sub("", data.decode("utf-8", errors="replace"), count=1)
    opening = _ROOT_TAG.match(text)
    if opening is None:
        raise MalformedRecord("not an XML document")
    root_open, root_close = opening.group(0), f"</{opening.group(1)}>"
    spans = item_spans(text, tag)
    try:
        root = ET.fromstring(_without(text, spans))
    except ET.ParseError as exc:
        raise MalformedRecord(f"not well-formed XML outside the {tag} elements: {exc}") from exc
    items: list[ET.Element | MalformedRecord] = []
    for start, end in spans:
        try:
            items.append(ET.fromstring(root_open + text[start:end] + root_close)[0])
        except ET.ParseError as exc:
            items.append(MalformedRecord(f"not well-formed XML: {exc}"))
    return root, items


def item_spans(text: str, tag: str) -> list[tuple[int, int]]:
    """Where each ``<tag ...> ... </tag>`` runs: from an opening tag to the first closing tag
    after it (what the lazy pattern ``<tag.*?</tag>`` finds), in one pass over the text.

    The lazy pattern itself, tried at each of n unclosed opening tags, scans to the end of
    the text from every one of them: quadratic time (20,000 of them took 23 s)."""
    spans = []
    start = None
    for match in _tags(tag).finditer(text):
        if match.group(1):  # a closing tag
            if start is not None:
                spans.append((start, match.end()))
                start = None
        elif start is None:
            start = match.start()
    return spans


def _tags(tag: str) -> re.Pattern:
    """Opening and closing ``tag`` tags; each match is a few characters, so finditer is linear."""
    escaped = re.escape(tag)
    return re.compile(rf"<(?:(/){escaped}\s*>|{escaped}(?=[\s>/]))")


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    parts, position = [], 0
    for start, end in spans:
        parts.append(text[position:start])
        position = end
    parts.append(text[position:])
    return "".join(parts)


def text_of(element: ET.Element | None, path: str, ns: dict[str, str] | None = None) -> str | None:
    """The text of the first match of ``path``, or None."""
    if element is None:
        return None
    found = element.find(path, ns or {})
    return found.text if found is not None and found.text is not None else None


def texts_of(element: ET.Element, path: str, ns: dict[str, str] | None = None) -> list[str]:
    return [e.text for e in element.findall(path, ns or {}) if e.text]


def naive_utc(value: datetime) -> datetime:
    """The store keeps naive UTC datetimes."""
    if value.tzinfo is not None:
        try:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError as exc:  # an offset pushes year 1 or 9999 out of range
            raise MalformedRecord(f"bad date {value!r:.60}") from exc
    return value


def to_int(value: str | None) -> int | None:
    """An optional integer attribute or element; junk counts as absent."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
