"""The run and feedback database: SQLAlchemy 2 declarative models.

One ``Base`` with a ``MetaData(naming_convention=...)`` so every index and constraint has a stable,
predictable name (Alembic can then drop or alter it on both SQLite and PostgreSQL). Columns are
``Mapped[...]``; the repeated column shapes are ``Annotated`` aliases below. Times are stored as UTC and come
back timezone-aware.

Two groups of tables:

* **Run records** — what was rendered: ``series`` → ``episodes`` → ``script_versions``; ``renders`` of an
  episode; the ``shots`` of a render and the ``takes`` of a shot; the ``assets`` they point at;
  ``voice_casting`` so a character keeps one voice across a series.
* **Feedback and the model loop** — ``users`` and their ``api_tokens``; ``feedback`` (rating,
  ``feedback_tags`` from the ``tags`` taxonomy, comment, time range, ``feedback_regions``) on an episode,
  shot or take; ``decisions`` (approve a take / request a retake); ``viewer_metrics``; ``datasets``,
  ``model_versions``, ``training_runs``.

The schema is owned by the Alembic migrations in ``storage/migrations``; a test checks that they and these
models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned timezone-aware (SQLite has no time zones; PG gets UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. datetime.now(UTC))")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


JSONType = JSON().with_variant(JSONB(), "postgresql")

# Reusable column shapes (warehouse style).
intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
sha256_hex = Annotated[str, mapped_column(String(64))]
created_ts = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
maybe_ts = Annotated[datetime | None, mapped_column(UTCDateTime(), nullable=True)]
json_doc = Annotated[Any, mapped_column(JSONType, nullable=True)]
short_str = Annotated[str, mapped_column(String(200))]
idem_key = Annotated[str | None, mapped_column(String(200), nullable=True, unique=True)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


RENDER_STATUSES = ("queued", "running", "succeeded", "failed")
"""``queued`` (the dashboard asked, the flow has not started), ``running``, ``succeeded`` or ``failed``."""


# ------------------------------------------------------------------------------------------------ run records


class Series(Base):
    __tablename__ = "series"

    id: Mapped[intpk]
    title: Mapped[short_str] = mapped_column(unique=True)
    created_at: Mapped[created_ts]

    episodes: Mapped[list[Episode]] = relationship(back_populates="series", order_by="Episode.number")


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("series_id", "number"),)

    id: Mapped[intpk]
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[short_str]
    created_at: Mapped[created_ts]

    series: Mapped[Series] = relationship(back_populates="episodes")


class ScriptVersion(Base):
    """One distinct text of an episode's script (same text → same row)."""

    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("episode_id", "text_hash"),)

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    text_hash: Mapped[sha256_hex]
    format: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_ts]


class Render(Base):
    __tablename__ = "renders"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        Index(None, "episode_id", "id"),
    )

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    script_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("script_versions.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="running")
    backend: Mapped[str] = mapped_column(String(64))
    out_dir: Mapped[str] = mapped_column(Text)
    episode_uri: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[maybe_ts]
    finished_at: Mapped[maybe_ts]
    qc: Mapped[json_doc]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_ts]
    # Set when the dashboard queued the render (migration 0002).
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    retakes: Mapped[json_doc]  # {shot_id: take number} asked of the renderer
    idempotency_key: Mapped[idem_key]
    request_hash: Mapped[str | None] = mapped_column(String(64))

    episode: Mapped[Episode] = relationship()
    shots: Mapped[list[Shot]] = relationship(back_populates="render", order_by="Shot.id")


class Shot(Base):
    """A shot of one render; ``shot_id`` is the plan's stable id (``"sc01-sh03"``)."""

    __tablename__ = "shots"
    __table_args__ = (UniqueConstraint("render_id", "shot_id"),)

    id: Mapped[intpk]
    render_id: Mapped[int] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"))
    shot_id: Mapped[str] = mapped_column(String(64), index=True)
    scene_index: Mapped[int]
    plan: Mapped[json_doc]
    created_at: Mapped[created_ts]

    render: Mapped[Render] = relationship(back_populates="shots")
    takes: Mapped[list[Take]] = relationship(back_populates="shot", order_by="Take.take")


