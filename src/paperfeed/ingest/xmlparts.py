"""Read an XML feed item by item, so one broken item does not lose the rest of the page.

The whole document is parsed first (the normal case). Only when that fails is it cut into
its items with a regular expression; each item is parsed on its own, inside a copy of the
root element so its namespace declarations still apply, and the broken ones are reported.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from paperfeed.ingest.record import MalformedRecord

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
    item_pattern = re.compile(rf"<{tag}(?=[\s>/]).*?</{tag}\s*>", re.S)
    try:
        root = ET.fromstring(item_pattern.sub("", text))
    except ET.ParseError as exc:
        raise MalformedRecord(f"not well-formed XML outside the {tag} elements: {exc}") from exc
    items: list[ET.Element | MalformedRecord] = []
    for chunk in item_pattern.findall(text):
        try:
            items.append(ET.fromstring(root_open + chunk + root_close)[0])
        except ET.ParseError as exc:
            items.append(MalformedRecord(f"not well-formed XML: {exc}"))
    return root, items


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
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def to_int(value: str | None) -> int | None:
    """An optional integer attribute or element; junk counts as absent."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
