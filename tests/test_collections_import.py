"""Reference-manager import (issue 18): real-shaped Zotero BibTeX, Mendeley RIS and
Paperpile CSL-JSON files, matched by arXiv id, DOI and title, through the web upload, the
API and the CLI. Bad or huge files give a clear error and import nothing."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner
from collections_kit import token, world
from community_kit import add_paper
from conftest import FIXTURES
from sqlalchemy import func, select, update

from paperfeed.cli import cli
from paperfeed.ingest.library import MAX_ENTRIES, MAX_FILE_BYTES, LibraryError, parse_library, title_key
from paperfeed.models import Collection, CollectionItem, Paper
from paperfeed.store.collections import collection_paper_pks

LIBRARY = FIXTURES / "library"
EXPECTED = {"bib": (5, {"arxiv": 2, "doi": 1, "title": 1}), "ris": (4, {"arxiv": 1, "doi": 1, "title": 1}),
            "json": (4, {"arxiv": 1, "doi": 1, "title": 1})}
FILES = {"bib": "zotero.bib", "ris": "mendeley.ris", "json": "paperpile.json"}


@pytest.fixture
def app_world(settings, db):
    found = world(settings, db)
    add_paper(db, "2606.00003", title="Mixture-of-experts at scale: a study")
    with db.session() as s:  # the journal version's DOI, in another case than the files use
        s.execute(update(Paper).where(Paper.id == "2606.00002").values(doi="10.5555/Prot.2026.42"))
    return found


def _counts(db) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(Collection)),
                s.scalar(select(func.count()).select_from(CollectionItem)))


def _upload(c, name: str, data: bytes, title: str = "Imported library"):
    return c.post("/collections/import", files={"file": (name, data)},
                  data={"csrf_token": c.csrf(), "title": title}, follow_redirects=False)


@pytest.mark.parametrize("kind", ["bib", "ris", "json"])
def test_each_format_becomes_a_private_collection(app_world, db, kind):
    _, ada, _, anon = app_world
    r = _upload(ada, FILES[kind], (LIBRARY / FILES[kind]).read_bytes(), title="My Zotero")
    assert r.status_code == 201, r.text
    total, matched = EXPECTED[kind]
    added = sum(matched.values())
    assert f"{added} of {total} references" in r.text and "The Art of Computer Programming" in r.text
    with db.session() as s:
        ada_pk = s.scalar(select(Collection.owner_pk))
        assert s.scalar(select(Collection.visibility)) == "private"
        saved = collection_paper_pks(s, ada_pk)
        ids = set(s.scalars(select(Paper.id).where(Paper.pk.in_(saved))))
    assert len(ids) == added and "2606.00003" in ids
    assert anon.get("/c/ada/my-zotero").status_code == 404
    assert ada.get("/c/ada/my-zotero").status_code == 200


def test_a_second_import_gets_its_own_address(app_world, db):
    _, ada, _, _ = app_world
    data = (LIBRARY / "zotero.bib").read_bytes()
    assert _upload(ada, "a.bib", data).status_code == 201
    assert _upload(ada, "a.bib", data).status_code == 201
    with db.session() as s:
        assert sorted(s.scalars(select(Collection.slug))) == ["imported-library", "imported-library-2"]


@pytest.mark.parametrize("name,data,status,message", [
    ("broken.bib", b"@article{a, title={Fine}}\n@article{b, title={Unclosed", 400, "syntax error"),
    ("notes.txt", b"just some notes, nothing more", 400, "Not a BibTeX"),
    ("binary.bib", b"\x89PNG\r\n\x1a\n\x00\x00", 400, "not a text file"),
    ("list.json", b'{"title": 1}', 400, "list of reference objects"),
    ("bad.json", b"[{]", 400, "could not be read"),
    ("empty.ris", b"\n\n", 400, "No references found"),
    ("many.bib", b"".join(b"@misc{k%d, title={T%d}}\n" % (i, i) for i in range(MAX_ENTRIES + 1)), 413, "limit"),
    ("huge.bib", b"%" * (MAX_FILE_BYTES + 10), 413, "limit"),
])
def test_bad_files_import_nothing(app_world, db, name, data, status, message):
    _, ada, _, _ = app_world
    before = _counts(db)
    r = _upload(ada, name, data)
    assert r.status_code == status and message in r.text, r.text[:500]
    assert _counts(db) == before


def test_an_upload_without_csrf_or_session_is_refused(app_world, db):
    _, ada, _, anon = app_world
    data = (LIBRARY / "zotero.bib").read_bytes()
    assert ada.post("/collections/import", files={"file": ("z.bib", data)}).status_code == 403
    assert _upload(anon, "z.bib", data).status_code == 303  # to sign in
    assert _counts(db) == (0, 0)


def test_api_import_and_round_trip_through_bibtex_and_ris(app_world, db):
    _, ada, _, _ = app_world
    h = token(db, "ada")
    r = ada.post("/api/me/library-import", files={"file": ("p.json", (LIBRARY / "paperpile.json").read_bytes())},
                 data={"title": "Paperpile"}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["added"] == 3 and body["unmatched"] == ["The Art of Computer Programming"]
    assert body["collection"]["visibility"] == "private" and body["collection"]["slug"] == "paperpile"
    ada.post("/api/collections", json={"title": "Everything"}, headers=h)
    for paper_id in ("2606.00001", "2606.00002", "2606.00003", "hep-th/9901001"):
        ada.put(f"/api/collections/ada/everything/papers/{paper_id}", headers=h)
    for fmt in ("bibtex", "ris"):
        exported = ada.get("/api/collections/ada/everything/export", params={"format": fmt}, headers=h).content
        r = ada.post("/api/me/library-import", files={"file": (f"x.{fmt}", exported)}, data={"title": fmt},
                     headers=h)
        assert r.json()["added"] == 4 and r.json()["unmatched"] == [], (fmt, r.text)
    bad = ada.post("/api/me/library-import", files={"file": ("x.bib", b"@article{")}, headers=h)
    assert bad.status_code == 400 and "syntax error" in bad.json()["error"]


def test_cli_import(app_world, db, settings):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["user", "import-library", "ada", str(LIBRARY / "mendeley.ris"),
                                      "--title", "Mendeley", "--json", "--no-progress"], env=env)
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.output)
    assert report["collection"] == "/c/ada/mendeley" and report["added"] == 3
    assert report["matched"] == {"arxiv": 1, "doi": 1, "title": 1}
    bad = LIBRARY.parent.parent / "conftest.py"  # not a library
    result = CliRunner().invoke(cli, ["user", "import-library", "ada", str(bad)], env=env)
    assert result.exit_code != 0 and "Nothing was imported" in result.output
    result = CliRunner().invoke(cli, ["user", "import-library", "nobody", str(LIBRARY / "mendeley.ris")], env=env)
    assert result.exit_code != 0 and "no user" in result.output


def test_titles_match_only_when_unambiguous(app_world, db):
    _, ada, _, _ = app_world
    add_paper(db, "2606.00004", title="Sparse attention for LONG documents!")  # a second paper, same title
    data = b"@misc{a, title={Sparse Attention for Long Documents}}\n@misc{b, title={Introduction}}"
    r = _upload(ada, "t.bib", data)
    assert r.status_code == 201 and "0 of 2 references" in r.text


def test_parsing_details():
    assert title_key("{Mixture}-of-{E}xperts at Scale: {\\'A} Study") == "mixture of experts at scale a study"
    refs = parse_library(b"@misc{k, eprint={2401.00001v3}, archivePrefix={arXiv}, doi={DOI:10.1000/X.Y}}")
    assert (refs[0].arxiv_id, refs[0].doi, refs[0].label) == ("2401.00001", "10.1000/x.y", "k")
    with pytest.raises(LibraryError):
        parse_library(b"@misc{k, title={x}")
