"""Producer feedback: ratings, tags, comments, time ranges and regions on an episode, a shot or a take; and
decisions (approve a take, request a retake)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from storage.models import Decision, Feedback, FeedbackRegion, FeedbackTag, Render, Shot, Tag, Take, utcnow
from storage.repositories.catalog import kept_retakes, queue_render
from storage.repositories.common import (
    InvalidInput,
    NotFound,
    Page,
    get_or_404,
    insert_once,
    paginate,
    replay,
)
from storage.repository import next_take_number


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle at ``t`` seconds; x, y, w, h are fractions of the frame width/height (top-left origin)."""

    t: float
    x: float
    y: float
    w: float
    h: float
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    target: str
    episode_id: int
    render_id: int | None = None
    shot_pk: int | None = None
    shot_id: str | None = None
    take_pk: int | None = None


def list_tags(session: Session) -> list[Tag]:
    return list(session.scalars(select(Tag).order_by(Tag.positive.desc(), Tag.name)))


def resolve_target(
    session: Session,
    *,
    episode_id: int | None = None,
    render_id: int | None = None,
    shot_id: str | None = None,
    take_id: int | None = None,
) -> Target:
    """What a note is about.

    A take (``take_id``), a shot of a render (``render_id`` + ``shot_id``), or an episode (``render_id`` or
    ``episode_id``).
    """
    if take_id is not None:
        # One row from one query: this runs on every rating, the hot path of the API.
        row = session.execute(
            select(Render.episode_id, Render.id, Shot.id, Shot.shot_id)
            .select_from(Take)
            .join(Shot, Shot.id == Take.shot_pk)
            .join(Render, Render.id == Take.render_id)
            .where(Take.id == take_id)
        ).first()
        if row is None:
            raise NotFound(f"take {take_id} does not exist", field="take_id")
        episode_id, render_id, shot_pk, shot_label = row
        return Target("take", episode_id, render_id, shot_pk, shot_label, take_id)
    if shot_id is not None:
        if render_id is None:
            raise InvalidInput(
                "a shot is named within a render: send render_id with shot_id", field="body.render_id"
            )
        render = get_or_404(session, Render, render_id)
        shot = session.scalars(
            select(Shot).where(Shot.render_id == render.id, Shot.shot_id == shot_id)
        ).first()
        if shot is None:
            raise NotFound(f"render {render.id} has no shot {shot_id!r}", field="body.shot_id")
        return Target("shot", render.episode_id, render.id, shot.id, shot.shot_id)
    if render_id is not None:
        render = get_or_404(session, Render, render_id)
        return Target("episode", render.episode_id, render.id)
    if episode_id is not None:
        from storage.models import Episode

        get_or_404(session, Episode, episode_id)
        return Target("episode", episode_id)
    raise InvalidInput(
        "say what the feedback is about: take_id, render_id + shot_id, render_id or episode_id", field="body"
    )


