"""Feedback-side repositories on SQLite and PostgreSQL: users and tokens, feedback with tags and regions,
idempotency keys, decisions and retakes, viewer metrics, the model registry."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.models import (
    ApiToken,
    Decision,
    Feedback,
    FeedbackRegion,
    FeedbackTag,
    ModelVersion,
    Render,
    ViewerMetrics,
)
from storage.repositories import catalog, feedback, metrics, registry, users
from storage.repositories.common import IdempotencyConflict, InvalidInput, NotFound, request_hash
from storage.repository import finish_render, record_take, start_render
from tests.storage.dbs import BACKENDS, temporary_database


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def rendered(session):
    """A finished render of episode 1 with two shots, take 0 each; returns (render_id, take ids)."""
    render_id = start_render(
        session,
        series_title="Hongbao",
        episode_number=1,
        episode_title="红包",
        script_text="第1集：红包",
        script_path="examples/hongbao.md",
        script_format="zh",
        backend="animatic",
        out_dir="/tmp/rw/ep1",
    )
    takes = {}
    for shot_id in ("sc01-sh01", "sc01-sh02"):
        takes[shot_id] = record_take(
            session,
            render_id,
            shot_id=shot_id,
            scene_index=1,
            plan_json={"id": shot_id, "duration": 2.0},
            take=0,
            seed=7,
            key="k" * 64,
            uri=f"/s/{shot_id}.mp4",
            digest="d" * 64,
            duration=2.0,
            cached=False,
        )
    finish_render(session, render_id, status="succeeded", episode_uri="/tmp/rw/ep1/episode.mp4")
    return render_id, takes


def test_tokens_are_hashed_and_authenticate(session):
    user, token = users.create_user(session, "mei", "producer")
    assert token.startswith("rw_") and len(token) > 40
    stored = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.token_hash != token and stored.token_hash == users.hash_token(token)
    who = users.authenticate(session, token, touch=True)
    assert who is not None and who.name == "mei" and who.role == "producer"
    assert stored.last_used_at is not None
    assert users.authenticate(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert users.authenticate(session, "Bearer " + token) is None
    assert users.revoke_tokens(session, "mei") == 1
    assert users.authenticate(session, token) is None
    with pytest.raises(InvalidInput, match="already exists"):
        users.create_user(session, "mei", "admin")
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        users.create_user(session, "li", "boss")


def test_feedback_on_take_shot_and_episode(session, rendered):
    render_id, takes = rendered
    user, _ = users.create_user(session, "mei", "producer")
    on_take = feedback.resolve_target(session, take_id=takes["sc01-sh02"])
    assert (on_take.target, on_take.shot_id, on_take.render_id) == ("take", "sc01-sh02", render_id)
    fb, created = feedback.add_feedback(
        session,
        user_id=user.id,
        target=on_take,
        rating=2,
        tags=["lip_sync_off", "artefact"],
        comment="mouth drifts",
        t_start=2.5,
        t_end=3.25,
        regions=[feedback.Region(t=3.0, x=0.25, y=0.1, w=0.5, h=0.3, label="mouth")],
    )
    assert created and fb.target == "take" and fb.take_pk == takes["sc01-sh02"]
    assert fb.tags == ("artefact", "lip_sync_off") and fb.regions[0].label == "mouth"
    assert _count(session, FeedbackRegion) == 1 and _count(session, FeedbackTag) == 2
    on_shot = feedback.resolve_target(session, render_id=render_id, shot_id="sc01-sh01")
    feedback.add_feedback(session, user_id=user.id, target=on_shot, tags=["great_take"])
    on_episode = feedback.resolve_target(session, render_id=render_id)
    feedback.add_feedback(session, user_id=user.id, target=on_episode, rating=4, comment="strong hook")
    page = feedback.list_feedback(session, render_id=render_id, limit=2)
    assert page.total == 3 and len(page.items) == 2 and page.next_offset == 2
    assert feedback.list_feedback(session, shot_id="sc01-sh02").items[0].regions[0].label == "mouth"


def test_feedback_rejects_bad_input(session, rendered):
    render_id, takes = rendered
    user, _ = users.create_user(session, "mei", "producer")
    target = feedback.resolve_target(session, take_id=takes["sc01-sh01"])
    with pytest.raises(InvalidInput, match="unknown tag 'blurry'") as err:
        feedback.add_feedback(session, user_id=user.id, target=target, tags=["artefact", "blurry"])
    assert err.value.field == "body.tags.1" and "lip_sync_off" in err.value.hint
    with pytest.raises(InvalidInput, match="empty feedback"):
        feedback.add_feedback(session, user_id=user.id, target=target)
    with pytest.raises(InvalidInput, match="before it starts"):
        feedback.add_feedback(session, user_id=user.id, target=target, rating=3, t_start=4, t_end=1)
    with pytest.raises(NotFound, match="has no shot 'sc09-sh01'"):
        feedback.resolve_target(session, render_id=render_id, shot_id="sc09-sh01")
    with pytest.raises(NotFound, match="take 424242 does not exist"):
        feedback.resolve_target(session, take_id=424242)
    with pytest.raises(InvalidInput, match="not a rectangle inside the frame") as err:
        feedback.add_feedback(
            session,
            user_id=user.id,
            target=target,
            regions=[
                feedback.Region(t=1, x=0.1, y=0.1, w=0.2, h=0.2),
                feedback.Region(t=1, x=0.8, y=0.1, w=0.5, h=0.2),
            ],
        )
    assert err.value.field == "body.regions.1"
    # and the database itself refuses a region outside the frame
    fb, _ = feedback.add_feedback(session, user_id=user.id, target=target, rating=3)
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.add(FeedbackRegion(feedback_id=fb.id, t=1, x=0.8, y=0.1, w=0.5, h=0.2))
            session.flush()
    assert _count(session, Feedback) == 1 and _count(session, FeedbackRegion) == 0


def test_same_idempotency_key_stores_one_row(session, rendered):
    _, takes = rendered
    user, _ = users.create_user(session, "mei", "producer")
    target = feedback.resolve_target(session, take_id=takes["sc01-sh01"])
    body = {"take_id": takes["sc01-sh01"], "rating": 5}
    first, created = feedback.add_feedback(
        session, user_id=user.id, target=target, rating=5, idempotency_key="k-1", req_hash=request_hash(body)
    )
    again, created_again = feedback.add_feedback(
        session, user_id=user.id, target=target, rating=5, idempotency_key="k-1", req_hash=request_hash(body)
    )
    assert created and not created_again and again.id == first.id
    assert _count(session, Feedback) == 1
    with pytest.raises(IdempotencyConflict, match="already used"):
        feedback.add_feedback(
            session,
            user_id=user.id,
            target=target,
            rating=1,
            idempotency_key="k-1",
            req_hash=request_hash({**body, "rating": 1}),
        )
    with pytest.raises(IntegrityError):  # the constraint, not just the code, keeps keys unique
        with session.begin_nested():
            session.add(
                Feedback(
                    user_id=user.id,
                    target="episode",
                    episode_id=target.episode_id,
                    rating=3,
                    idempotency_key="k-1",
                )
            )
            session.flush()


def test_retake_queues_a_render_that_keeps_other_retakes(session, rendered, tmp_path):
    render_id, takes = rendered
    user, _ = users.create_user(session, "mei", "producer")
    decision, created = feedback.request_retake(
        session,
        user_id=user.id,
        render_id=render_id,
        shot_id="sc01-sh02",
        renders_root=tmp_path,
        backend="animatic",
        note="mouth drifts",
        idempotency_key="r-1",
    )
    assert created and decision.kind == "retake" and decision.take_number == 1
    queued = session.get(Render, decision.retake_render_id)
    assert queued.status == "queued" and queued.retakes == {"sc01-sh02": 1}
    assert queued.out_dir.startswith(str(tmp_path.resolve())) and queued.out_dir.endswith(
        f"render-{queued.id:05d}"
    )
    replay, created = feedback.request_retake(
        session,
        user_id=user.id,
        render_id=render_id,
        shot_id="sc01-sh02",
        renders_root=tmp_path,
        backend="animatic",
        note="mouth drifts",
        idempotency_key="r-1",
    )
    assert not created and replay.id == decision.id and _count(session, Render) == 2
    # the flow claims the queued render and records take 1
    claimed = start_render(
        session,
        series_title="Hongbao",
        episode_number=1,
        episode_title="红包",
        script_text="第1集：红包",
        script_path="examples/hongbao.md",
        script_format="zh",
        backend="animatic",
        out_dir=queued.out_dir,
    )
    assert claimed == queued.id
    record_take(
        session,
        claimed,
        shot_id="sc01-sh02",
        scene_index=1,
        plan_json={},
        take=1,
        seed=8,
        key="q" * 64,
        uri="/s/sc01-sh02-2.mp4",
        digest="e" * 64,
        duration=2.0,
        cached=False,
    )
    # a later episode render, and a retake of the other shot, keep take 1 of sc01-sh02
    render, _ = catalog.queue_render(
        session,
        episode_id=queued.episode_id,
        requested_by=user.id,
        renders_root=tmp_path,
        backend="animatic",
        retakes=None,
    )
    assert render.retakes == {"sc01-sh02": 1}
    other, _ = feedback.request_retake(
        session,
        user_id=user.id,
        render_id=render_id,
        shot_id="sc01-sh01",
        renders_root=tmp_path,
        backend="animatic",
    )
    assert session.get(Render, other.retake_render_id).retakes == {"sc01-sh01": 1, "sc01-sh02": 1}
    with pytest.raises(InvalidInput, match="has no shot 'nope'") as err:
        catalog.queue_render(
            session,
            episode_id=queued.episode_id,
            requested_by=user.id,
            renders_root=tmp_path,
            backend="animatic",
            retakes={"nope": 2},
        )
    assert err.value.field == "body.retakes.nope"
    approve, _ = feedback.approve_take(session, user_id=user.id, take_id=takes["sc01-sh01"])
    assert approve.kind == "approve" and approve.take_number == 0
    assert feedback.list_decisions(session, episode_id=queued.episode_id).total == 3
    assert _count(session, Decision) == 3


def test_render_detail_places_shot_markers(session, rendered):
    render_id, _ = rendered
    view = catalog.render_detail(session, render_id)
    assert [(s.shot_id, s.start, s.duration) for s in view.shots] == [
        ("sc01-sh01", 0.0, 2.0),
        ("sc01-sh02", 2.0, 2.0),
    ]
    assert view.series.title == "Hongbao" and view.episode.number == 1


CSV = """series,episode,source,day,views,watch_through,likes,shares,drop_off
Hongbao,1,douyin,2026-11-20,1200,0.61,88,12,1;0.9;0.8;0.7
Hongbao,1,kuaishou,2026-11-20,300,,5,0,
"""


def test_metrics_csv_and_jsonl_ingest_idempotently(session, rendered):
    user, _ = users.create_user(session, "bot", "ingester")
    records = metrics.parse_records(CSV, "csv")
    assert records[0].drop_off == [1.0, 0.9, 0.8, 0.7] and records[1].watch_through is None
    metrics.ingest(session, records, user_id=user.id)
    metrics.ingest(session, records, user_id=user.id)  # the same file again
    assert _count(session, ViewerMetrics) == 2
    jsonl = '{"series": "Hongbao", "episode": 1, "source": "douyin", "day": "2026-11-20", "views": 1500}\n'
    metrics.ingest(session, metrics.parse_records(jsonl, "jsonl"), user_id=user.id)
    rows = metrics.list_metrics(session, rendered_episode(session)).items
    assert {(r.source, r.views) for r in rows} == {("douyin", 1500), ("kuaishou", 300)}
    assert _count(session, ViewerMetrics) == 2 and rows[0].day == date(2026, 11, 20)


def rendered_episode(session) -> int:
    return session.scalars(select(Render.episode_id)).first()


@pytest.mark.parametrize(
    ("text", "fmt", "match", "line"),
    [
        ("series,episode,day,views\nHongbao,1,2026-11-20,-4\n", "csv", "greater than or equal to 0", 2),
        ("series,episode,day,views\nHongbao,1,not-a-day,4\n", "csv", "date", 2),
        ('{"episode_id": 1, "day": "2026-11-20", "views": 1}\n{"views": 3\n', "jsonl", "not JSON", 2),
        ('{"day": "2026-11-20", "views": 1}\n', "jsonl", "name the episode", 1),
        ("series,episode,day,views,drop_off\nHongbao,1,2026-11-20,4,1;1.5\n", "csv", "not a fraction", 2),
    ],
)
def test_metrics_parse_errors_name_the_line(text, fmt, match, line):
    with pytest.raises(InvalidInput, match=match) as err:
        metrics.parse_records(text, fmt, source_name="m." + fmt)
    assert err.value.line == line and err.value.file == "m." + fmt


def test_model_registry_promotes_one_at_a_time(session):
    user, _ = users.create_user(session, "ml", "analyst")
    ds, created = registry.register_dataset(
        session,
        name="fb-001",
        manifest_uri="/d/m.jsonl",
        manifest_hash="a" * 64,
        items=40,
        created_by=user.id,
    )
    assert created and ds.db_state["feedback_count"] == 0 and len(ds.db_state_hash) == 64
    assert ds.db_state["revision"] is not None
    assert (
        registry.register_dataset(
            session, name="fb-001-again", manifest_uri="/d/m.jsonl", manifest_hash="a" * 64, items=40
        )[0].id
        == ds.id
    )
    base, _ = registry.register_model_version(
        session, name="tiny-0", checkpoint_uri="/c/0", checkpoint_hash="0" * 64
    )
    new, _ = registry.register_model_version(
        session,
        name="tiny-1",
        checkpoint_uri="/c/1",
        checkpoint_hash="1" * 64,
        parent_id=base.id,
        dataset_id=ds.id,
        metrics={"sync_err": 0.12},
    )
    run, _ = registry.start_training_run(
        session, dataset_id=ds.id, base_model_id=base.id, config={"steps": 10}
    )
    registry.finish_training_run(
        session, run.id, status="succeeded", output_model_id=new.id, metrics={"loss": 0.3}
    )
    registry.set_model_status(session, base.id, "promoted")
    registry.set_model_status(session, new.id, "promoted")
    assert session.get(ModelVersion, base.id).status == "candidate"
    assert registry.list_model_versions(session, status="promoted").items[0].id == new.id
    with pytest.raises(IntegrityError):  # the partial unique index: one promoted version
        with session.begin_nested():
            session.get(ModelVersion, base.id).status = "promoted"
            session.flush()
    with pytest.raises(InvalidInput, match="not one of"):
        registry.set_model_status(session, new.id, "shipped")


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_requests_with_one_key_store_one_row(backend, tmp_path):
    """Eight writers race with the same idempotency key: one row, and all of them get its id."""
    from concurrent.futures import ThreadPoolExecutor

    from storage.db import make_engine, migrate, run_in_transaction, session_scope

    with temporary_database(backend, tmp_path) as url:
        migrate(url)
        engine = make_engine(url)
        with session_scope(engine, write=True) as s:
            user, _ = users.create_user(s, "mei", "producer")
            render_id = start_render(
                s, series_title="Race", episode_number=1, episode_title="R", script_text="r", script_path="r",
                script_format="fountain", backend="animatic", out_dir=str(tmp_path / "r"),
            )  # fmt: skip
            user_id, episode_id = user.id, s.get(Render, render_id).episode_id
        req = request_hash({"rating": 4})
        barrier = threading.Barrier(8)

        def post(_: int) -> int:
            barrier.wait()

            def work(s):
                target = feedback.resolve_target(s, episode_id=episode_id)
                fb, _ = feedback.add_feedback(
                    s, user_id=user_id, target=target, rating=4, idempotency_key="same", req_hash=req
                )
                return fb.id

            return run_in_transaction(engine, work, write=True)

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(post, range(8)))
        with session_scope(engine) as s:
            assert _count(s, Feedback) == 1
        engine.dispose()
        assert len(set(ids)) == 1
