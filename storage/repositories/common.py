"""What every repository shares: typed errors, idempotent inserts and pagination."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.assets import StorageError
from storage.models import Base

M = TypeVar("M", bound=Base)
T = TypeVar("T")

MAX_PAGE = 500


class NotFound(StorageError):
    """The row a request names does not exist (HTTP 404)."""


class InvalidInput(StorageError):
    """Well-formed input that is wrong for the data, e.g. an unknown tag (HTTP 422; ``field`` is its path)."""


class IdempotencyConflict(StorageError):
    """An idempotency key was reused with a different request (HTTP 409)."""


def request_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of a request, to tell a true retry from a reused key."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def replay(session: Session, model: type[M], key: str | None, req_hash: str | None) -> M | None:
    """The row an earlier request with idempotency ``key`` stored, or None.

    Raises :class:`IdempotencyConflict` when that request differed (``req_hash`` mismatch).
    """
    if key is None:
        return None
    row = session.scalars(select(model).where(model.idempotency_key == key)).first()
    if row is not None and req_hash is not None and getattr(row, "request_hash", req_hash) != req_hash:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different {model.__tablename__} request",
            field="Idempotency-Key",
            hint="use a new key for a new request; resend the identical request to get the first result",
        )
    return row


def insert_once(
    session: Session,
    model: type[M],
    *,
    key: str | None,
    req_hash: str | None,
    build: Callable[[], M],
) -> tuple[M, bool]:
    """Insert ``build()`` unless a row with idempotency ``key`` exists; return ``(row, created)``.

    The unique constraint on ``idempotency_key`` decides races: the loser's insert fails inside a savepoint
    and it returns the winner's row. The same key with another request raises :class:`IdempotencyConflict`.
    """
    found = replay(session, model, key, req_hash)
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            row = build()
            row.idempotency_key = key
            if hasattr(model, "request_hash"):
                row.request_hash = req_hash
            session.add(row)
            session.flush()
        return row, True
    except IntegrityError as exc:
        found = replay(session, model, key, req_hash)
        if found is not None:
            return found, False
        raise InvalidInput(f"the {model.__tablename__} row violates a constraint: {exc.orig}") from None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + len(self.items) if self.offset + len(self.items) < self.total else None


def paginate(session: Session, stmt: Select, *, limit: int, offset: int) -> Page:
    """One page of ``stmt`` (which must have a deterministic ORDER BY) and the total row count."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit {limit} must be between 1 and {MAX_PAGE}", field="query.limit")
    if offset < 0:
        raise InvalidInput(f"offset {offset} must be ≥ 0", field="query.offset")
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = session.scalars(stmt.limit(limit).offset(offset)).all()
    return Page(items=items, total=total, limit=limit, offset=offset)


def get_or_404(session: Session, model: type[M], row_id: Any, *, what: str | None = None) -> M:
    row = session.get(model, row_id)
    if row is None:
        name = what or model.__tablename__.rstrip("s").replace("_", " ")
        raise NotFound(f"{name} {row_id} does not exist", field=f"{name.replace(' ', '_')}_id")
    return row
