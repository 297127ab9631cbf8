"""Every API route refuses a missing, malformed or wrong token; roles limit what a valid token may do."""

from __future__ import annotations

import re

import pytest

BAD_HEADERS = {
    "missing": {},
    "wrong token": {"Authorization": "Bearer rw_this-token-was-never-issued-000000000000000"},
    "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty bearer": {"Authorization": "Bearer "},
}


def _operations(client):
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method in ops:
            yield method.upper(), re.sub(r"\{[^}]+\}", "1", path)


def test_openapi_lists_the_api(api):
    ops = set(_operations(api.client))
    assert ("POST", "/api/feedback") in ops and ("GET", "/api/renders/1/video") in ops
    assert len(ops) >= 25


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_every_endpoint_but_health_rejects_bad_tokens(api, case):
    checked = 0
    for method, path in _operations(api.client):
        response = api.client.request(method, path, headers=BAD_HEADERS[case], json={})
        if path == "/health":
            assert response.status_code == 200
            continue
        assert response.status_code == 401, (
            f"{method} {path} answered {response.status_code} without a valid token"
        )
        assert response.headers.get("www-authenticate", "").startswith("Bearer")
        checked += 1
    assert checked >= 25


def test_signed_media_urls_are_bound_to_path_and_expiry(api):
    detail = api.client.get(f"/api/renders/{api.first_render}", headers=api.h("producer")).json()
    url = detail["video_url"]
    assert api.client.get(url).status_code == 200
    other = url.replace(f"/renders/{api.first_render}/", "/renders/999/")
    assert api.client.get(other).status_code == 401
    tampered = re.sub(r"exp=\d+", "exp=9999999999", url)
    assert api.client.get(tampered).status_code == 401
    expired = re.sub(r"exp=\d+", "exp=1000", url)
    assert api.client.get(expired).status_code == 401


def test_roles(api):
    c = api.client
    take_id = c.get(f"/api/renders/{api.first_render}", headers=api.h("producer")).json()["shots"][0]["take"][
        "id"
    ]
    rate = {"take_id": take_id, "rating": 4}
    metrics = {"records": [{"episode_id": api.episode_id, "day": "2026-11-20", "views": 10}]}
    # ingester: reads and posts viewer metrics, cannot rate, decide or render
    assert c.get("/api/series", headers=api.h("ingester")).status_code == 200
    assert c.post("/api/metrics", json=metrics, headers=api.h("ingester")).status_code == 200
    denied = c.post("/api/feedback", json=rate, headers=api.h("ingester"))
    assert denied.status_code == 403 and "cannot rate" in denied.json()["detail"]
    assert (
        c.post(f"/api/episodes/{api.episode_id}/renders", json={}, headers=api.h("ingester")).status_code
        == 403
    )
    retake = {"kind": "retake", "render_id": api.first_render, "shot_id": "sc01-sh01"}
    assert c.post("/api/decisions", json=retake, headers=api.h("ingester")).status_code == 403
    # analyst: metrics and models, no rating
    assert c.post("/api/feedback", json=rate, headers=api.h("analyst")).status_code == 403
    # producer: rates, cannot ingest or manage users
    assert c.post("/api/feedback", json=rate, headers=api.h("producer")).status_code == 201
    assert c.post("/api/metrics", json=metrics, headers=api.h("producer")).status_code == 403
    new_user = {"name": "zoe", "role": "producer"}
    assert c.post("/api/users", json=new_user, headers=api.h("producer")).status_code == 403
    # admin creates a user whose token works at once
    made = c.post("/api/users", json=new_user, headers=api.h("admin"))
    assert made.status_code == 201
    me = c.get("/api/me", headers={"Authorization": f"Bearer {made.json()['token']}"}).json()
    assert me["name"] == "zoe" and "rate" in me["permissions"] and "ingest" not in me["permissions"]
