"""Property-based fuzzing of every importer (issue #12): whatever the input, each record is
imported or skipped with a reason, no parser raises, and nothing of the wrong type is stored.

Inputs mix plausible values with arbitrary JSON (or raw XML text) in every field. A record a
parser fails on unexpectedly is still skipped, as "unreadable record (...)"; these tests
fail on that reason too, so each such crash site gets a proper check."""

import io
from datetime import date, datetime
from xml.sax.saxutils import escape

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from paperfeed.ingest.atom import parse_atom
from paperfeed.ingest.formats import parse_line
from paperfeed.ingest.hf import parse_hf
from paperfeed.ingest.importer import import_file
from paperfeed.ingest.native import parse_native_object
from paperfeed.ingest.oai import parse_oai
from paperfeed.ingest.parallel import _prepare_packed, _unpack
from paperfeed.records import MalformedRecord, PaperRecord
from paperfeed.ingest.rss import parse_rss
from paperfeed.ingest.snapshot import parse_snapshot_object
from paperfeed.ingest.reading import UNREADABLE
from paperfeed.links import is_safe_url
from paperfeed.records.check import MAX_COUNT, MAX_VERSION, is_paper_id
from paperfeed.models import DailyEntry, Paper
from paperfeed.store.merge import CONTENT_FIELDS
from paperfeed.store.rows import decode_row, prepare_records

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DB_FUZZ = settings(FUZZ, max_examples=60)

# --- strategies --------------------------------------------------------------------

text = st.text(max_size=30)
scalar = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
          | st.floats(allow_nan=False, allow_infinity=False) | text)
any_json = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
# Fields take valid values; then up to two fields of a record are replaced by junk: any
# JSON at all, or one of the values of issue #12 (see objects()).
EDGE = ["cspt/../../../admin/users/bob_1/ban?x=", "../x", "a b", "x" * 101, "javascript:alert(1)",
        " javascript:alert(1)", "data:text/html,x", "//evil.example", "https://x/\x00", "v99999999999999999999",
        "v0", "many", 1e30, 2.5, -1, 0, 2**40, True, "9999-12-31", "9999-12-31T23:59:59",
        "0001-01-01T00:00:00+01:00", "2024-01-01T00:00:00+14:00", "Fri, 31 Dec 9999 23:00:00 -0500", "t" * 1001,
        "a" * 20_001, "", " ", "\x1b", [1, 2], [[1, 2, 3]], 5, {"a": 1}, ["a b"], ["x" * 65]]
junk = any_json | st.sampled_from(EDGE)
ids = st.sampled_from(["2401.00001", "2401.00002v3", "hep-th/9901001", "math.GT/0309136", "doc-1", "4983"])
titles = st.sampled_from(["A title", "Ünïcode $x^2$ <b>title</b>"]) | text.filter(str.strip)
texts = text
urls = st.sampled_from(["https://github.com/a/b", "http://example.org/p", "https://github.com/a/b\\_c"])
categories = st.sampled_from(["cs.LG", "math.GT", "hep-th"])
days = st.dates(date(1990, 1, 1), date(2100, 1, 1))
times = st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1))
iso_days = days.map(date.isoformat)
iso_times = times.map(datetime.isoformat)
counts = st.integers(0, 10_000)
versions = st.integers(1, 20)
snapshot_versions = versions.map("v{}".format)
mail_dates = st.sampled_from(["Mon, 2 Apr 2007 19:18:42 GMT", "Tue, 9 Jan 2024 10:00:00 GMT"])
xml_mail_dates = st.one_of(*[mail_dates] * 4, st.sampled_from(["Fri, 31 Dec 9999 23:00:00 -0500", "nonsense", ""]))


@st.composite
def objects(draw, required: dict, optional: dict, most: int = 2):
    """A record of valid values with up to ``most`` fields replaced by junk: a record junk in
    every field would be refused at its first field, hiding the checks of the others."""
    obj = draw(st.fixed_dictionaries(required, optional=optional))
    for key in draw(st.lists(st.sampled_from(sorted({*required, *optional})), max_size=most, unique=True)):
        obj[key] = draw(junk)
    return obj


def parts(required: dict, optional: dict | None = None):
    """A nested object (an author, a version, an entry): junk in one field now and then."""
    return objects(required, optional or {}, most=1) | st.fixed_dictionaries(required, optional=optional or {})


author_dicts = parts({"name": text, "last": text, "first": text, "suffix": text})
entries = st.lists(parts({"day": iso_days}, {
    "source": st.sampled_from(["auto", "hf", "user"]), "upvotes": counts, "num_comments": counts}), max_size=2)