class Asset(Base):
    """A file in the asset store, by URI (a local path or an fsspec URL)."""

    __tablename__ = "assets"

    id: Mapped[intpk]
    uri: Mapped[str] = mapped_column(Text, unique=True)
    digest: Mapped[sha256_hex]
    kind: Mapped[str] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[created_ts]


class Take(Base):
    """One generated take of a shot: ``shot_pk`` is the ``shots`` row, ``take`` the take number (0 is the
    original render, N the N-th retake with its own seed)."""

    __tablename__ = "takes"
    __table_args__ = (UniqueConstraint("shot_pk", "take"),)

    id: Mapped[intpk]
    shot_pk: Mapped[int] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"))
    render_id: Mapped[int] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), index=True)
    take: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)
    content_key: Mapped[sha256_hex]
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    asset_uri: Mapped[str] = mapped_column(Text)
    digest: Mapped[sha256_hex]
    duration: Mapped[float] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[created_ts]

    shot: Mapped[Shot] = relationship(back_populates="takes")


class VoiceCasting(Base):
    """Which voice a character of a series speaks with, so it sounds the same in every episode."""

    __tablename__ = "voice_casting"
    __table_args__ = (UniqueConstraint("series_id", "character"),)

    id: Mapped[intpk]
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    character: Mapped[short_str]
    voice: Mapped[json_doc]
    updated_at: Mapped[created_ts]


# ---------------------------------------------------------------------------------- users, tokens, feedback

ROLES = ("producer", "analyst", "ingester", "admin")
"""``producer`` watches, rates, decides and renders; ``analyst`` and ``ingester`` read and ingest viewer
metrics (an analyst also registers datasets and model versions); ``admin`` does everything, including
managing users."""

FEEDBACK_TARGETS = ("episode", "shot", "take")
DECISION_KINDS = ("approve", "retake")
MODEL_STATUSES = ("candidate", "promoted", "rejected")
TRAINING_STATUSES = ("queued", "running", "succeeded", "failed")

