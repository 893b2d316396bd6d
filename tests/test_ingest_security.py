"""Hostile imports (issue #12): unsafe links, ids that are paths, junk types, oversize fields,
and XML that made the salvage quadratic. Each bad record is skipped or trimmed with a reason;
the rest of the file imports."""

import io
import re
import time
from datetime import date

import orjson
import pytest
from sqlalchemy import select

from paperfeed.ingest.atom import parse_atom_page
from paperfeed.ingest.formats import iter_jsonl
from paperfeed.ingest.hf import parse_hf_items
from paperfeed.ingest.importer import import_file
from paperfeed.ingest.native import parse_native_object
from paperfeed.ingest.oai import parse_oai_page
from paperfeed.records import MalformedRecord, PaperRecord
from paperfeed.ingest.reading import bounded_lines, read_document
from paperfeed.links import is_safe_url
from paperfeed.records.check import MAX_ABSTRACT, MAX_AUTHORS, MAX_COUNT, MAX_TITLE, is_paper_id
from paperfeed.ingest.xmlparts import item_spans, split_items
from paperfeed.models import DailyEntry, Paper
from paperfeed.store.papers import get_paper

DAY = "2026-06-12"
ATOM_NS = "http://www.w3.org/2005/Atom"


def jsonl(tmp_path, *objects, name="in.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objects))
    return path


def native(paper_id="2401.00001", **fields):
    return {"format": "paperfeed", "id": paper_id, "title": f"Paper {paper_id}", "abstract": "A.", **fields}


def snapshot(paper_id="2401.00001", **fields):
    return {"id": paper_id, "title": f"Paper {paper_id}", "abstract": "A.", "categories": "cs.LG",
            "authors_parsed": [["Lovelace", "Ada", ""]],
            "versions": [{"version": "v1", "created": "Mon, 1 Jan 2024 10:00:00 GMT"}], **fields}


def hf_item(paper_id="2401.00001", **paper):
    return {"paper": {"id": paper_id, "title": "T", "summary": "S", "authors": [{"name": "Ada Lovelace"}],
                      "submittedOnDailyAt": f"{DAY}T00:00:00.000Z", "upvotes": 3, **paper},
            "numComments": 1}


def reasons(report):
    return {e.where.split(": ", 1)[1]: e.reason for e in report.errors}


# --- row 1: only http(s) links ------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://github.com/a/b", "http://example.org", "HTTPS://Example.org/x?y=1#z",
    "https://github.com/a/b\\_c",  # LaTeX abstracts escape underscores
])
def test_safe_urls(url):
    assert is_safe_url(url)


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\nscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:x", "//evil.example/x", "/admin",
    "https://", "https:///x", "https://a b", "https://x\x00y", 'https://x"onmouseover="alert(1)',
    "https://evil.example\\@github.com/", "ftp://x", "https://x/" + "a" * 3000, None, 5, ["https://x"],
])
def test_unsafe_urls(url):
    assert not is_safe_url(url)


@pytest.mark.parametrize("workers", [0, 2])
def test_jsonl_links_that_are_not_http_are_dropped_and_the_paper_kept(db, tmp_path, workers):
    bad = native("2401.00001", abs_url="javascript:alert(1)", pdf_url="data:text/html,x",
                 project_page=" javascript:alert(2)", code_urls=["javascript:alert(3)", "https://github.com/a/b", 7])
    minimal = {"id": "doc-1", "title": "T", "abstract": "A", "url": "javascript:alert(4)"}
    path = jsonl(tmp_path, bad, minimal, *[native(f"2401.{n:05d}") for n in range(2, 6)])
    report = import_file(db, path, workers=workers, batch_size=2)
    assert (report.read, report.skipped, report.trimmed) == (6, 0, 2)
    assert "javascript:alert(1)" in report.notes[0].reason and report.notes[0].where == "in.jsonl: line 1"
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        assert (paper.abs_url, paper.pdf_url, paper.project_page) == (None, None, None)
        assert paper.code_urls == ["https://github.com/a/b"]
        assert get_paper(s, "doc-1").abs_url is None


def test_hf_repo_and_project_page_must_be_http(db, tmp_path):
    items = [hf_item("2401.00001", githubRepo="javascript:alert(document.cookie)", projectPage="javascript:x"),
             hf_item("2401.00002", githubRepo="https://github.com/a/b", projectPage="https://a.example/")]
    path = tmp_path / "hf.json"
    path.write_bytes(orjson.dumps(items))
    report = import_file(db, path)
    assert (report.read, report.skipped, report.trimmed) == (2, 0, 1)
    with db.session() as s:
        evil, good = get_paper(s, "2401.00001"), get_paper(s, "2401.00002")
        assert (evil.code_urls, evil.project_page) == ([], None)
        assert (good.code_urls, good.project_page) == (["https://github.com/a/b"], "https://a.example/")


