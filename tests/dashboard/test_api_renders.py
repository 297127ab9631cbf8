"""Renders through the API: trigger, watch status, play with HTTP ranges, request a retake; metrics import;
the model registry."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from dashboard.app import create_app


def test_render_detail_has_shot_markers_and_plays_with_ranges(api):
    detail = api.client.get(f"/api/renders/{api.first_render}", headers=api.h("producer")).json()
    assert detail["render"]["status"] == "succeeded"
    assert [(s["shot_id"], s["start"]) for s in detail["shots"]] == [
        ("sc01-sh01", 0.0),
        ("sc01-sh02", 1.0),
        ("sc02-sh01", 2.0),
    ]
    whole = api.client.get(detail["video_url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes" and whole.content[4:8] == b"ftyp"
    part = api.client.get(detail["video_url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    tail = api.client.get(detail["video_url"], headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    take = api.client.get(detail["shots"][1]["take"]["video_url"])
    assert take.status_code == 200 and take.content[4:8] == b"ftyp"


def test_trigger_render_runs_in_background_and_is_idempotent(api):
    key = f"render-{uuid.uuid4()}"
    headers = api.h("producer", **{"Idempotency-Key": key})
    r = api.client.post(f"/api/episodes/{api.episode_id}/renders", json={}, headers=headers)
    assert r.status_code == 201, r.text
    queued = r.json()
    assert queued["status"] in ("queued", "running", "succeeded") and queued["out_dir"].endswith(
        f"{queued['id']:05d}"
    )
    again = api.client.post(f"/api/episodes/{api.episode_id}/renders", json={}, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == queued["id"]
    done = api.wait(queued["id"])
    assert done["render"]["status"] == "succeeded", done["render"]["error"]
    assert len(done["shots"]) == 3 and done["video_url"]
    listed = api.client.get(
        "/api/renders", params={"episode_id": api.episode_id}, headers=api.h("analyst")
    ).json()
    assert queued["id"] in [r["id"] for r in listed["items"]]
    bad = api.client.post(
        f"/api/episodes/{api.episode_id}/renders",
        json={"retakes": {"sc99-sh99": 1}},
        headers=api.h("producer"),
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "body.retakes.sc99-sh99"


def test_retake_request_renders_the_next_take(api):
    r = api.client.post(
        "/api/decisions",
        json={
            "kind": "retake",
            "render_id": api.first_render,
            "shot_id": "sc01-sh02",
            "note": "wrong emotion",
        },
        headers=api.h("producer"),
    )
    assert r.status_code == 201, r.text
    decision = r.json()
    assert decision["take_number"] >= 1 and decision["retake_render_id"]
    done = api.wait(decision["retake_render_id"])
    assert done["render"]["status"] == "succeeded"
    shot = {s["shot_id"]: s for s in done["shots"]}["sc01-sh02"]
    assert shot["take"]["take"] == decision["take_number"]
    assert shot["take"]["asset_uri"].endswith(f"take{decision['take_number']}.mp4")
    approve = api.client.post(
        "/api/decisions", json={"kind": "approve", "take_id": shot["take"]["id"]}, headers=api.h("producer")
    )
    assert approve.status_code == 201 and approve.json()["take_number"] == decision["take_number"]
    listed = api.client.get(
        "/api/decisions", params={"episode_id": api.episode_id}, headers=api.h("producer")
    )
    assert {d["kind"] for d in listed.json()["items"]} >= {"approve", "retake"}


def test_a_failing_renderer_marks_the_render_failed(api, tmp_path):
    from tests.dashboard.fakes import FakeRenderer

    failing = FakeRenderer(api.url, fail=True)
    app = create_app(api.url, renderer=failing, renders_dir=tmp_path)
    with TestClient(app) as client:
        r = client.post(f"/api/episodes/{api.episode_id}/renders", json={}, headers=api.h("producer"))
        render_id = r.json()["id"]
        app.state.reelwright.jobs.wait(render_id, timeout=60)
        render = client.get(f"/api/renders/{render_id}", headers=api.h("producer")).json()["render"]
    failing.close()
    assert render["status"] == "failed" and "asked to fail" in render["error"] and render["finished_at"]


def test_no_renderer_is_503_with_a_hint(api, tmp_path):
    with TestClient(create_app(api.url, renderer=None, renders_dir=tmp_path)) as client:
        r = client.post(f"/api/episodes/{api.episode_id}/renders", json={}, headers=api.h("producer"))
    assert r.status_code == 503 and "reelwright serve" in r.json()["detail"]


CSV = "series,episode,source,day,views,watch_through,likes,shares,drop_off\n" \
      "The Last Delivery,1,douyin,2026-11-21,900,0.55,40,3,1;0.8;0.6\n"  # fmt: skip


def test_metrics_import_and_errors(api):
    headers = api.h("ingester", **{"Content-Type": "text/csv"})
    r = api.client.post("/api/metrics/import?format=csv", content=CSV, headers=headers)
    assert r.status_code == 200 and r.json()["stored"] == 1
    r = api.client.post("/api/metrics/import?format=csv", content=CSV, headers=headers)
    assert r.status_code == 200  # the same file again replaces, never duplicates
    rows = api.client.get(f"/api/episodes/{api.episode_id}/metrics", headers=api.h("producer")).json()
    douyin = [m for m in rows["items"] if m["source"] == "douyin" and m["day"] == "2026-11-21"]
    assert len(douyin) == 1 and douyin[0]["drop_off"] == [1.0, 0.8, 0.6]
    bad = CSV.replace(",900,", ",-900,")
    r = api.client.post("/api/metrics/import?format=csv", content=bad, headers=headers)
    assert r.status_code == 422 and r.json()["line"] == 2 and r.json()["field"] == "views"
    r = api.client.post(
        "/api/metrics", json={"records": [{"episode_id": api.episode_id, "day": "nope", "views": 1}]},
        headers=api.h("ingester"),
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.records.0.day"
    r = api.client.post(
        "/api/metrics", json={"records": [{"series": "Nope", "episode": 1, "day": "2026-11-21", "views": 1}]},
        headers=api.h("ingester"),
    )  # fmt: skip
    assert r.status_code == 404 and "Nope" in r.json()["detail"]


def test_model_registry(api):
    h = api.h("analyst")
    ds = api.client.post(
        "/api/datasets", json={"name": f"ds-{uuid.uuid4()}", "manifest_uri": "/d/m.jsonl",
                               "manifest_hash": uuid.uuid4().hex * 2, "items": 12}, headers=h,
    )  # fmt: skip
    assert ds.status_code == 201 and ds.json()["db_state"]["feedback_max_id"] >= 0
    model = {"name": f"tiny-{uuid.uuid4()}", "checkpoint_uri": "/c/1",
             "checkpoint_hash": uuid.uuid4().hex * 2,
             "dataset_id": ds.json()["id"], "metrics": {"sync_error_ms": 41.5}}  # fmt: skip
    made = api.client.post("/api/models", json=model, headers=h)
    assert made.status_code == 201 and made.json()["status"] == "candidate"
    assert api.client.post("/api/models", json=model, headers=h).status_code == 200
    promoted = api.client.post(
        f"/api/models/{made.json()['id']}/status", json={"status": "promoted"}, headers=h
    )
    assert promoted.status_code == 200 and promoted.json()["status"] == "promoted"
    bad = api.client.post(f"/api/models/{made.json()['id']}/status", json={"status": "shipped"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "body.status"
    assert api.client.post("/api/models", json=model, headers=api.h("producer")).status_code == 403
    listed = api.client.get("/api/models", params={"status": "promoted"}, headers=api.h("producer")).json()
    assert [m["id"] for m in listed["items"]] == [made.json()["id"]]
    assert api.client.get("/api/training-runs", headers=api.h("producer")).status_code == 200
