"""Feedback through the API: validation errors name the field, idempotency keys store once, pages page."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from storage.db import make_engine
from storage.models import Feedback


def _take_id(api, index=0) -> int:
    detail = api.client.get(f"/api/renders/{api.first_render}", headers=api.h("producer")).json()
    return detail["shots"][index]["take"]["id"]


def _count(api, **where) -> int:
    engine = make_engine(api.url)
    try:
        with engine.connect() as conn:
            stmt = select(func.count()).select_from(Feedback)
            for name, value in where.items():
                stmt = stmt.where(getattr(Feedback, name) == value)
            return conn.execute(stmt).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": 7}, "body.rating"),
        ({"rating": "great"}, "body.rating"),
        ({"regions": [{"t": 1, "x": 1.5, "y": 0, "w": 0.1, "h": 0.1}]}, "body.regions.0.x"),
        ({"regions": [{"t": 1, "x": 0.2, "y": 0.1, "w": 0.1}]}, "body.regions.0.h"),
        ({"regions": [{"t": 1, "x": 0.8, "y": 0.1, "w": 0.5, "h": 0.1}]}, "body.regions.0"),
        ({"ratng": 3}, "body.ratng"),
        ({"tags": ["artefact", "blurry"]}, "body.tags.1"),
        ({"t_start": 3, "t_end": 1}, "body"),
        ({"comment": "x" * 5000}, "body.comment"),
    ],
)
def test_malformed_feedback_is_422_with_the_field_path(api, change, field):
    body = {"take_id": _take_id(api), "rating": 3, **change}
    response = api.client.post("/api/feedback", json=body, headers=api.h("producer"))
    assert response.status_code == 422, response.text
    fields = [d["field"] for d in response.json()["detail"]]
    assert field in fields, fields


def test_no_target_and_unknown_rows(api):
    r = api.client.post("/api/feedback", json={"rating": 3}, headers=api.h("producer"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    r = api.client.post("/api/feedback", json={"take_id": 987654, "rating": 3}, headers=api.h("producer"))
    assert r.status_code == 404 and "take 987654 does not exist" in r.json()["detail"]
    r = api.client.post(
        "/api/feedback", json={"render_id": api.first_render, "shot_id": "sc42-sh01", "rating": 3},
        headers=api.h("producer"),
    )  # fmt: skip
    assert r.status_code == 404 and "sc42-sh01" in r.json()["detail"]
    r = api.client.post(
        "/api/feedback",
        content=b"{not json",
        headers=api.h("producer", **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 422


def test_same_idempotency_key_twice_stores_one_row(api):
    key = f"fb-{uuid.uuid4()}"
    body = {
        "take_id": _take_id(api, 1), "rating": 2, "tags": ["lip_sync_off"], "comment": "drift",
        "t_start": 1.2, "t_end": 1.8, "regions": [{"t": 1.5, "x": 0.3, "y": 0.2, "w": 0.4, "h": 0.25}],
    }  # fmt: skip
    first = api.client.post("/api/feedback", json=body, headers=api.h("producer", **{"Idempotency-Key": key}))
    again = api.client.post("/api/feedback", json=body, headers=api.h("producer", **{"Idempotency-Key": key}))
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["regions"][0]["w"] == 0.4 and first.json()["target"] == "take"
    assert _count(api, idempotency_key=key) == 1
    conflict = api.client.post(
        "/api/feedback", json={**body, "rating": 5}, headers=api.h("producer", **{"Idempotency-Key": key})
    )
    assert conflict.status_code == 409 and "already used" in conflict.json()["detail"]
    assert _count(api, idempotency_key=key) == 1


def test_feedback_pages(api):
    take_id = _take_id(api, 2)
    for rating in (1, 2, 3, 4, 5):
        r = api.client.post(
            "/api/feedback", json={"take_id": take_id, "rating": rating}, headers=api.h("producer")
        )
        assert r.status_code == 201
    page = api.client.get(
        "/api/feedback", params={"shot_id": "sc02-sh01", "limit": 2}, headers=api.h("analyst")
    )
    body = page.json()
    assert body["total"] == 5 and [i["rating"] for i in body["items"]] == [5, 4] and body["next_offset"] == 2
    last = api.client.get(
        "/api/feedback", params={"shot_id": "sc02-sh01", "limit": 2, "offset": 4}, headers=api.h("analyst")
    ).json()
    assert [i["rating"] for i in last["items"]] == [1] and last["next_offset"] is None
    bad = api.client.get("/api/feedback", params={"limit": 0}, headers=api.h("analyst"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "query.limit"


def test_request_size_limit(api):
    huge = {"take_id": _take_id(api), "comment": "x" * (80 * 1024)}
    r = api.client.post("/api/feedback", json=huge, headers=api.h("producer"))
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(100):
            yield b"x" * 1024

    r = api.client.post(
        "/api/metrics/import?format=csv",
        content=chunks(),
        headers=api.h("ingester", **{"Content-Type": "text/csv"}),
    )
    assert r.status_code == 413