# --- row 2: ids that cannot be a paper id ----------------------------------------


@pytest.mark.parametrize("value", [
    "2401.00001", "2401.00001v2", "0704.0001", "hep-th/9901001", "hep-th/9901001v3", "math.GT/0309136",
    "doc-1", "x1", "4983", "scifact-12v2", "2503.15983x0", "MED-10", "a_b.c",
])
def test_paper_ids(value):
    assert is_paper_id(value)


@pytest.mark.parametrize("value", [
    "cspt/../../../admin/users/bob_1/ban?x=", "a/b", "hep-th/../x", "..", "a..b", ".x", "a?b", "a#b",
    "a%2e", "a b", " a", "a\t", "a\x00", "a\x1b", "javascript:alert(1)", "/abs", "x" * 101, "", "é", None, 5,
])
def test_not_paper_ids(value):
    assert not is_paper_id(value)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_path_as_an_id_is_skipped_with_the_reason(db, tmp_path, workers):
    evil = "cspt/../../../admin/users/bob_1/ban?x="
    path = jsonl(tmp_path, native(evil), native("2401.00002"), native("a?b"), native("hep-th/9901001"),
                 name="mixed.jsonl")
    report = import_file(db, path, fmt="jsonl", workers=workers, batch_size=1)
    assert (report.read, report.skipped) == (2, 2)
    assert reasons(report) == {"line 1": f"not a paper id: {evil!r}", "line 3": "not a paper id: 'a?b'"}
    with db.session() as s:
        assert sorted(s.scalars(select(Paper.id))) == ["2401.00002", "hep-th/9901001"]


def test_a_path_as_an_id_is_refused_from_feeds():
    feed = f"""<feed xmlns="{ATOM_NS}"><entry><id>http://arxiv.org/abs/cspt/../../admin/x?y=</id>
    <title>T</title><summary>S</summary></entry></feed>""".encode()
    [(where, item)] = parse_atom_page(feed).items
    assert isinstance(item, MalformedRecord) and str(item).startswith("not a paper id")
    [(_, hf)] = parse_hf_items([hf_item("../admin")])
    assert isinstance(hf, MalformedRecord) and str(hf) == "not a paper id: '../admin'"


# --- row 10: badly typed records ----------------------------------------------------

