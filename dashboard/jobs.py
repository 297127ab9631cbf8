"""Running renders for the dashboard: a small executor that calls the injected renderer and records status.

The renderer is ``renderer(script_path, out_dir, retakes) -> dict`` (``reelwright serve`` passes the episode
flow). The render row was queued by the request; here it becomes ``running``, then ``succeeded`` or
``failed`` — unless the flow recorded the outcome itself (it claims the row through ``out_dir``), in which
case the flow's record stands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.state import Database
from storage.models import Render, utcnow
from storage.repositories.catalog import script_path_of
from storage.repository import finish_render

Renderer = Callable[[str, str, dict[str, int]], dict]

log = logging.getLogger("reelwright.dashboard")

_EPISODE_KEYS = ("episode_uri", "episode", "video", "output")


def _episode_uri(result: Any, out_dir: str) -> str | None:
    if isinstance(result, dict):
        for key in _EPISODE_KEYS:
            value = result.get(key)
            if isinstance(value, str | Path) and str(value):
                return str(value)
    default = Path(out_dir) / "episode.mp4"
    return str(default) if default.is_file() else None


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 8000 else text[:8000] + " …"


class RenderJobs:
    def __init__(self, db: Database, renderer: Renderer | None, *, workers: int = 1) -> None:
        self.db = db
        self.renderer = renderer
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reelwright-render")
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.renderer is not None

    def submit(self, render_id: int) -> None:
        with self._lock:
            if render_id in self._futures and not self._futures[render_id].done():
                return
            self._futures[render_id] = self._pool.submit(self._run, render_id)

    def wait(self, render_id: int, timeout: float | None = None) -> None:
        with self._lock:
            future = self._futures.get(render_id)
        if future is not None:
            future.result(timeout=timeout)

    def resume_queued(self) -> list[int]:
        """At start-up: run the renders a previous dashboard queued, and fail those it left running."""

        def work(session: Session) -> list[int]:
            interrupted = session.scalars(
                select(Render).where(
                    Render.status == "running",
                    Render.requested_by_id.is_not(None),
                    Render.finished_at.is_(None),
                )
            )
            for render in interrupted:
                finish_render(
                    session,
                    render.id,
                    status="failed",
                    error="the dashboard stopped while this render ran; request it again",
                )
            return list(
                session.scalars(
                    select(Render.id)
                    .where(Render.status == "queued", Render.requested_by_id.is_not(None))
                    .order_by(Render.id)
                )
            )

        queued = self.db.write(work)
        if self.enabled:
            for render_id in queued:
                self.submit(render_id)
        return queued

    def _run(self, render_id: int) -> None:
        assert self.renderer is not None

        def begin(session: Session) -> tuple[str, str, dict[str, int]] | None:
            render = session.get(Render, render_id)
            if render is None or render.finished_at is not None:
                return None
            if render.status == "queued":
                render.status, render.started_at = "running", utcnow()
            return script_path_of(session, render), render.out_dir, dict(render.retakes or {})

        try:
            job = self.db.write(begin)
        except Exception:  # noqa: BLE001 - a job must never die silently
            log.exception("render %s could not start", render_id)
            self.db.write(lambda s: self._fail(s, render_id, "could not read the render to start it"))
            return
        if job is None:
            return
        script_path, out_dir, retakes = job
        try:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            result = self.renderer(script_path, out_dir, retakes)
        except BaseException as exc:  # noqa: BLE001 - recorded, then the thread ends
            message = _error_text(exc)
            log.warning("render %s failed: %s", render_id, message)
            self.db.write(lambda s: self._fail(s, render_id, message))
            if not isinstance(exc, Exception):
                raise
            return

        def succeed(session: Session) -> None:
            render = session.get(Render, render_id)
            if render is None or render.finished_at is not None:
                return  # the flow recorded the outcome itself
            qc = result.get("qc") if isinstance(result, dict) and isinstance(result.get("qc"), dict) else None
            finish_render(
                session, render_id, status="succeeded", episode_uri=_episode_uri(result, out_dir), qc=qc
            )

        self.db.write(succeed)

    @staticmethod
    def _fail(session: Session, render_id: int, message: str) -> None:
        render = session.get(Render, render_id)
        if render is not None and render.finished_at is None:
            finish_render(session, render_id, status="failed", error=message)

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
