"""Users and API tokens.

A token is ``rw_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored: a token is as
strong as a random key, so a slow password hash (scrypt) would add latency to every request and no security.
The plain token is returned once, by :func:`create_user` / :func:`issue_token`, and never again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ROLES, ApiToken, User, utcnow
from storage.repositories.common import InvalidInput, NotFound

TOKEN_PREFIX = "rw_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user and the token they used."""

    user_id: int
    name: str
    role: str
    token_id: int
    token_hash: str


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", field="role", hint=f"use one of: {', '.join(ROLES)}")


def create_user(session: Session, name: str, role: str, *, label: str | None = None) -> tuple[User, str]:
    """Create a user and their first token; return ``(user, token)``. The token is not stored in clear."""
    name = name.strip()
    if not name:
        raise InvalidInput("a user needs a non-empty name", field="name")
    _check_role(role)
    if session.scalars(select(User).where(User.name == name)).first() is not None:
        raise InvalidInput(
            f"user {name!r} already exists", field="name", hint="pick another name, or issue them a new token"
        )
    user = User(name=name, role=role, disabled=False)
    session.add(user)
    session.flush()
    return user, issue_token(session, user.id, label=label or "first token")


def issue_token(session: Session, user_id: int, *, label: str | None = None) -> str:
    if session.get(User, user_id) is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user_id, token_hash=hash_token(token), prefix=token[:10], label=label))
    session.flush()
    return token


def user_by_name(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"no user named {name!r}", field="name", hint="`reelwright users list` shows them")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def set_role(session: Session, name: str, role: str) -> User:
    _check_role(role)
    user = user_by_name(session, name)
    user.role = role
    session.flush()
    return user


def revoke_tokens(session: Session, name: str) -> int:
    """Revoke every live token of a user; return how many."""
    user = user_by_name(session, name)
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    now = utcnow()
    count = 0
    for token in tokens:
        token.revoked_at = now
        count += 1
    session.flush()
    return count


def _principal(session: Session, condition, *, touch: bool = False) -> Principal | None:  # noqa: ANN001
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(condition, ApiToken.revoked_at.is_(None), User.disabled.is_(False))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if touch:
        now = utcnow()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
            api_token.last_used_at = now
    return Principal(user.id, user.name, user.role, api_token.id, api_token.token_hash)


def authenticate(session: Session, token: str, *, touch: bool = False) -> Principal | None:
    """The principal for a live token of an enabled user, else None.

    ``touch=True`` records ``last_used_at`` (at most once a minute, so reads do not all become writes).
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    return _principal(session, ApiToken.token_hash == hash_token(token), touch=touch)


def principal_by_token_id(session: Session, token_id: int) -> Principal | None:
    """The principal of a live token by its id (signed media URLs carry the id, never the token)."""
    return _principal(session, ApiToken.id == token_id)
