"""The upsert path's correctness rules, on SQLite and PostgreSQL."""

from datetime import date, datetime

from sqlalchemy import func, select

from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.models import DailyEntry, Paper
from paperfeed.store.papers import get_paper, upsert_records


def make(version=1, **kw) -> PaperRecord:
    base = dict(
        id="2401.00001",
        title=f"Title v{version}",
        abstract=f"Abstract of version {version}",
        authors=[Author("Ada Lovelace", "Lovelace", "Ada")],
        categories=["cs.LG", "stat.ML"],
        version=version,
        versions=[{"version": v, "created": datetime(2024, 1, v).isoformat()} for v in range(1, version + 1)],
        submitted_at=datetime(2024, 1, 1),
        updated_at=datetime(2024, 1, version),
        source="snapshot",
    )
    base.update(kw)
    return PaperRecord(**base)


def upsert(db, *records):
    with db.session() as s:
        return upsert_records(s, list(records))


def test_insert_then_reimport_changes_nothing(db):
    first = upsert(db, make(), make(id="2401.00002"))
    again = upsert(db, make(), make(id="2401.00002"))
    assert (first.inserted, first.updated) == (2, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_newer_version_replaces_fields_and_keeps_history(db):
    upsert(db, make(version=1))
    result = upsert(db, make(version=2))
    assert result.updated == 1
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        assert paper.title == "Title v2" and paper.version == 2
        assert [v["version"] for v in paper.versions] == [1, 2]
        assert paper.submitted_at == datetime(2024, 1, 1)
        assert paper.updated_at == datetime(2024, 1, 2)


def test_older_version_never_overwrites_newer(db):
    upsert(db, make(version=3))
    upsert(db, make(version=1, comments="old comment"))
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        assert paper.title == "Title v3" and paper.version == 3
        assert paper.abstract == "Abstract of version 3"
        # a field only the old version had still fills the gap
        assert paper.comments == "old comment"


def test_hf_and_arxiv_merge_without_losing_fields(db):
    upsert(db, make(doi="10.1/x", code_urls=["https://github.com/from/abstract"]))
    hf = PaperRecord(
        id="2401.00001", title="Title v1", source="hf", version=None,
        code_urls=["https://github.com/hf/repo"], project_page="https://proj.example",
        extra={"ai_keywords": ["kw"]},
        entries=[EntryRecord(day=date(2024, 1, 5), source="hf", upvotes=42, num_comments=3)],
    )
    result = upsert(db, hf)
    assert result.updated == 1 and result.entries_inserted == 1
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        assert paper.code_urls == ["https://github.com/hf/repo", "https://github.com/from/abstract"]
        assert paper.doi == "10.1/x" and paper.project_page == "https://proj.example"
        assert paper.abstract == "Abstract of version 1" and paper.categories == "cs.LG stat.ML"
        assert paper.sources == ["snapshot", "hf"] and paper.extra == {"ai_keywords": ["kw"]}
        assert [(e.source, e.upvotes, e.num_comments) for e in paper.entries] == [("hf", 42, 3)]


def test_hf_reimport_updates_counts_only_when_changed(db):
    entry = lambda up: [EntryRecord(day=date(2024, 1, 5), source="hf", upvotes=up, num_comments=0)]  # noqa: E731
    upsert(db, make(entries=entry(1)))
    same = upsert(db, make(entries=entry(1)))
    more = upsert(db, make(entries=entry(7)))
    assert (same.entries_inserted, same.entries_updated) == (0, 0)
    assert more.entries_updated == 1
    with db.session() as s:
        assert s.scalar(select(DailyEntry.upvotes)) == 7


def test_a_paper_appears_once_per_day(db):
    auto = [EntryRecord(day=date(2024, 1, 5), source="auto")]
    upsert(db, make(entries=auto), make(entries=auto))
    upsert(db, make(entries=auto))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(DailyEntry)) == 1
        assert s.scalar(select(func.count()).select_from(Paper)) == 1