MINIMAL = objects(
    {"id": ids, "title": titles},
    {"abstract": texts, "authors": st.lists(text, max_size=3), "categories": st.lists(categories, max_size=3),
     "published": iso_days, "url": urls},
)
FULL = objects(
    {"format": st.just("paperfeed"), "id": ids, "title": titles},
    {"abstract": texts, "authors": st.lists(author_dicts, max_size=3), "categories": st.lists(categories, max_size=3),
     "version": versions,
     "versions": st.lists(parts({"version": versions, "created": iso_times}), max_size=2),
     "submitted_at": iso_times, "updated_at": iso_times, "announced_on": iso_days,
     "comments": texts, "journal_ref": text, "doi": text, "license": text, "abs_url": urls,
     "pdf_url": urls, "code_urls": st.lists(urls, max_size=3), "project_page": urls,
     "sources": st.lists(st.sampled_from(["snapshot", "hf", "jsonl"]), max_size=3),
     "withdrawn": st.booleans(), "extra": st.dictionaries(text, any_json, max_size=3), "entries": entries},
)
NATIVE = MINIMAL | FULL
SNAPSHOT = objects(
    {"id": ids, "title": titles},
    {"abstract": texts, "authors": text, "categories": st.lists(categories, max_size=3).map(" ".join),
     "authors_parsed": st.lists(st.lists(text, min_size=3, max_size=3), max_size=3),
     "comments": texts,
     "versions": st.lists(parts({"version": snapshot_versions, "created": mail_dates}), max_size=2),
     "update_date": iso_days, "announce_date": iso_days, "journal-ref": text, "doi": text, "license": text},
)
HF_PAPER = objects(
    {"id": ids, "submittedOnDailyAt": iso_times, "title": titles},
    {"summary": texts, "authors": st.lists(parts({"name": text}), max_size=3),
     "publishedAt": iso_times, "upvotes": counts, "githubRepo": urls,
     "projectPage": urls, "ai_keywords": st.lists(text, max_size=2), "ai_summary": text,
     "organization": parts({"name": text})},
)
HF_ITEMS = st.lists(objects({"paper": HF_PAPER}, {"numComments": counts, "title": titles, "publishedAt": iso_times},
                            most=1), max_size=4)
raw_lines = st.binary(max_size=60) | any_json.map(orjson.dumps)

# XML: fields are escaped text that XML allows, now and then raw junk that breaks the markup
# (the salvage then parses each item on its own).
xml_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\t\n")
xml_text = st.text(xml_chars, min_size=1, max_size=30).map(escape)
xml_junk = st.sampled_from(["<b>", "</entry>", "<entry>", "</item>", "<record>", "&bogus;", "]]>", "\x1b",
                            "<![CDATA[x]]>", "&#0;", "&#x1F;", "a" * 20_001])
xml_field = st.one_of(*[xml_text] * 12, xml_junk)
xml_ids = st.one_of(*[ids] * 6, st.sampled_from(EDGE[:9]).map(escape), xml_junk)
closings = st.sampled_from([0, 0, 0, 0, 1, 2])


def element(tag: str, value: str) -> str:
    return f"<{tag}>{value}</{tag}>"


def fields(dirty: bool):
    """The strategies for text fields and ids: a clean document's parse as XML, a dirty one's
    may break the markup here and there."""
    return (xml_field, xml_ids) if dirty else (xml_text, ids)


@st.composite
def atom_entry(draw, dirty: bool):
    xml_field, xml_ids = fields(dirty)
    paper_id = draw(xml_ids)
    parts = [element("id", f"http://arxiv.org/abs/{paper_id}{draw(st.sampled_from(['', 'v2', 'v99999999999']))}"),
             element("title", draw(xml_field)), element("summary", draw(xml_field)),
             element("published", draw(st.one_of(*[iso_times] * 4, xml_field, st.sampled_from(EDGE[17:22])))),
             element("updated", draw(st.one_of(*[iso_times] * 4, xml_field, st.sampled_from(EDGE[17:22])))),
             element("author", element("name", draw(xml_field))), element("arxiv:comment", draw(xml_field)),
             f'<category term="{escape(draw(text), {chr(34): "&quot;"})}"/>']
    return element("entry", "".join(parts[: draw(st.sampled_from([len(parts)] * 4 + list(range(1, len(parts)))))]))


