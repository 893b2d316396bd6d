"""The real huggingface_hub client (HfApi with endpoint= this instance) against a served
instance: what an HF Daily Papers user's scripts call."""

from __future__ import annotations

import pytest
from community_kit import ServerThread, add_user
from huggingface_hub import HfApi
from sqlalchemy import select, update
from web_helpers import HF_DAY, load_demo, make_app

from paperfeed.models import DailyEntry, Paper

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def hub(db, settings, monkeypatch):
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    load_demo(db)
    with ServerThread(make_app(settings, db)) as server:
        yield HfApi(endpoint=server.url), server


def a_paper_on(api: HfApi, day) -> str:
    return next(iter(api.list_daily_papers(date=day.isoformat(), limit=1))).id


def test_paper_info_keeps_comment_counts_ints_and_knows_its_day(hub):
    api, _ = hub
    paper_id = a_paper_on(api, HF_DAY)
    info = api.paper_info(paper_id)
    assert info.id == paper_id and isinstance(info.comments, int)
    assert info.submitted_at is not None and info.submitted_at.date() == HF_DAY
    assert api.paper_info(f"{paper_id}v1").id == paper_id  # a versioned id names the paper


def test_list_papers_without_a_query_gives_recent_papers(hub):
    api, _ = hub
    papers = list(api.list_papers(limit=5))
    assert len(papers) == 5 and all(p.title for p in papers)


def test_daily_items_carry_links_at_the_top_level(hub):
    api, _ = hub
    papers = list(api.list_daily_papers(date=HF_DAY.isoformat(), limit=50))
    with_code = [p for p in papers if p.github_repo]
    assert with_code and all(p.github_repo.startswith("https://") for p in with_code)
    assert any(p.ai_summary for p in papers)


def test_submitter_filters_the_day_and_is_named(hub, db, settings):
    api, _ = hub
    paper_id = a_paper_on(api, HF_DAY)
    ann = add_user(db, settings, "ann")
    with db.session() as session:
        pk = session.scalar(select(Paper.pk).where(Paper.id == paper_id))
        session.execute(update(DailyEntry).where(DailyEntry.paper_pk == pk, DailyEntry.day == HF_DAY)
                        .values(source="user", submitted_by=ann))
    mine = list(api.list_daily_papers(date=HF_DAY.isoformat(), submitter="ann"))
    assert [p.id for p in mine] == [paper_id] and mine[0].submitted_by.username == "ann"
    assert list(api.list_daily_papers(date=HF_DAY.isoformat(), submitter="nobody-here")) == []


def test_read_paper_serves_markdown(hub):
    api, _ = hub
    paper_id = a_paper_on(api, HF_DAY)
    text = api.read_paper(paper_id)
    info = api.paper_info(paper_id)
    assert text.startswith(f"# {info.title}") and info.summary[:60] in text