BAD_NATIVE = [
    (native("2401.10001", categories=[1, 2]), "categories must be a list of strings"),
    (native("2401.10002", sources=5), "sources must be a list of strings"),
    (native("2401.10003", versions="v1"), "bad version entry"),
    (native("2401.10004", entries=[{"day": DAY, "upvotes": "many"}]), "bad daily entry"),
    (native("2401.10005", entries=[{"day": DAY, "upvotes": 1e30}]), "bad daily entry"),
    (native("2401.10006", entries=5), "entries must be a list"),
    (native("2401.10007", entries=[[1]]), "bad entry"),
    (native("2401.10008", version="3"), "bad version"),
    (native("2401.10009", version=99999999999999999999 // 10**5), "bad version"),
    (native("2401.10010", comments=["x"]), "comments must be text"),
    (native("2401.10011", authors=[{"name": 5}]), "bad author name"),
    (native("2401.10012", extra=[1]), "extra must be an object"),
    (native("2401.10013", submitted_at="9999-12-31T00:00:00"), "bad submitted_at"),
    (native("2401.10014", entries=[{"day": DAY, "source": "x" * 40}]), "bad daily entry"),
    ({"id": "2401.10015", "title": "T", "abstract": {"a": 1}}, "expected text"),
    # PostgreSQL refuses NUL in text and JSON: one such record used to fail its whole batch
    (native("2401.10016", abstract="a\x00b"), "abstract contains a NUL character"),
    (native("2401.10017", authors=[{"name": "A", "last": "\x00", "first": "", "suffix": ""}]), "bad author name"),
    (native("2401.10018", extra={"k": "\x00"}), "extra contains a NUL character"),
]
BAD_SNAPSHOT = [
    (snapshot("2401.20001", categories=["cs.LG"]), "categories must be space-separated text"),
    (snapshot("2401.20002", versions=5), "versions must be a list"),
    (snapshot("2401.20003", versions=[{"version": "v99999999999999999999", "created": "Mon, 1 Jan 2024 10:00:00 GMT"}]),
     "bad version entry"),
    (snapshot("2401.20004", authors_parsed=5), "authors_parsed must be a list"),
    (snapshot("2401.20005", authors_parsed=[[1, 2, 3]]), "bad authors_parsed entry"),
    (snapshot("2401.20006", authors_parsed=[["Lovelace", 5, ""]]), "bad author name"),
    (snapshot("2401.20007", versions=[{"version": "v1", "created": "Fri, 31 Dec 9999 23:00:00 -0500"}]),
     "bad version entry"),
    (snapshot("2401.20008", announce_date="9999-12-31"), "bad announced_on"),
    (snapshot("2401.20009", title=["x"]), "expected text"),
]


@pytest.mark.parametrize("fmt, bad", [("jsonl", BAD_NATIVE), ("snapshot", BAD_SNAPSHOT)])
@pytest.mark.parametrize("workers", [0, 2])
def test_badly_typed_records_are_skipped_and_the_rest_imports(db, tmp_path, fmt, bad, workers):
    good = native if fmt == "jsonl" else snapshot
    lines = [good("2401.00001")] + [obj for obj, _ in bad] + [good("2401.00002")]
    report = import_file(db, jsonl(tmp_path, *lines), fmt=fmt, workers=workers, batch_size=3)
    assert (report.read, report.skipped) == (2, len(bad))
    for (line, reason), (_, expected) in zip(sorted(reasons(report).items(), key=lambda kv: int(kv[0][5:])), bad):
        assert reason.startswith(expected), (line, reason, expected)
    with db.session() as s:
        assert sorted(s.scalars(select(Paper.id))) == ["2401.00001", "2401.00002"]


@pytest.mark.parametrize("upvotes", ["many", 1e30, 2.5, True, [1], {"n": 1}])
def test_hf_counts_must_be_whole_numbers(upvotes):
    [(_, item)] = parse_hf_items([hf_item(upvotes=upvotes)])
    assert isinstance(item, MalformedRecord) and str(item).startswith("bad count")


def test_hf_counts_are_bounded_and_stored_as_ints(db, tmp_path):
    items = [hf_item("2401.00001", upvotes=MAX_COUNT + 1), hf_item("2401.00002", upvotes=-5),
             hf_item("2401.00003", upvotes=7), hf_item("2401.00004", authors=5), hf_item("2401.00005", summary=[1])]
    path = tmp_path / "hf.json"
    path.write_bytes(orjson.dumps(items))
    report = import_file(db, path)
    assert (report.read, report.skipped) == (2, 3)
    assert reasons(report)["item 1"].startswith("bad daily entry")
    with db.session() as s:
        assert sorted(s.execute(select(Paper.id, DailyEntry.upvotes).join(DailyEntry.paper))) == [
            ("2401.00002", 0), ("2401.00003", 7)]


def test_arxiv_raw_version_that_overflows_is_skipped():
    raw = "http://arxiv.org/OAI/arXivRaw/"
    record = """<record><header><identifier>oai:arXiv.org:{id}</identifier></header><metadata>
      <arXivRaw xmlns="{raw}"><id>{id}</id><title>T</title><abstract>A</abstract>
      <version version="{v}"><date>Mon, 1 Jan 2024 10:00:00 GMT</date></version></arXivRaw></metadata></record>"""
    doc = ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
           + record.format(id="2401.00001", raw=raw, v="v99999999999999999999")
           + record.format(id="2401.00002", raw=raw, v="v2")
           + "</ListRecords></OAI-PMH>").encode()
    (_, bad), (_, good) = parse_oai_page(doc).items
    assert isinstance(bad, MalformedRecord) and str(bad).startswith("bad version element")
    assert good.version == 2


# --- row 11: XML salvage in linear time ---------------------------------------------


def test_salvage_finds_the_same_items_as_the_lazy_pattern():
    lazy = re.compile(r"<entry(?=[\s>/]).*?</entry\s*>", re.S)
    for text in ["<feed><entry>a</entry><entry>b</entry ></feed>", "<feed><entry>a<entry>b</entry>c</entry></feed>",
                 "<feed><entry/>x</entry><entryx>y</entryx><entry\n>z</feed>", "<feed></entry><entry>q</entry></feed>"]:
        assert [text[a:b] for a, b in item_spans(text, "entry")] == lazy.findall(text)


def salvage_cpu_seconds(n: int) -> float:
    """CPU time (not wall-clock time) to salvage a feed of n unclosed entries, best of three."""
    doc = (f'<feed xmlns="{ATOM_NS}"><title>t</title>' + "<entry><id>x</id>" * n + "</feed>").encode()
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        with pytest.raises(MalformedRecord):
            split_items(doc, "entry", ATOM_NS)
        best = min(best, time.process_time() - start)
    return best


def test_salvage_of_unclosed_entries_takes_linear_time():
    # 16x the entries: ~16x the time when linear, ~256x when quadratic (the lazy pattern took
    # 4.2 s at 5,000 and 23 s at 20,000). The bound leaves room for a noisy, shared machine.
    small, large = salvage_cpu_seconds(1_000), salvage_cpu_seconds(16_000)
    assert large < 64 * max(small, 0.001), (small, large)


# --- row 16: field sizes ---------------------------------------------------------------


@pytest.mark.parametrize("fields, reason", [
    ({"abstract": "a" * (MAX_ABSTRACT + 1)}, "abstract too long"),
    ({"title": "t" * (MAX_TITLE + 1)}, "title too long"),
    ({"authors": [{"name": "A", "last": "", "first": "", "suffix": ""}] * (MAX_AUTHORS + 1)}, "too many authors"),
    ({"authors": [{"name": "A" * 1001, "last": "", "first": "", "suffix": ""}]}, "bad author name"),
    ({"comments": "c" * 10_001}, "comments too long"),
    ({"doi": "1" * 256}, "doi too long"),
    ({"categories": ["c" * 65]}, "bad category"),
    ({"extra": {"k": "v" * 30_000}}, "extra too large"),
])
def test_oversize_fields_skip_the_record(fields, reason):
    with pytest.raises(MalformedRecord, match=reason):
        parse_native_object(native(**fields))


def test_largest_real_records_fit_the_limits():
    rec = PaperRecord(id="1503.07589", title="T" * 300, abstract="A" * 1920, source="snapshot",
                      authors=[parse_author("Author Name")] * 5200).validate()
    assert len(rec.authors) == 5200


def parse_author(name):
    from paperfeed.ingest.normalize import parse_author_name

    return parse_author_name(name)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_giant_line_is_skipped_without_holding_it(db, tmp_path, workers):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        out.write(orjson.dumps(native("2401.00001")) + b"\n")
        out.write(b'{"format": "paperfeed", "id": "2401.00002", "title": "T", "abstract": "')
        out.write(b"a" * (5 << 20))  # past the 4 MiB line limit
        out.write(b'"}\n')
        out.write(orjson.dumps(native("2401.00003")) + b"\n")
    report = import_file(db, path, workers=workers, batch_size=1)
    assert (report.read, report.skipped) == (2, 1)
    assert reasons(report) == {"line 2": "line too long: over 4194304 bytes"}


def test_long_lines_are_cut_while_reading():
    stream = io.BytesIO(b"short\n" + b"x" * 100_000 + b"\nnext\nlast")
    assert [len(line) for line in bounded_lines(stream, limit=1000)] == [6, 1002, 5, 4]
    stream = io.BytesIO(b"x" * 5000 + b"\n" + b'{"id": 1}\n')
    lines = list(iter_jsonl(stream, parse_native_object))
    assert [where for where, _ in lines] == ["line 1", "line 2"]


def test_a_huge_text_field_is_refused_before_it_is_split_into_words():
    with pytest.raises(MalformedRecord, match="text field too long"):
        parse_native_object({"id": "x", "title": "T", "abstract": "a " * 600_000})


def test_whole_documents_are_read_up_to_a_limit():
    assert read_document(io.BytesIO(b"x" * 10), limit=10) == b"x" * 10
    with pytest.raises(MalformedRecord, match="document too large"):
        read_document(io.BytesIO(b"x" * 11), limit=10)


def test_the_largest_day_is_bounded():
    # a paper dated 9999-12-31 would make every page's "next day" overflow
    [(_, item)] = parse_hf_items([hf_item(submittedOnDailyAt="9999-12-31T00:00:00Z")])
    assert isinstance(item, MalformedRecord) and str(item).startswith("bad daily entry")
    ok = PaperRecord(id="2401.00001", title="T", announced_on=date(2026, 1, 1)).validate()
    assert ok.announced_on.year == 2026


def test_the_cli_says_what_it_dropped_and_skipped(settings, db):
    from click.testing import CliRunner

    from paperfeed.cli import cli

    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    lines = orjson.dumps(native("2401.00001", project_page="javascript:alert(1)")) + b"\n" \
        + orjson.dumps(native("../x")) + b"\n"
    result = CliRunner().invoke(cli, ["import", "-"], env=env, input=lines, catch_exceptions=False)
    assert "skipped -: line 2: not a paper id: '../x'" in result.output
    assert "imported -: line 1 but dropped project_page 'javascript:alert(1)'" in result.output
    assert "read 1, inserted 1" in result.output and "unsafe links dropped from 1" in result.output