def test_duplicates_inside_one_batch_fold_into_one_row(db):
    result = upsert(db, make(version=1), make(version=2))
    assert result.inserted == 1
    with db.session() as s:
        assert get_paper(s, "2401.00001").version == 2


def changed_at(db, paper_id="2401.00001"):
    with db.session() as s:
        return get_paper(s, paper_id).changed_at


def test_older_version_reimport_is_unchanged_once_its_gaps_are_filled(db):
    upsert(db, make(version=3))
    first = upsert(db, make(version=1, comments="old comment"))
    stamp = changed_at(db)
    again = upsert(db, make(version=1, comments="old comment"))
    # the incoming hash differs from the stored one, so this takes the full merge path
    assert (first.updated, again.updated, again.unchanged) == (1, 0, 1)
    assert changed_at(db) == stamp


def test_reimporting_either_source_of_a_merged_paper_changes_nothing(db):
    snapshot = make(code_urls=["https://github.com/from/abstract"])
    hf = PaperRecord(id="2401.00001", title="Title v1", source="hf", code_urls=["https://github.com/hf/repo"],
                     extra={"ai_keywords": ["kw"]})
    upsert(db, snapshot)
    upsert(db, hf)
    stamp = changed_at(db)
    results = [upsert(db, snapshot), upsert(db, hf), upsert(db, snapshot, hf)]
    assert [(r.inserted, r.updated, r.unchanged) for r in results] == [(0, 0, 1)] * 3
    assert changed_at(db) == stamp
    with db.session() as s:
        codes = get_paper(s, "2401.00001").code_urls
        assert codes == ["https://github.com/hf/repo", "https://github.com/from/abstract"]


def test_bulk_insert_stores_values_as_the_orm_reads_them(db):
    rec = make(
        submitted_at=datetime(2024, 1, 1, 8, 30, 15, 123456), announced_on=date(2024, 1, 3), withdrawn=True,
        authors=[Author("Zoë Ångström", "Ångström", "Zoë", "Jr.")], extra={"nested": {"b": [1, 2.5, None], "a": "ü"}},
        entries=[EntryRecord(day=date(2024, 1, 3), source="hf", upvotes=5, num_comments=2)],
    )
    assert upsert(db, rec).inserted == 1
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        assert paper.submitted_at == datetime(2024, 1, 1, 8, 30, 15, 123456)
        assert paper.announced_on == date(2024, 1, 3) and paper.withdrawn is True
        assert paper.authors == [{"name": "Zoë Ångström", "last": "Ångström", "first": "Zoë", "suffix": "Jr."}]
        assert paper.extra == {"nested": {"b": [1, 2.5, None], "a": "ü"}}
        assert paper.versions == [{"version": 1, "created": "2024-01-01T00:00:00"}]
        assert paper.created_at is not None and paper.changed_at == paper.created_at
        entry = paper.entries[0]
        # columns the bulk insert leaves out get their model defaults
        assert (entry.source, entry.upvotes, entry.num_comments, entry.hidden) == ("hf", 5, 2, False)
        # stored datetimes compare correctly with bound ones (same text format on SQLite)
        later = select(func.count()).select_from(Paper).where(Paper.submitted_at >= datetime(2024, 1, 1, 8))
        assert s.scalar(later) == 1
    assert upsert(db, rec).unchanged == 1


def test_json_columns_turn_non_string_keys_into_strings(db):
    from paperfeed.store.papers import get_state, set_state

    with db.session() as s:
        set_state(s, "checkpoint", {"token": "abc", 7: [1, 2]})
    with db.session() as s:
        assert get_state(s, "checkpoint") == {"token": "abc", "7": [1, 2]}


def test_a_hash_from_an_older_release_is_refreshed_without_counting_a_change(db):
    from sqlalchemy import update

    upsert(db, make())
    with db.session() as s:
        current = get_paper(s, "2401.00001").content_hash
        s.execute(update(Paper).values(content_hash="0" * 32))  # as an older hashing scheme left it
    stamp = changed_at(db)
    result = upsert(db, make())
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 1)
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        assert (paper.content_hash, paper.changed_at) == (current, stamp)
    assert upsert(db, make()).unchanged == 1