def _check_tags(session: Session, tags: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(tags))
    if not wanted:
        return []
    known = set(session.scalars(select(Tag.name).where(Tag.name.in_(wanted))))
    for i, tag in enumerate(tags):
        if tag not in known:
            names = ", ".join(t.name for t in list_tags(session))
            raise InvalidInput(f"unknown tag {tag!r}", field=f"body.tags.{i}", hint=f"use one of: {names}")
    return wanted


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A stored note, as the API returns it."""

    id: int
    user_id: int
    target: str
    episode_id: int
    render_id: int | None
    shot_pk: int | None
    shot_id: str | None
    take_pk: int | None
    rating: int | None
    tags: tuple[str, ...]
    comment: str | None
    t_start: float | None
    t_end: float | None
    regions: tuple[Region, ...]
    created_at: datetime

    @classmethod
    def of(cls, fb: Feedback) -> FeedbackRecord:
        return cls(
            id=fb.id,
            user_id=fb.user_id,
            target=fb.target,
            episode_id=fb.episode_id,
            render_id=fb.render_id,
            shot_pk=fb.shot_pk,
            shot_id=fb.shot_id,
            take_pk=fb.take_pk,
            rating=fb.rating,
            tags=tuple(t.tag for t in fb.tags),
            comment=fb.comment,
            t_start=fb.t_start,
            t_end=fb.t_end,
            regions=tuple(Region(r.t, r.x, r.y, r.w, r.h, r.label) for r in fb.regions),
            created_at=fb.created_at,
        )


def _check_regions(regions: Sequence[Region]) -> None:
    for i, r in enumerate(regions):
        inside = (
            0 <= r.x and 0 <= r.y and r.w > 0 and r.h > 0 and r.x + r.w <= 1 + 1e-6 and r.y + r.h <= 1 + 1e-6
        )
        if not inside or r.t < 0:
            raise InvalidInput(
                f"region ({r.x}, {r.y}, {r.w}×{r.h}) at {r.t} s is not a rectangle inside the frame",
                field=f"body.regions.{i}",
                hint="x, y, w, h are fractions of the frame: 0 ≤ x, x + w ≤ 1, 0 ≤ y, y + h ≤ 1; t ≥ 0",
            )


def _insert_ignoring_key_conflict(session: Session, values: dict) -> int | None:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id: the new id, None if the key exists."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # any other database: a savepoint catches the duplicate
        try:
            with session.begin_nested():
                return session.execute(insert(Feedback).values(**values).returning(Feedback.id)).scalar_one()
        except IntegrityError:
            return None
    stmt = (
        dialect_insert(Feedback)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Feedback.id)
    )
    return session.execute(stmt).scalar()


def add_feedback(
    session: Session,
    *,
    user_id: int,
    target: Target,
    rating: int | None = None,
    tags: Sequence[str] = (),
    comment: str | None = None,
    t_start: float | None = None,
    t_end: float | None = None,
    regions: Sequence[Region] = (),
    idempotency_key: str | None = None,
    req_hash: str | None = None,
) -> tuple[FeedbackRecord, bool]:
    """Store one note; return ``(record, created)``. The same idempotency key returns the first note.

    This is the API's hot path, so it is three Core statements (note, tags, regions) rather than an ORM
    unit of work; the key's unique index settles races (``ON CONFLICT DO NOTHING``, then read the winner).
    """
    if rating is None and not tags and not (comment or "").strip() and not regions:
        raise InvalidInput("empty feedback: give a rating, a tag, a comment or a region", field="body")
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput(f"rating {rating} must be 1–5", field="body.rating")
    if t_start is not None and t_end is not None and t_end < t_start:
        raise InvalidInput(f"time range ends ({t_end}) before it starts ({t_start})", field="body.t_end")
    _check_regions(regions)
    tag_names = _check_tags(session, tags)
    values = {
        "user_id": user_id,
        "target": target.target,
        "episode_id": target.episode_id,
        "render_id": target.render_id,
        "shot_pk": target.shot_pk,
        "shot_id": target.shot_id,
        "take_pk": target.take_pk,
        "rating": rating,
        "comment": comment,
        "t_start": t_start,
        "t_end": t_end,
        "idempotency_key": idempotency_key,
        "request_hash": req_hash,
        "created_at": utcnow(),
    }
    try:
        if idempotency_key is None:
            new_id = session.execute(insert(Feedback).values(**values).returning(Feedback.id)).scalar_one()
        else:
            new_id = _insert_ignoring_key_conflict(session, values)
            if new_id is None:
                first = replay(session, Feedback, idempotency_key, req_hash)
                if first is None:  # the winner's transaction rolled back after all: try once more
                    new_id = session.execute(
                        insert(Feedback).values(**values).returning(Feedback.id)
                    ).scalar_one()
                else:
                    return FeedbackRecord.of(first), False
        if tag_names:
            session.execute(insert(FeedbackTag), [{"feedback_id": new_id, "tag": t} for t in tag_names])
        if regions:
            session.execute(
                insert(FeedbackRegion),
                [{"feedback_id": new_id, "t": r.t, "x": r.x, "y": r.y, "w": r.w, "h": r.h, "label": r.label}
                 for r in regions],
            )  # fmt: skip
    except IntegrityError as exc:
        raise InvalidInput(f"the feedback violates a database constraint: {exc.orig}", field="body") from None
    return (
        FeedbackRecord(
            id=new_id,
            user_id=user_id,
            target=target.target,
            episode_id=target.episode_id,
            render_id=target.render_id,
            shot_pk=target.shot_pk,
            shot_id=target.shot_id,
            take_pk=target.take_pk,
            rating=rating,
            tags=tuple(sorted(tag_names)),
            comment=comment,
            t_start=t_start,
            t_end=t_end,
            regions=tuple(regions),
            created_at=values["created_at"],
        ),
        True,
    )


def list_feedback(
    session: Session,
    *,
    episode_id: int | None = None,
    render_id: int | None = None,
    shot_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[FeedbackRecord]:
    stmt = (
        select(Feedback)
        .options(selectinload(Feedback.tags), selectinload(Feedback.regions))
        .order_by(Feedback.id.desc())
    )
    if episode_id is not None:
        stmt = stmt.where(Feedback.episode_id == episode_id)
    if render_id is not None:
        stmt = stmt.where(Feedback.render_id == render_id)
    if shot_id is not None:
        stmt = stmt.where(Feedback.shot_id == shot_id)
    page = paginate(session, stmt, limit=limit, offset=offset)
    return Page([FeedbackRecord.of(fb) for fb in page.items], page.total, page.limit, page.offset)


def approve_take(
    session: Session,
    *,
    user_id: int,
    take_id: int,
    note: str | None = None,
    idempotency_key: str | None = None,
    req_hash: str | None = None,
) -> tuple[Decision, bool]:
    target = resolve_target(session, take_id=take_id)
    take = session.get(Take, take_id)

    def build() -> Decision:
        return Decision(
            user_id=user_id,
            kind="approve",
            episode_id=target.episode_id,
            render_id=target.render_id,
            shot_id=target.shot_id,
            take_pk=take.id,
            take_number=take.take,
            note=note,
        )

    return insert_once(session, Decision, key=idempotency_key, req_hash=req_hash, build=build)


def request_retake(
    session: Session,
    *,
    user_id: int,
    render_id: int,
    shot_id: str,
    renders_root: str | Path,
    backend: str,
    note: str | None = None,
    idempotency_key: str | None = None,
    req_hash: str | None = None,
) -> tuple[Decision, bool]:
    """Record a retake request and queue the render that makes it: the shot's next take number, every other
    shot keeping the take it uses now. Return ``(decision, created)``; ``decision.retake_render_id`` is the
    queued render (the caller starts it when ``created``)."""
    target = resolve_target(session, render_id=render_id, shot_id=shot_id)
    replayed = replay(session, Decision, idempotency_key, req_hash)
    if replayed is not None:
        return replayed, False
    take_number = next_take_number(session, target.episode_id, shot_id)
    retakes = kept_retakes(session, target.episode_id)
    retakes[shot_id] = take_number
    render, _ = queue_render(
        session,
        episode_id=target.episode_id,
        requested_by=user_id,
        renders_root=renders_root,
        backend=backend,
        retakes=retakes,
    )

    def build() -> Decision:
        return Decision(
            user_id=user_id,
            kind="retake",
            episode_id=target.episode_id,
            render_id=target.render_id,
            shot_id=shot_id,
            take_number=take_number,
            retake_render_id=render.id,
            note=note,
        )

    decision, created = insert_once(session, Decision, key=idempotency_key, req_hash=req_hash, build=build)
    if not created:
        # A concurrent request with the same key won the race: drop the render this one queued.
        session.delete(render)
        session.flush()
    return decision, created


def list_decisions(
    session: Session, *, episode_id: int | None = None, limit: int = 50, offset: int = 0
) -> Page[Decision]:
    stmt = select(Decision).order_by(Decision.id.desc())
    if episode_id is not None:
        stmt = stmt.where(Decision.episode_id == episode_id)
    return paginate(session, stmt, limit=limit, offset=offset)
