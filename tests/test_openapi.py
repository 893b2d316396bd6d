"""/openapi.json (issue 14): a valid OpenAPI document that says what the API really sends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_helpers import load_demo, make_app

JSON_ROUTES = {("/api/daily_papers", "get"): "200", ("/api/papers/search", "get"): "200",
               ("/api/papers/{paper_id}", "get"): "200", ("/api/me", "get"): "200",
               ("/api/papers/{paper_id}/upvote", "post"): "200", ("/api/papers/{paper_id}/upvote", "delete"): "200",
               ("/api/papers/{paper_id}/comments", "post"): "201", ("/api/submit", "post"): "201"}
FEEDS = ["/feeds/latest.{fmt}", "/feeds/date/{day}.{fmt}", "/feeds/trending.{fmt}", "/feeds/search.{fmt}"]


@pytest.fixture
def spec(settings, db):
    with TestClient(make_app(settings, db)) as client:
        yield client.get("/openapi.json").json()


def _schema(spec, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref") or ref_or_schema.get("items", {}).get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def test_the_schema_is_valid_openapi(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)


def test_every_json_route_documents_its_body(spec):
    for (path, method), status in JSON_ROUTES.items():
        body = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        assert _schema(spec, body).get("properties"), (path, method, body)
    paper = spec["components"]["schemas"]["PaperDetail"]["properties"]
    assert {"id", "title", "numComments", "arxivComments", "dailyDates"} <= set(paper)
    assert spec["paths"]["/api/daily_papers"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"]["type"] == "array"


def test_api_errors_are_documented_as_error_bodies(spec):
    responses = spec["paths"]["/api/daily_papers"]["get"]["responses"]
    for status in ("400", "404", "422"):
        assert responses[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"}
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # never what we send


def test_feeds_are_documented_as_xml_with_a_format_enum(spec):
    for path in FEEDS:
        operation = spec["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/rss+xml", "application/atom+xml"}
        fmt = next(p for p in operation["parameters"] if p["name"] == "fmt")
        assert fmt["schema"]["enum"] == ["rss", "atom"]
        assert "422" not in operation["responses"]  # pages and feeds answer a bad parameter with 400


def test_sort_and_mode_are_enums(spec):
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/daily_papers"]["get"]["parameters"]}
    assert params["sort"]["enum"] == ["trending", "publishedAt"]
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/papers/search"]["get"]["parameters"]}
    assert set(params["mode"]["enum"]) == {"keyword", "semantic", "hybrid"}


def test_token_routes_declare_the_bearer_scheme(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {"type": "http", "scheme": "bearer", "description": schemes["HTTPBearer"][
        "description"]}
    assert spec["paths"]["/api/me"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/api/daily_papers"]["get"]  # reading needs no account


def test_real_bodies_match_their_documented_schemas(settings, db):
    validator = pytest.importorskip("openapi_schema_validator")
    load_demo(db, lines=300)
    with TestClient(make_app(settings, db)) as client:
        spec = client.get("/openapi.json").json()
        day = client.get("/api/daily_papers?limit=5").json()
        calls = {("/api/daily_papers", "200"): day,
                 ("/api/papers/search", "200"): client.get("/api/papers/search?q=model&mode=keyword&limit=5").json(),
                 ("/api/papers/{paper_id}", "200"): client.get(f"/api/papers/{day[0]['paper']['id']}").json(),
                 ("/api/papers/{paper_id}", "404"): client.get("/api/papers/0000.00000").json(),
                 ("/api/daily_papers", "422"): client.get("/api/daily_papers?p=x").json()}
    assert all(calls.values())  # each body has something in it to check
    for (path, status), body in calls.items():
        schema = spec["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
        validator.validate(body, {**schema, "components": spec["components"]}, cls=validator.OAS31Validator)