@st.composite
def atom_docs(draw):
    dirty = draw(st.booleans())
    entries = "".join(draw(st.lists(atom_entry(dirty), max_size=3)))
    closing = ["</feed>", "", "<entry>" * 3 + "</feed>"][draw(closings)]
    return (f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
            f"{entries}{closing}").encode()


@st.composite
def oai_docs(draw):
    xml_field, xml_ids = fields(draw(st.booleans()))
    records = []
    for _ in range(draw(st.integers(0, 3))):
        paper_id = draw(xml_ids)
        body = draw(st.sampled_from(["raw", "ax", "dc"]))
        day = draw(st.one_of(*[iso_days] * 4, xml_field))
        if body == "dc":
            meta = (f'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                    f'xmlns:dc="http://purl.org/dc/elements/1.1/">{element("dc:title", draw(xml_field))}'
                    f'{element("dc:description", draw(xml_field))}{element("dc:date", day)}'
                    f'{element("dc:creator", draw(xml_field))}</oai_dc:dc>')
        else:
            ns = "http://arxiv.org/OAI/arXivRaw/" if body == "raw" else "http://arxiv.org/OAI/arXiv/"
            root = "arXivRaw" if body == "raw" else "arXiv"
            version = escape(str(draw(st.one_of(*[snapshot_versions] * 4, st.sampled_from(EDGE)))), {'"': "&quot;"})
            meta = (f'<{root} xmlns="{ns}">{element("id", paper_id)}{element("title", draw(xml_field))}'
                    f'{element("abstract", draw(xml_field))}{element("authors", draw(xml_field))}'
                    f'{element("categories", draw(xml_field))}{element("created", day)}'
                    f'<version version="{version}">{element("date", draw(xml_mail_dates))}</version></{root}>')
        status = draw(st.sampled_from(["", "", "", ' status="deleted"']))
        records.append(f"<record><header{status}><identifier>oai:arXiv.org:{paper_id}</identifier></header>"
                       f"<metadata>{meta}</metadata></record>")
    closing = ["</ListRecords></OAI-PMH>", "</ListRecords>", "<record>"][draw(closings)]
    return (f'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>{"".join(records)}'
            f"{closing}").encode()


@st.composite
def rss_docs(draw):
    xml_field, xml_ids = fields(draw(st.booleans()))
    items = []
    for _ in range(draw(st.integers(0, 3))):
        paper_id = draw(xml_ids)
        kind = draw(st.sampled_from(["new", "cross", "replace", "replace-cross", "junk"]))
        description = f"arXiv:{paper_id} Announce Type: {kind} Abstract: {draw(xml_field)}"
        items.append(element("item", element("title", draw(xml_field)) + element("description", description)
                             + element("link", f"https://arxiv.org/abs/{paper_id}")
                             + element("pubDate", draw(xml_mail_dates)) + element("category", draw(xml_field))
                             + element("dc:creator", draw(xml_field))))
    return ('<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom"><channel>'
            + element("pubDate", draw(xml_mail_dates)) + "".join(items)
            + ["</channel></rss>", "", "<item>"][draw(closings)]).encode()


# --- what every result must satisfy ------------------------------------------------------


def assert_imported_or_skipped(item) -> None:
    if isinstance(item, MalformedRecord):
        assert str(item) and not str(item).startswith(UNREADABLE), str(item)
        return
    assert isinstance(item, PaperRecord)
    batch = prepare_records([item])
    for row in batch.rows:
        assert_storable(decode_row(row))
    for paper_id, day, source, upvotes, num_comments in batch.entries:
        assert type(day) is str and date.fromisoformat(day)
        assert source in {"auto", "hf", "user"}
        assert all(n is None or (type(n) is int and 0 <= n <= MAX_COUNT) for n in (upvotes, num_comments))


def assert_storable(row: dict) -> None:
    assert is_paper_id(row["id"])
    assert type(row["title"]) is str and row["title"].strip()
    assert type(row["abstract"]) is str and type(row["categories"]) is str
    for name in ("comments", "journal_ref", "doi", "license", "primary_category"):
        assert row[name] is None or type(row[name]) is str
    for name in ("abs_url", "pdf_url", "project_page"):
        assert row[name] is None or is_safe_url(row[name])
    assert all(is_safe_url(url) for url in row["code_urls"])
    assert row["version"] is None or (type(row["version"]) is int and 1 <= row["version"] <= MAX_VERSION)
    assert all(type(v["version"]) is int for v in row["versions"])
    assert all(type(a[k]) is str for a in row["authors"] for k in ("name", "last", "first", "suffix"))
    assert all(type(s) is str for s in row["sources"]) and type(row["extra"]) is dict
    assert type(row["withdrawn"]) is bool
    for name in ("submitted_at", "updated_at"):
        assert row[name] is None or type(row[name]) is datetime
    assert row["announced_on"] is None or type(row["announced_on"]) is date


