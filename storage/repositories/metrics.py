"""Viewer metrics per episode, per source (platform) and day: from the API, a CSV file or a JSONL file.

A record names its episode by ``episode_id`` or by ``series`` + ``episode`` (number). Re-ingesting the same
(episode, source, day) replaces that row, so importing a file twice stores it once.

CSV columns: ``series,episode,source,day,views,watch_through,likes,shares,drop_off`` where ``drop_off`` is the
fraction of viewers still watching at each second, as ``1.0;0.93;0.81…`` (or a JSON list). JSONL: one object
per line with the same keys.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Episode, Series, ViewerMetrics, utcnow
from storage.repositories.common import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    Page,
    get_or_404,
    paginate,
)


class MetricRecord(BaseModel):
    """One day of one episode on one source."""

    model_config = ConfigDict(extra="forbid")

    episode_id: int | None = Field(default=None, ge=1)
    series: str | None = Field(default=None, min_length=1, max_length=200)
    episode: int | None = Field(default=None, ge=1)
    source: str = Field(default="api", min_length=1, max_length=64)
    day: date
    views: int = Field(ge=0)
    watch_through: float | None = Field(default=None, ge=0, le=1)
    drop_off: list[float] | None = Field(default=None, max_length=24 * 3600)
    likes: int = Field(default=0, ge=0)
    shares: int = Field(default=0, ge=0)

    @field_validator("drop_off", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            if text.startswith("["):
                return json.loads(text)
            return [float(v) for v in text.replace(",", ";").split(";") if v.strip()]
        return value

    @field_validator("drop_off")
    @classmethod
    def _fractions(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            for i, v in enumerate(value):
                if not 0.0 <= v <= 1.0:
                    raise ValueError(f"second {i}: {v} is not a fraction of viewers (0–1)")
        return value

    @model_validator(mode="after")
    def _names_episode(self) -> MetricRecord:
        if self.episode_id is None and (self.series is None or self.episode is None):
            raise ValueError("name the episode: episode_id, or series and episode (number)")
        return self


def _field_path(prefix: str, loc: Sequence[object]) -> str:
    return ".".join([prefix, *(str(p) for p in loc)]) if loc else prefix


def parse_records(text: str, fmt: str, *, source_name: str = "upload") -> list[MetricRecord]:
    """Parse a CSV or JSONL document into records; a bad row raises InvalidInput naming its line and field."""
    if fmt not in ("csv", "jsonl"):
        raise InvalidInput(f"unknown metrics format {fmt!r}", field="format", hint="use csv or jsonl")
    rows: list[tuple[int, dict]] = []
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise InvalidInput("the CSV has no header row", file=source_name, line=1)
        for row in reader:
            rows.append(
                (reader.line_num, {k.strip(): v for k, v in row.items() if k and v not in (None, "")})
            )
    else:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise InvalidInput(
                    f"not JSON: {exc.msg}", file=source_name, line=n, column=exc.colno
                ) from None
            if not isinstance(obj, dict):
                raise InvalidInput("each line must be a JSON object", file=source_name, line=n)
            rows.append((n, obj))
    records = []
    for line, row in rows:
        try:
            records.append(MetricRecord.model_validate(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidInput(
                err["msg"], file=source_name, line=line, field=_field_path("", err["loc"]).lstrip(".") or None
            ) from None
    return records


def _episode_for(session: Session, record: MetricRecord, where: str) -> Episode:
    if record.episode_id is not None:
        return get_or_404(session, Episode, record.episode_id)
    episode = session.scalars(
        select(Episode)
        .join(Series, Series.id == Episode.series_id)
        .where(Series.title == record.series, Episode.number == record.episode)
    ).first()
    if episode is None:
        raise NotFound(f"no episode {record.episode} of series {record.series!r}", field=where)
    return episode


def ingest(
    session: Session,
    records: Iterable[MetricRecord],
    *,
    user_id: int | None,
    idempotency_key: str | None = None,
    field_prefix: str = "body.records",
) -> list[ViewerMetrics]:
    """Insert or replace one row per record (keyed by episode, source, day); return the rows in input order.

    With ``idempotency_key`` K, record i is stored under ``K#i``; reusing K for other records is a conflict.
    """
    out: list[ViewerMetrics] = []
    now = utcnow()
    for i, record in enumerate(records):
        episode = _episode_for(session, record, f"{field_prefix}.{i}")
        key = f"{idempotency_key}#{i}" if idempotency_key else None
        row = session.scalars(
            select(ViewerMetrics).where(
                ViewerMetrics.episode_id == episode.id,
                ViewerMetrics.source == record.source,
                ViewerMetrics.day == record.day,
            )
        ).first()
        if key is not None:
            keyed = session.scalars(select(ViewerMetrics).where(ViewerMetrics.idempotency_key == key)).first()
            if keyed is not None and keyed is not row:
                raise IdempotencyConflict(
                    f"idempotency key {idempotency_key!r} was already used for other metrics",
                    field="Idempotency-Key",
                    hint="use a new key for a new upload",
                )
        values = {
            "views": record.views,
            "watch_through": record.watch_through,
            "drop_off": record.drop_off,
            "likes": record.likes,
            "shares": record.shares,
        }
        if row is None:
            row = ViewerMetrics(
                episode_id=episode.id,
                source=record.source,
                day=record.day,
                ingested_by_id=user_id,
                idempotency_key=key,
                created_at=now,
                updated_at=now,
                **values,
            )
            session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            row.ingested_by_id = user_id
        out.append(row)
    session.flush()
    return out


def list_metrics(
    session: Session, episode_id: int, *, limit: int = 50, offset: int = 0
) -> Page[ViewerMetrics]:
    get_or_404(session, Episode, episode_id)
    stmt = (
        select(ViewerMetrics)
        .where(ViewerMetrics.episode_id == episode_id)
        .order_by(ViewerMetrics.day.desc(), ViewerMetrics.source, ViewerMetrics.id)
    )
    return paginate(session, stmt, limit=limit, offset=offset)