TAG_TAXONOMY: dict[str, tuple[bool, str]] = {
    # name: (positive?, what it means) — seeded by migration 0002; the dataset builder keys on these names.
    "great_take": (True, "use this take as a positive example"),
    "good_performance": (True, "acting/voice delivery lands"),
    "good_framing": (True, "composition and camera move work"),
    "lip_sync_off": (False, "mouth movement does not match the dialogue"),
    "wrong_emotion": (False, "delivery or expression contradicts the script's emotion"),
    "audio_mix": (False, "levels, ducking, noise or clipping problems"),
    "artefact": (False, "visual glitches: warping, flicker, melted hands or faces"),
    "continuity": (False, "props, wardrobe, lighting or positions jump between shots"),
    "character_inconsistent": (False, "a character's face, voice or costume drifts"),
    "wrong_framing": (False, "shot type or camera move does not fit the beat"),
    "pacing": (False, "the shot is too long or too short"),
    "subtitle_error": (False, "subtitle text, timing or placement is wrong"),
    "text_render": (False, "on-screen text or captions are garbled"),
    "off_script": (False, "the shot does not show what the script says"),
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[created_ts]


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 (tokens are 256-bit random, so a slow hash adds nothing)."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[sha256_hex] = mapped_column(unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created_ts]
    last_used_at: Mapped[maybe_ts]
    revoked_at: Mapped[maybe_ts]

    user: Mapped[User] = relationship()


class Tag(Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    positive: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")


class Feedback(Base):
    """A producer's note on an episode, a shot of a render, or one take: rating, tags, comment, time range."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(_in("target", FEEDBACK_TARGETS), name="target"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
        CheckConstraint("t_start IS NULL OR t_start >= 0", name="t_start"),
        CheckConstraint("t_end IS NULL OR t_start IS NULL OR t_end >= t_start", name="time_range"),
        CheckConstraint("target != 'shot' OR shot_pk IS NOT NULL", name="shot_target"),
        CheckConstraint("target != 'take' OR take_pk IS NOT NULL", name="take_target"),
        Index(None, "episode_id", "id"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    target: Mapped[str] = mapped_column(String(8))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    render_id: Mapped[int | None] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), index=True)
    shot_pk: Mapped[int | None] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    shot_id: Mapped[str | None] = mapped_column(String(64), index=True)
    take_pk: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    t_start: Mapped[float | None] = mapped_column(Float)
    t_end: Mapped[float | None] = mapped_column(Float)
    idempotency_key: Mapped[idem_key]
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[created_ts]

    tags: Mapped[list[FeedbackTag]] = relationship(cascade="all, delete-orphan", order_by="FeedbackTag.tag")
    regions: Mapped[list[FeedbackRegion]] = relationship(
        cascade="all, delete-orphan", order_by="FeedbackRegion.id"
    )


class FeedbackTag(Base):
    __tablename__ = "feedback_tags"

    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(ForeignKey("tags.name"), primary_key=True, index=True)


class FeedbackRegion(Base):
    """A rectangle on the frame at ``t`` seconds into the episode; x, y, w, h are fractions of the frame."""

    __tablename__ = "feedback_regions"
    __table_args__ = (
        CheckConstraint("t >= 0", name="t"),
        CheckConstraint("x >= 0 AND y >= 0 AND w > 0 AND h > 0", name="positive"),
        CheckConstraint("x + w <= 1.000001 AND y + h <= 1.000001", name="inside_frame"),
    )

    id: Mapped[intpk]
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    t: Mapped[float] = mapped_column(Float)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(200))


class Decision(Base):
    """Approve a take, or request a retake of a shot (which queues ``retake_render_id``)."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(_in("kind", DECISION_KINDS), name="kind"),
        Index(None, "episode_id", "id"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    render_id: Mapped[int | None] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), index=True)
    shot_id: Mapped[str] = mapped_column(String(64))
    take_pk: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), index=True)
    take_number: Mapped[int | None]
    retake_render_id: Mapped[int | None] = mapped_column(
        ForeignKey("renders.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[idem_key]
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[created_ts]


class ViewerMetrics(Base):
    """What viewers did with an episode on one platform on one day (re-ingesting the same day replaces it)."""

    __tablename__ = "viewer_metrics"
    __table_args__ = (
        UniqueConstraint("episode_id", "source", "day"),
        CheckConstraint("views >= 0 AND likes >= 0 AND shares >= 0", name="counts"),
        CheckConstraint(
            "watch_through IS NULL OR (watch_through >= 0 AND watch_through <= 1)", name="watch_through"
        ),
    )

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    watch_through: Mapped[float | None] = mapped_column(Float)
    drop_off: Mapped[json_doc]  # [fraction of viewers still watching at second 0, 1, 2, …]
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    ingested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    idempotency_key: Mapped[idem_key]
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[created_ts]
    updated_at: Mapped[created_ts]


# --------------------------------------------------------------------------------------------- the model loop


class Dataset(Base):
    """A curated training set: its manifest file, the manifest's hash, and the DB state it was built from."""

    __tablename__ = "datasets"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    manifest_uri: Mapped[str] = mapped_column(Text)
    manifest_hash: Mapped[sha256_hex] = mapped_column(unique=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
    db_state: Mapped[
        json_doc
    ]  # e.g. {"feedback_max_id": 812, "viewer_metrics_max_id": 40, "revision": "0002"}
    db_state_hash: Mapped[sha256_hex]
    filters: Mapped[json_doc]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[idem_key]
    created_at: Mapped[created_ts]


class ModelVersion(Base):
    """A registered checkpoint. At most one is ``promoted`` (a partial unique index enforces it)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        CheckConstraint(_in("status", MODEL_STATUSES), name="status"),
        Index(
            "uq_model_versions_one_promoted",
            "status",
            unique=True,
            sqlite_where=text("status = 'promoted'"),
            postgresql_where=text("status = 'promoted'"),
        ),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    checkpoint_uri: Mapped[str] = mapped_column(Text)
    checkpoint_hash: Mapped[sha256_hex] = mapped_column(unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), index=True
    )
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    metrics: Mapped[json_doc]
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_ts]
    decided_at: Mapped[maybe_ts]


class TrainingRun(Base):
    __tablename__ = "training_runs"
    __table_args__ = (CheckConstraint(_in("status", TRAINING_STATUSES), name="status"),)

    id: Mapped[intpk]
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    base_model_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    output_model_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    config: Mapped[json_doc]
    metrics: Mapped[json_doc]
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[idem_key]
    started_at: Mapped[maybe_ts]
    finished_at: Mapped[maybe_ts]
    created_at: Mapped[created_ts]
