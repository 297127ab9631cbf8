"""Bearer-token authentication, role permissions, and signed media URLs.

Every API route depends on :func:`require` (``/health`` and the static page shell are the only open paths).
``<video>`` elements cannot send an ``Authorization`` header, so media routes also accept a short-lived URL
signed with the caller's token hash (HMAC-SHA256 over path and expiry): revoking the token revokes its URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from urllib.parse import urlencode

from fastapi import HTTPException, Request, status

from storage.repositories import users
from storage.repositories.users import Principal


class Perm(StrEnum):
    read = "read"  # browse series, episodes, renders, feedback, metrics, models
    rate = "rate"  # feedback and decisions
    render = "render"  # trigger renders and retakes
    ingest = "ingest"  # post viewer metrics
    models = "models"  # register datasets and model versions, promote/reject
    admin = "admin"  # manage users


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    "producer": frozenset({Perm.read, Perm.rate, Perm.render}),
    "analyst": frozenset({Perm.read, Perm.ingest, Perm.models}),
    "ingester": frozenset({Perm.read, Perm.ingest}),
    "admin": frozenset(Perm),
}

MEDIA_URL_TTL = 3600
_CACHE_TTL = 5.0


class TokenCache:
    """Token hash → principal for a few seconds, so a burst of requests costs one lookup (revocation lags ≤5 s
    in other processes; this one forgets at once)."""

    def __init__(self, ttl: float = _CACHE_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, token_hash: str) -> Principal | None:
        with self._lock:
            hit = self._items.get(token_hash)
            if hit is None or hit[0] < time.monotonic():
                self._items.pop(token_hash, None)
                return None
            return hit[1]

    def put(self, token_hash: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[token_hash] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=f"{message}; send 'Authorization: Bearer <token>' (`reelwright users add NAME` prints one)",
        headers={"WWW-Authenticate": 'Bearer realm="reelwright"'},
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header is not a bearer token")
    return token.strip()


def _from_token(request: Request, token: str) -> Principal:
    state = request.app.state.reelwright
    token_hash = users.hash_token(token)
    principal = state.tokens.get(token_hash)
    if principal is None:
        principal = state.db.read(lambda s: users.authenticate(s, token))
        if principal is None:
            raise _unauthorized("unknown or revoked token")
        state.tokens.put(token_hash, principal)
    return principal


def sign_media(principal: Principal, path: str, *, now: float | None = None) -> str:
    """``path`` with query parameters that let a ``<video>`` fetch it for an hour as ``principal``."""
    exp = int((now or time.time()) + MEDIA_URL_TTL)
    sig = _signature(principal.token_hash, path, exp)
    return f"{path}?{urlencode({'tid': principal.token_id, 'exp': exp, 'sig': sig})}"


def _signature(token_hash: str, path: str, exp: int) -> str:
    return hmac.new(token_hash.encode(), f"{path}\n{exp}".encode(), hashlib.sha256).hexdigest()


def _from_signature(request: Request) -> Principal:
    q = request.query_params
    try:
        token_id, exp, sig = int(q["tid"]), int(q["exp"]), q["sig"]
    except (KeyError, ValueError):
        raise _unauthorized("no bearer token and no valid signed-URL parameters (tid, exp, sig)") from None
    if exp < time.time():
        raise _unauthorized("this media URL has expired; reload the render to get a fresh one")
    state = request.app.state.reelwright

    principal = state.db.read(lambda s: users.principal_by_token_id(s, token_id))
    if principal is None or not hmac.compare_digest(
        sig, _signature(principal.token_hash, request.url.path, exp)
    ):
        raise _unauthorized("bad media URL signature")
    return principal


def require(perm: Perm, *, signed_media: bool = False) -> Callable[..., Principal]:
    """A dependency: the caller's principal, 401 without a valid token, 403 if their role lacks ``perm``."""

    def dependency(request: Request) -> Principal:
        token = _bearer(request)
        if token is not None:
            principal = _from_token(request, token)
        elif signed_media and "sig" in request.query_params:
            principal = _from_signature(request)
        else:
            raise _unauthorized("authentication required")
        if perm not in ROLE_PERMISSIONS.get(principal.role, frozenset()):
            allowed = sorted(role for role, perms in ROLE_PERMISSIONS.items() if perm in perms)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {principal.role!r} cannot {perm.value}; it needs one of: {', '.join(allowed)}",
            )
        return principal

    dependency.__name__ = f"require_{perm.value}"
    return dependency

