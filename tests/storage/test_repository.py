"""Run-record repository round trips (each test in a rolled-back savepoint, on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.assets import StorageError
from storage.models import Asset, Episode, Render, ScriptVersion, Series, Shot, Take
from storage.repository import (
    casting_for_series,
    finish_render,
    latest_takes,
    next_take_number,
    record_take,
    save_casting,
    start_render,
)

SCRIPT = "Title: The Last Delivery\n\nINT. KITCHEN - NIGHT\n\nMAYA\nYou're late.\n"


def _start(session, out_dir="/tmp/out/ep1", text=SCRIPT, **over):
    args = dict(
        series_title="The Last Delivery",
        episode_number=1,
        episode_title="Pilot",
        script_text=text,
        script_path="examples/the_last_delivery.fountain",
        script_format="fountain",
        backend="animatic",
        out_dir=out_dir,
    )
    args.update(over)
    return start_render(session, **args)


def _take(session, render_id, shot_id="sc01-sh01", take=0, **over):
    args = dict(
        shot_id=shot_id,
        scene_index=int(shot_id[2:4]),
        plan_json={"id": shot_id, "duration": 2.5, "shot_type": "MS"},
        take=take,
        seed=1234 + take,
        key=f"{shot_id}-{take}".ljust(64, "0"),
        uri=f"/store/video/{shot_id}-{take}.mp4",
        digest="d" * 64,
        duration=2.5,
        cached=False,
    )
    args.update(over)
    return record_take(session, render_id, **args)


def test_start_render_creates_series_episode_script_once(session):
    first = _start(session)
    second = _start(session, out_dir="/tmp/out/ep1-b")
    assert first != second
    assert session.scalar(select(func.count()).select_from(Series)) == 1
    assert session.scalar(select(func.count()).select_from(Episode)) == 1
    assert session.scalar(select(func.count()).select_from(ScriptVersion)) == 1  # same text → same version
    third = _start(
        session, out_dir="/tmp/out/ep1-c", text=SCRIPT + "\nMAYA\nAnd?\n", episode_title="Pilot (v2)"
    )
    render = session.get(Render, third)
    assert (
        render.status == "running" and render.started_at is not None and render.started_at.tzinfo is not None
    )
    assert session.scalar(select(func.count()).select_from(ScriptVersion)) == 2
    assert render.episode.title == "Pilot (v2)"


def test_take_round_trip_and_finish(session):
    render_id = _start(session)
    take_id = _take(session, render_id)
    _take(session, render_id, shot_id="sc01-sh02")
    _take(session, render_id, shot_id="sc02-sh01", cached=True)
    finish_render(
        session,
        render_id,
        status="succeeded",
        episode_uri="/tmp/out/ep1/episode.mp4",
        qc={"loudness_lufs": -14.1, "passed": True},
    )
    render = session.get(Render, render_id)
    assert render.status == "succeeded" and render.finished_at >= render.started_at
    assert render.qc == {"loudness_lufs": -14.1, "passed": True}
    assert render.episode_uri.endswith("episode.mp4")
    takes = latest_takes(session, render.episode_id)
    assert [t.shot_id for t in takes] == ["sc01-sh01", "sc01-sh02", "sc02-sh01"]
    assert takes[0].take_id == take_id and takes[0].seed == 1234 and takes[0].plan["duration"] == 2.5
    assert takes[2].cached is True
    assert session.scalar(select(func.count()).select_from(Asset)) == 3


def test_record_same_take_twice_updates_one_row(session):
    render_id = _start(session)
    a = _take(session, render_id, digest="a" * 64)
    b = _take(session, render_id, digest="b" * 64, cached=True)
    assert a == b
    take = session.get(Take, a)
    assert take.digest == "b" * 64 and take.cached is True
    assert session.scalar(select(func.count()).select_from(Shot)) == 1


def test_latest_takes_prefers_the_retake(session):
    first = _start(session)
    _take(session, first, shot_id="sc01-sh01")
    _take(session, first, shot_id="sc01-sh02")
    finish_render(session, first, status="succeeded")
    episode_id = session.get(Render, first).episode_id
    assert next_take_number(session, episode_id, "sc01-sh02") == 1
    second = _start(session, out_dir="/tmp/out/ep1-retake")
    _take(session, second, shot_id="sc01-sh01", cached=True)
    retake = _take(session, second, shot_id="sc01-sh02", take=1, seed=99)
    takes = {t.shot_id: t for t in latest_takes(session, episode_id)}
    assert takes["sc01-sh02"].take_id == retake and takes["sc01-sh02"].take == 1
    assert takes["sc01-sh01"].render_id == second
    assert next_take_number(session, episode_id, "sc01-sh02") == 2
    assert next_take_number(session, episode_id, "sc09-sh09") == 1


def test_start_render_claims_a_render_the_dashboard_queued(session):
    from storage.repositories.users import create_user

    user, _token = create_user(session, "ana", "producer")
    render_id = _start(session, out_dir="/tmp/out/queued")
    render = session.get(Render, render_id)
    render.status, render.started_at, render.requested_by_id = "queued", None, user.id
    session.flush()
    assert _start(session, out_dir="/tmp/out/queued") == render_id
    assert session.get(Render, render_id).status == "running"
    finish_render(session, render_id, status="succeeded")
    assert _start(session, out_dir="/tmp/out/queued") != render_id  # a finished render is never reused
    assert _start(session, out_dir="/tmp/out/other") != render_id


def test_finish_render_failed_and_bad_input(session):
    render_id = _start(session)
    finish_render(session, render_id, status="failed", error="ffmpeg failed (exit 1)")
    assert session.get(Render, render_id).error == "ffmpeg failed (exit 1)"
    with pytest.raises(StorageError, match="not one of succeeded, failed"):
        finish_render(session, render_id, status="done")
    with pytest.raises(StorageError, match="render 999999 does not exist"):
        finish_render(session, 999999, status="failed")
    with pytest.raises(StorageError, match="render 999999 does not exist"):
        _take(session, 999999)
    with pytest.raises(StorageError, match="must be ≥ 0"):
        _take(session, render_id, take=-1)
    with pytest.raises(StorageError, match="not JSON"):
        _take(session, render_id, plan_json="{not json")


def test_casting_persists_across_episodes(session):
    assert casting_for_series(session, "The Last Delivery") == {}
    save_casting(session, "The Last Delivery", {"MAYA": "en-f-2", "JONAS": {"voice": "en-m-1", "pitch": -2}})
    save_casting(session, "The Last Delivery", {"MAYA": "en-f-3"})  # recast one; the other keeps theirs
    assert casting_for_series(session, "The Last Delivery") == {
        "JONAS": {"voice": "en-m-1", "pitch": -2},
        "MAYA": "en-f-3",
    }
    assert casting_for_series(session, "Another Show") == {}
    with pytest.raises(StorageError, match="non-empty name"):
        save_casting(session, "The Last Delivery", {" ": "x"})