def assert_every_item_imported_or_skipped(items) -> None:
    for _, item in items:
        assert_imported_or_skipped(item)


# --- parsing ------------------------------------------------------------------------------


@FUZZ
@given(NATIVE)
def test_native_jsonl(obj):
    assert_imported_or_skipped(parse_line(orjson.dumps(obj), parse_native_object))


@FUZZ
@given(SNAPSHOT)
def test_kaggle_snapshot(obj):
    assert_imported_or_skipped(parse_line(orjson.dumps(obj), parse_snapshot_object))


@FUZZ
@given(raw_lines)
def test_any_json_line(line):
    for parse in (parse_native_object, parse_snapshot_object):
        assert_imported_or_skipped(parse_line(line, parse))


@FUZZ
@given(st.lists(NATIVE | SNAPSHOT, min_size=1, max_size=4), st.sampled_from(["jsonl", "snapshot"]))
def test_parse_worker_chunks(objs, fmt):
    """What a parse worker does with a chunk, and the marshal round trip back to the writer."""
    data = b"".join(orjson.dumps(o) + b"\n" for o in objs)
    chunk = _unpack(_prepare_packed(fmt, 1, data))
    assert chunk.read + len(chunk.skipped) == len(objs)
    assert not [reason for _, reason in chunk.skipped if reason.startswith(UNREADABLE)]
    for row in chunk.batch.rows:
        assert_storable(decode_row(row))


@FUZZ
@given(HF_ITEMS)
def test_hf_daily_papers(items):
    assert_every_item_imported_or_skipped(parse_hf(io.BytesIO(orjson.dumps(items))))


@FUZZ
@given(atom_docs())
def test_arxiv_api_atom(doc):
    assert_every_item_imported_or_skipped(parse_atom(io.BytesIO(doc)))


@FUZZ
@given(oai_docs())
def test_oai_pmh(doc):
    assert_every_item_imported_or_skipped(parse_oai(io.BytesIO(doc)))


@FUZZ
@given(rss_docs())
def test_rss(doc):
    assert_every_item_imported_or_skipped(parse_rss(io.BytesIO(doc)))


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_as_a_feed(data):
    for parse in (parse_atom, parse_oai, parse_rss, parse_hf):
        assert_every_item_imported_or_skipped(parse(io.BytesIO(data)))


# --- storing --------------------------------------------------------------------------------


def assert_stored_rows_well_typed(db) -> None:
    with db.session() as s:
        for paper in s.scalars(select(Paper)):
            assert_storable({name: getattr(paper, name) for name in CONTENT_FIELDS})
        for entry in s.scalars(select(DailyEntry)):
            assert type(entry.upvotes) is int and 0 <= entry.upvotes <= MAX_COUNT
            assert type(entry.num_comments) is int and type(entry.day) is date
            assert entry.source in {"auto", "hf", "user"}


@DB_FUZZ
@given(objs=st.lists(NATIVE | SNAPSHOT, min_size=1, max_size=5), fmt=st.sampled_from(["jsonl", "snapshot"]))
def test_json_lines_import_into_the_database(db, tmp_path, objs, fmt):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    report = import_file(db, path, fmt=fmt, workers=0)
    assert report.read + report.skipped == len(objs)
    assert not [e for e in report.errors if e.reason.startswith(UNREADABLE)]
    assert_stored_rows_well_typed(db)


@DB_FUZZ
@given(items=HF_ITEMS)
def test_hf_imports_into_the_database(db, tmp_path, items):
    path = tmp_path / "hf.json"
    path.write_bytes(orjson.dumps(items))
    report = import_file(db, path, fmt="hf")
    assert not [e for e in report.errors if e.reason.startswith(UNREADABLE)]
    assert_stored_rows_well_typed(db)


@DB_FUZZ
@given(doc=st.one_of(atom_docs().map(lambda d: ("atom", d)), oai_docs().map(lambda d: ("oai", d)),
                     rss_docs().map(lambda d: ("rss", d))))
def test_feeds_import_into_the_database(db, tmp_path, doc):
    fmt, data = doc
    path = tmp_path / "feed.xml"
    path.write_bytes(data)
    report = import_file(db, path, fmt=fmt)
    assert not [e for e in report.errors if e.reason.startswith(UNREADABLE)]
    assert_stored_rows_well_typed(db)
