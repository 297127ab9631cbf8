"""Run records: what was rendered, from which script, with which takes.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller (CLI, API request, flow) opens it
with :func:`storage.db.session_scope` and commits (ARCHITECTURE rule 8). Functions flush, never commit.

Typical use from the episode flow::

    with session_scope(engine, write=True) as s:
        render_id = start_render(s, series_title=..., episode_number=1, ..., out_dir=str(out))
    for shot in shots:                       # one short transaction per take
        with session_scope(engine, write=True) as s:
            record_take(s, render_id, shot_id=shot.id, ...)
    with session_scope(engine, write=True) as s:
        finish_render(s, render_id, status="succeeded", episode_uri=str(out / "episode.mp4"), qc=report)

A render the dashboard queued (``requested_by_id`` set, not finished) is *claimed* by ``start_render`` when
the flow is started with the same ``out_dir`` for the same episode, so the dashboard's row and the flow's
row are one row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.assets import StorageError
from storage.models import (
    Asset,
    Base,
    Episode,
    Render,
    ScriptVersion,
    Series,
    Shot,
    Take,
    VoiceCasting,
    utcnow,
)

M = TypeVar("M", bound=Base)

FINAL_STATUSES = ("succeeded", "failed")


def _get_or_create(
    session: Session, model: type[M], lookup: Mapping[str, Any], defaults: Mapping[str, Any]
) -> M:
    """The row matching ``lookup``, inserted if missing; safe when another writer inserts it concurrently."""
    row = session.scalars(select(model).filter_by(**lookup)).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = model(**lookup, **defaults)
            session.add(row)
        return row
    except IntegrityError:
        # Someone else inserted the same unique key between our SELECT and INSERT: theirs wins.
        return session.scalars(select(model).filter_by(**lookup)).one()


def _jsonable(value: Any) -> Any:
    """Pydantic models, dataclasses and JSON strings become plain JSON values."""
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return json.loads(json.dumps(asdict(value), default=str))
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            raise StorageError(
                "plan_json/qc is a string but not JSON",
                hint="pass a dict, a pydantic model, or a JSON string (e.g. shot.model_dump_json())",
            ) from None
    return json.loads(json.dumps(value, default=str))


def get_or_create_series(session: Session, title: str) -> Series:
    title = title.strip()
    if not title:
        raise StorageError("a series needs a non-empty title", field="series_title")
    return _get_or_create(session, Series, {"title": title}, {})


def get_or_create_episode(session: Session, series: Series, number: int, title: str) -> Episode:
    episode = _get_or_create(session, Episode, {"series_id": series.id, "number": number}, {"title": title})
    if title and episode.title != title:
        episode.title = title  # the newest script names the episode
    return episode


def start_render(
    session: Session,
    *,
    series_title: str,
    episode_number: int | None,
    episode_title: str,
    script_text: str,
    script_path: str,
    script_format: str,
    backend: str,
    out_dir: str,
) -> int:
    """Record that a render of an episode started; return the render id.

    Creates the series, episode and script version as needed (same script text → same script version). If the
    dashboard queued a render of this episode into the same ``out_dir`` and it has not finished, that row is
    claimed (set ``running``) and returned.
    ``episode_number=None`` (a script without one) is episode 1.
    """
    series = get_or_create_series(session, series_title)
    episode = get_or_create_episode(
        session, series, episode_number or 1, episode_title.strip() or series.title
    )
    text_hash = hashlib.sha256(script_text.encode("utf-8")).hexdigest()
    version = _get_or_create(
        session,
        ScriptVersion,
        {"episode_id": episode.id, "text_hash": text_hash},
        {"format": script_format, "path": str(script_path)},
    )
    out_dir = _normal_dir(out_dir)
    queued = session.scalars(
        select(Render)
        .where(
            Render.episode_id == episode.id,
            Render.out_dir == out_dir,
            Render.status.in_(("queued", "running")),
            Render.finished_at.is_(None),
            Render.requested_by_id.is_not(None),
        )
        .order_by(Render.id.desc())
        .limit(1)
    ).first()
    now = utcnow()
    if queued is not None:
        queued.status = "running"
        queued.started_at = now
        queued.backend = backend
        queued.script_version_id = version.id
        session.flush()
        return queued.id
    render = Render(
        episode_id=episode.id,
        script_version_id=version.id,
        status="running",
        backend=backend,
        out_dir=out_dir,
        started_at=now,
    )
    session.add(render)
    session.flush()
    return render.id


def _normal_dir(out_dir: str | Path) -> str:
    """Local folders as absolute paths (so a render is found whatever the cwd); URLs unchanged."""
    text = str(out_dir)
    if "://" in text:
        return text
    return str(Path(text).expanduser().resolve())


def _render(session: Session, render_id: int) -> Render:
    render = session.get(Render, render_id)
    if render is None:
        raise StorageError(
            f"render {render_id} does not exist", field="render_id", hint="use the id start_render returned"
        )
    return render


def _local_size(uri: str) -> int | None:
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(parsed.path if parsed.scheme == "file" else uri)
    try:
        return path.stat().st_size
    except OSError:
        return None


def record_asset(session: Session, *, uri: str, digest: str, kind: str, size: int | None = None) -> Asset:
    """The ``assets`` row for ``uri`` (created or refreshed); ``size`` is read from a local file if None."""
    size = size if size is not None else _local_size(uri)
    asset = _get_or_create(session, Asset, {"uri": uri}, {"digest": digest, "kind": kind, "size": size})
    if asset.digest != digest or (size is not None and asset.size != size):
        asset.digest, asset.size = digest, size
    return asset


def record_take(
    session: Session,
    render_id: int,
    *,
    shot_id: str,
    scene_index: int,
    plan_json: Any,
    take: int,
    seed: int,
    key: str,
    uri: str,
    digest: str,
    duration: float,
    cached: bool,
) -> int:
    """Record one take of a shot in a render; return the take row id.

    ``take`` follows the ``retakes`` convention of the flow: 0 is the original render of the shot, N the N-th
    retake (a new seed). ``plan_json`` is the shot's plan (a dict, a pydantic ``Shot`` or its JSON).
    Recording the same ``(render, shot_id, take)`` again (a resumed run) updates that row, adding none.
    """
    render = _render(session, render_id)
    if take < 0:
        raise StorageError(
            f"take number {take} for shot {shot_id} must be ≥ 0",
            field="take",
            hint="take 0 is the first render",
        )
    shot = _get_or_create(
        session,
        Shot,
        {"render_id": render.id, "shot_id": shot_id},
        {"scene_index": scene_index, "plan": _jsonable(plan_json)},
    )
    asset = record_asset(session, uri=str(uri), digest=digest, kind="shot")
    values = {
        "render_id": render.id,
        "seed": int(seed),
        "content_key": key,
        "asset_id": asset.id,
        "asset_uri": str(uri),
        "digest": digest,
        "duration": float(duration),
        "cached": bool(cached),
    }
    row = _get_or_create(session, Take, {"shot_pk": shot.id, "take": take}, values)
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    session.flush()
    return row.id


def finish_render(
    session: Session,
    render_id: int,
    *,
    status: str,
    episode_uri: str | None = None,
    qc: Any = None,
    error: str | None = None,
) -> None:
    """Mark a render ``succeeded`` or ``failed`` with its episode file, QC report (dict/model), error text."""
    if status not in FINAL_STATUSES:
        raise StorageError(
            f"finish_render status {status!r} is not one of {', '.join(FINAL_STATUSES)}", field="status"
        )
    render = _render(session, render_id)
    render.status = status
    render.finished_at = utcnow()
    if render.started_at is None:
        render.started_at = render.finished_at
    if episode_uri is not None:
        render.episode_uri = str(episode_uri)
    if qc is not None:
        render.qc = _jsonable(qc)
    if error is not None:
        render.error = error
    session.flush()


@dataclass(frozen=True, slots=True)
class TakeRecord:
    take_id: int
    render_id: int
    shot_id: str
    scene_index: int
    take: int
    seed: int
    key: str
    uri: str
    digest: str
    duration: float
    cached: bool
    created_at: datetime
    plan: Any


def latest_takes(session: Session, episode_id: int) -> list[TakeRecord]:
    """For each shot of the episode, its newest take across all renders, in scene then shot order."""
    newest = (
        select(Shot.shot_id, func.max(Take.id).label("take_id"))
        .join(Take, Take.shot_pk == Shot.id)
        .join(Render, Render.id == Shot.render_id)
        .where(Render.episode_id == episode_id)
        .group_by(Shot.shot_id)
        .subquery()
    )
    rows = session.execute(
        select(Take, Shot).join(newest, newest.c.take_id == Take.id).join(Shot, Shot.id == Take.shot_pk)
    ).all()
    records = [
        TakeRecord(
            take_id=take.id,
            render_id=take.render_id,
            shot_id=shot.shot_id,
            scene_index=shot.scene_index,
            take=take.take,
            seed=take.seed,
            key=take.content_key,
            uri=take.asset_uri,
            digest=take.digest,
            duration=take.duration,
            cached=take.cached,
            created_at=take.created_at,
            plan=shot.plan,
        )
        for take, shot in rows
    ]
    return sorted(records, key=lambda r: (r.scene_index, r.shot_id))


def next_take_number(session: Session, episode_id: int, shot_id: str) -> int:
    """The number a new retake of ``shot_id`` gets: one more than its highest take in any render of the
    episode (take 0 is the original render, so the first retake is 1)."""
    highest = session.scalar(
        select(func.max(Take.take))
        .join(Shot, Shot.id == Take.shot_pk)
        .join(Render, Render.id == Shot.render_id)
        .where(Render.episode_id == episode_id, Shot.shot_id == shot_id)
    )
    return (highest if highest is not None else 0) + 1


def casting_for_series(session: Session, series_title: str) -> dict[str, Any]:
    """``{character: voice}`` saved for the series (empty if the series or its casting is unknown)."""
    rows = session.execute(
        select(VoiceCasting.character, VoiceCasting.voice)
        .join(Series, Series.id == VoiceCasting.series_id)
        .where(Series.title == series_title.strip())
        .order_by(VoiceCasting.character)
    ).all()
    return {character: voice for character, voice in rows}


def save_casting(session: Session, series_title: str, casting: Mapping[str, Any]) -> None:
    """Store the voices of the given characters (others keep theirs), creating the series if needed.

    A voice is any JSON value: a voice name, or a dict of voice parameters.
    """
    series = get_or_create_series(session, series_title)
    for character, voice in casting.items():
        if not str(character).strip():
            raise StorageError("a cast character needs a non-empty name", field="casting")
        value = _jsonable(voice) if not isinstance(voice, str) else voice
        row = _get_or_create(
            session, VoiceCasting, {"series_id": series.id, "character": str(character)}, {"voice": value}
        )
        if row.voice != value:
            row.voice = value
            row.updated_at = utcnow()
    session.flush()
