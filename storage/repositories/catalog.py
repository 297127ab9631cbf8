"""Browsing what was rendered (series → episodes → renders → shots and takes) and queueing new renders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.models import Episode, Render, ScriptVersion, Series, Shot, Take
from storage.repositories.common import InvalidInput, NotFound, Page, get_or_404, insert_once, paginate
from storage.repository import latest_takes


def list_series(session: Session, *, limit: int = 50, offset: int = 0) -> Page[Series]:
    return paginate(session, select(Series).order_by(Series.title, Series.id), limit=limit, offset=offset)


def list_episodes(session: Session, series_id: int, *, limit: int = 50, offset: int = 0) -> Page[Episode]:
    get_or_404(session, Series, series_id)
    stmt = select(Episode).where(Episode.series_id == series_id).order_by(Episode.number, Episode.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def list_renders(
    session: Session,
    *,
    episode_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Render]:
    stmt = select(Render).order_by(Render.id.desc())
    if episode_id is not None:
        get_or_404(session, Episode, episode_id)
        stmt = stmt.where(Render.episode_id == episode_id)
    if status is not None:
        stmt = stmt.where(Render.status == status)
    return paginate(session, stmt, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class ShotView:
    """A shot of a render with the take that render used and where it sits on the episode timeline."""

    shot_pk: int
    shot_id: str
    scene_index: int
    plan: Any
    start: float
    duration: float
    take: Take | None
    takes: tuple[Take, ...]


@dataclass(frozen=True, slots=True)
class RenderView:
    render: Render
    episode: Episode
    series: Series
    shots: tuple[ShotView, ...] = field(default=())


def render_detail(session: Session, render_id: int) -> RenderView:
    """The render, its episode and series, and its shots in timeline order with start times (shot markers)."""
    render = get_or_404(session, Render, render_id)
    episode = session.get(Episode, render.episode_id)
    series = session.get(Series, episode.series_id)
    shots = session.scalars(
        select(Shot).where(Shot.render_id == render.id).options(selectinload(Shot.takes))
    ).all()
    views: list[ShotView] = []
    start = 0.0
    for shot in sorted(shots, key=lambda s: (s.scene_index, s.shot_id)):
        takes = tuple(sorted(shot.takes, key=lambda t: t.take))
        used = takes[-1] if takes else None
        duration = used.duration if used else float((shot.plan or {}).get("duration", 0.0) or 0.0)
        views.append(
            ShotView(shot.id, shot.shot_id, shot.scene_index, shot.plan, start, duration, used, takes)
        )
        start += duration
    return RenderView(render=render, episode=episode, series=series, shots=tuple(views))


def latest_script(session: Session, episode_id: int) -> ScriptVersion:
    script = session.scalars(
        select(ScriptVersion).where(ScriptVersion.episode_id == episode_id).order_by(ScriptVersion.id.desc())
    ).first()
    if script is None:
        raise NotFound(
            f"episode {episode_id} has no script on record",
            field="episode_id",
            hint="render it once from the CLI (`reelwright render SCRIPT`) so its script is known",
        )
    return script


def kept_retakes(session: Session, episode_id: int) -> dict[str, int]:
    """``{shot_id: take}`` for every shot whose newest take is a retake, so a new render keeps them."""
    return {t.shot_id: t.take for t in latest_takes(session, episode_id) if t.take > 0}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "series"


def queue_render(
    session: Session,
    *,
    episode_id: int,
    requested_by: int,
    renders_root: str | Path,
    backend: str,
    retakes: dict[str, int] | None,
    idempotency_key: str | None = None,
    req_hash: str | None = None,
) -> tuple[Render, bool]:
    """Queue a render of the episode's newest script; return ``(render, created)``.

    ``retakes=None`` keeps the takes the episode currently uses. Each render gets its own ``out_dir`` under
    ``renders_root``; the flow claims the row through it (see :func:`storage.repository.start_render`).
    """
    episode = get_or_404(session, Episode, episode_id)
    script = latest_script(session, episode.id)
    if retakes is None:
        retakes = kept_retakes(session, episode.id)
    else:
        known = set(
            session.scalars(
                select(Shot.shot_id)
                .join(Render, Render.id == Shot.render_id)
                .where(Render.episode_id == episode.id)
            )
        )
        for shot_id, take in retakes.items():
            if known and shot_id not in known:
                raise InvalidInput(
                    f"episode {episode.id} has no shot {shot_id!r}",
                    field=f"body.retakes.{shot_id}",
                    hint=f"known shots: {', '.join(sorted(known)[:12])}",
                )
            if take < 0:
                raise InvalidInput(f"take {take} must be ≥ 0", field=f"body.retakes.{shot_id}")

    def build() -> Render:
        return Render(
            episode_id=episode.id,
            script_version_id=script.id,
            status="queued",
            backend=backend,
            out_dir="",
            requested_by_id=requested_by,
            retakes=dict(sorted(retakes.items())),
        )

    render, created = insert_once(session, Render, key=idempotency_key, req_hash=req_hash, build=build)
    if created:
        series = session.get(Series, episode.series_id)
        render.out_dir = str(
            Path(renders_root).resolve()
            / _slug(series.title)
            / f"ep{episode.number:02d}"
            / f"render-{render.id:05d}"
        )
        session.flush()
    return render, created


def script_path_of(session: Session, render: Render) -> str:
    if render.script_version_id is None:
        raise NotFound(f"render {render.id} has no script version", field="render_id")
    return session.get(ScriptVersion, render.script_version_id).path
