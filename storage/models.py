"""The run and feedback database: SQLAlchemy 2 declarative models.

One ``Base`` with a ``MetaData(naming_convention=...)`` so every index and constraint has a stable, predictable
name (Alembic can then drop or alter it on both SQLite and PostgreSQL). Columns are ``Mapped[...]``; the repeated
column shapes are ``Annotated`` aliases below. Times are stored as UTC and come back timezone-aware.

Two groups of tables:

* **Run records** — what was rendered: ``series`` → ``episodes`` → ``script_versions``; ``renders`` of an episode;
  the ``shots`` of a render and the ``takes`` of a shot; the ``assets`` they point at; ``voice_casting`` so a
  character keeps one voice across a series.
* **Feedback and the model loop** — ``users`` and their ``api_tokens``; ``feedback`` (rating, ``feedback_tags`` from
  the ``tags`` taxonomy, comment, time range, ``feedback_regions``) on an episode, shot or take; ``decisions``
  (approve a take / request a retake); ``viewer_metrics``; ``datasets``, ``model_versions``, ``training_runs``.

The schema is owned by the Alembic migrations in ``storage/migrations``; a test checks that they and these models
agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
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
"""``queued`` (the dashboard asked, the flow has not started), ``running``, then ``succeeded`` or ``failed``."""


# --------------------------------------------------------------------------------------------------- run records


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
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="status"
        ),
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
    """One generated take of a shot. ``shot_pk`` is the ``shots`` row; ``take`` is the take number (1, 2, …)."""

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
