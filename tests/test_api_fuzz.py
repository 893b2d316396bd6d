"""Schemathesis against /openapi.json of an app over a small real database (SQLite and
PostgreSQL): whatever the generated input, never a 5xx (issue 12 keeps this fixed).

Requests carry a write-scoped API token of a verified user, so write routes run their real
code rather than stopping at the sign-in or CSRF check. Bounded: a fixed number of
examples per operation, derandomized so a failure reproduces."""

from __future__ import annotations

import httpx
import pytest

from community_kit import add_user, make_app
from hostile_kit import DAY, EVIL_ID, TRAVERSAL_ID, add_hostile
from paperfeed.accounts import create_api_token
from paperfeed.index.sync import sync_index
from paperfeed.store.users import get_user_by_name

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")
EXAMPLES_PER_OPERATION = 40
ODD_QUERIES = ["a\x01b", "author:_", '"_ _"', "author:" + "x" * 60, "é" * 30]
# The probe's findings, tried first on every run: random generation rarely hits a day with
# hostile data or a date at the end of the calendar.
SEEDS = {
    "/feeds/date/{day}.{fmt}": [{"path_parameters": {"day": d, "fmt": f}}
                                for d in (DAY.isoformat(), "9999-12-31", "0001-01-01") for f in ("rss", "atom")],
    "/feeds/latest.{fmt}": [{"path_parameters": {"fmt": f}} for f in ("rss", "atom")],
    "/feeds/trending.{fmt}": [{"path_parameters": {"fmt": f}} for f in ("rss", "atom")],
    "/feeds/search.{fmt}": [{"path_parameters": {"fmt": "rss"}, "query": {"q": q}} for q in ODD_QUERIES],
    "/api/papers/search": [{"query": {"q": q, "mode": m}} for q in ODD_QUERIES for m in ("keyword", "hybrid")],
    "/api/daily_papers": [{"query": {"month": "9999-12"}}, {"query": {"week": "9999-W52"}},
                          {"query": {"date": "9999-12-31"}}, {"query": {"date": DAY.isoformat()}}],
    "/api/papers/{paper_id}": [{"path_parameters": {"paper_id": i}} for i in (EVIL_ID, TRAVERSAL_ID, "..")],
    "/api/papers/{paper_id}/comments": [{"path_parameters": {"paper_id": EVIL_ID},
                                         "body": {"body": "hi", "parent": 10**20}}],
}


@pytest.fixture
def api(settings, db):
    add_hostile(db)
    sync_index(db, settings)
    settings = settings.model_copy(update={"arxiv_min_interval": 0.0})
    app = make_app(settings, db, transport=httpx.MockTransport(lambda request: httpx.Response(404)))
    add_user(db, settings, "fuzzer")
    with db.session() as session:
        _, raw = create_api_token(session, get_user_by_name(session, "fuzzer"), "fuzz", ["read", "write"])
    return app, raw


def test_no_generated_request_gets_a_server_error(api):
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hsettings
    from schemathesis.checks import not_a_server_error

    app, token = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, calls = [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=_cases(operation))
        @hsettings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def check(case):
            try:
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                calls.append(response.status_code)
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as exc:  # collect every operation's failure, not just the first
                failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:2000])
                raise

        for seed in SEEDS.get(operation.path, []) if operation.method.upper() in ("GET", "POST") else []:
            try:
                status = operation.Case(**seed).call(headers={"Authorization": f"Bearer {token}"}).status_code
            except Exception as exc:  # the in-process transport raises the app's exception itself
                status = f"{type(exc).__name__}: {exc}"
            calls.append(status)
            if not isinstance(status, int) or status >= 500:
                failures.append(f"{operation.label} {seed}: {status}")
        try:
            check()
        except Exception:
            pass
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= 5 * EXAMPLES_PER_OPERATION  # it did run


def _cases(operation):
    """Valid and invalid input both: an invalid value must be a 4xx as well."""
    from hypothesis import strategies as st

    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    return st.one_of([operation.as_strategy(generation_mode=mode) for mode in modes])
