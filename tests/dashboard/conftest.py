"""Dashboard fixtures: a migrated database per backend, the app with a fake renderer, one user per role,
and an episode already rendered once (as the CLI would have done)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dashboard.app import create_app
from storage.db import make_engine, session_scope
from storage.repositories.users import create_user
from tests.dashboard.fakes import FakeRenderer, write_script
from tests.storage.dbs import BACKENDS, temporary_database


@dataclass
class Api:
    client: TestClient
    url: str
    renderer: FakeRenderer
    tokens: dict[str, str]
    tmp: Path
    first_render: int
    episode_id: int

    def h(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def wait(self, render_id: int) -> dict:
        self.client.app.state.reelwright.jobs.wait(render_id, timeout=120)
        return self.client.get(f"/api/renders/{render_id}", headers=self.h("producer")).json()


def make_users(url: str) -> dict[str, str]:
    engine = make_engine(url)
    tokens = {}
    with session_scope(engine, write=True) as s:
        for role in ("producer", "ingester", "analyst", "admin"):
            tokens[role] = create_user(s, f"{role}-user", role)[1]
    engine.dispose()
    return tokens


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, tmp_path_factory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("dash")
    with temporary_database(request.param, tmp) as url:
        renderer = FakeRenderer(url)
        app = create_app(url, renderer=renderer, renders_dir=tmp / "renders", max_body_bytes=64 * 1024)
        tokens = make_users(url)
        script = write_script(tmp / "pilot.json")
        first = renderer(str(script), str(tmp / "cli-render"), {})
        with TestClient(app) as client:
            detail = client.get(
                f"/api/renders/{first['render_id']}",
                headers={"Authorization": f"Bearer {tokens['producer']}"},
            )
            yield Api(client, url, renderer, tokens, tmp, first["render_id"], detail.json()["episode"]["id"])
        renderer.close()
