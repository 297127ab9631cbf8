"""The dashboard in a real Chromium: sign in, play a render, rate a shot, draw a region, request a retake;
then the feedback rows and the new take exist and the page shows the new take.

Needs /usr/bin/chromium (Debian: ``apt-get install chromium``) and the ``playwright`` Python package; it
drives the system browser (no browser download)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.app import create_app
from storage.db import make_engine, session_scope
from storage.models import Decision, Feedback, Render, Shot, Take
from storage.repositories.registry import register_model_version
from tests.dashboard.conftest import make_users
from tests.dashboard.fakes import FakeRenderer, write_script

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip

pytestmark = pytest.mark.browser


def _playwright():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "the playwright Python package is missing: pip install playwright (no browser download needed)"
        )
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    url = f"sqlite:///{tmp_path / 'browser.db'}"
    renderer = FakeRenderer(url)
    app = create_app(url, renderer=renderer, renders_dir=tmp_path / "renders")
    tokens = make_users(url)
    first = renderer(str(write_script(tmp_path / "pilot.json")), str(tmp_path / "cli-render"), {})
    engine = make_engine(url)
    with session_scope(engine, write=True) as s:
        register_model_version(
            s,
            name="tiny-ft-1",
            checkpoint_uri="/ckpt/1",
            checkpoint_hash="c" * 64,
            metrics={"sync_error_ms": 38.0},
        )
    engine.dispose()
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        if time.time() > deadline:
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", url, tokens, first["render_id"]
    srv.should_exit = True
    thread.join(timeout=30)
    renderer.close()


def test_producer_rates_marks_a_region_and_gets_a_retake(server):
    sync_playwright = _playwright()
    base, url, tokens, first_render = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/")
            page.fill("#token", tokens["producer"])
            page.click("#signin")
            page.wait_for_selector("#who-name:has-text('producer-user')")
            page.click(".series-item")
            page.click(".episode-item")
            page.click(f".render-item[data-id='{first_render}']")
            page.wait_for_selector(".shot-marker[data-shot='sc01-sh02']")

            # play: the <video> loads through the signed, range-served URL and advances
            page.wait_for_function("document.querySelector('#video').readyState >= 1", timeout=20_000)
            page.evaluate("document.querySelector('#video').play()")
            page.wait_for_function("document.querySelector('#video').currentTime > 0.3", timeout=20_000)
            page.evaluate("document.querySelector('#video').pause()")
            assert page.evaluate("document.querySelector('#video').error") is None

            # select shot 2 (seeks there), rate, tag, comment
            page.click(".shot-marker[data-shot='sc01-sh02']")
            page.wait_for_selector("#shot-name:has-text('sc01-sh02')")
            page.check("#rating input[value='2']")
            page.check("#tags input[value='lip_sync_off']")
            page.fill("#comment", "mouth drifts on the last word")
            page.click("#mark-in")

            # draw a region on the paused frame: 20%..60% across, 10%..40% down
            page.click("#draw-region")
            page.locator("#overlay").scroll_into_view_if_needed()
            box = page.locator("#overlay").bounding_box()
            page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.1 * box["height"])
            page.mouse.down()
            page.mouse.move(box["x"] + 0.4 * box["width"], box["y"] + 0.25 * box["height"], steps=4)
            page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.4 * box["height"], steps=4)
            page.mouse.up()
            page.wait_for_selector("#region-count:has-text('1 region')")
            page.click("#submit-feedback")
            page.wait_for_selector("#shot-message:has-text('Saved feedback')")
            page.wait_for_selector(".feedback-item:has-text('lip_sync_off')")

            # request a retake; the page follows the new render and shows take 1
            page.fill("#comment", "retake please")
            page.click("#request-retake")
            page.wait_for_selector("#shot-message:has-text('is now take 1')", timeout=90_000)
            assert "take 1" in page.inner_text("#shot-take")
            assert page.locator("#takes .take-button[data-take='1']").count() == 1

            # play the new take on its own, then go back to the episode
            page.click("#takes .take-button[data-take='1']")
            page.wait_for_function("document.querySelector('#video').src.includes('/api/takes/')")
            page.wait_for_function("document.querySelector('#video').currentTime > 0.2", timeout=20_000)
            page.click("#back-to-episode")
            page.wait_for_function("document.querySelector('#video').src.includes('/api/renders/')")

            # trigger a whole-episode render and watch its status turn to succeeded
            before = page.locator(".render-item").count()
            page.click("#render-episode")
            page.wait_for_function(f"document.querySelectorAll('.render-item').length === {before + 1}")
            all_done = (
                "[...document.querySelectorAll('.render-item')].every(r => r.dataset.status === 'succeeded')"
            )
            page.wait_for_function(all_done, timeout=60_000)

            # the runs and models tabs
            page.click("#tabs button[data-tab='runs']")
            page.wait_for_selector(f"#runs-table tbody tr >> nth={before}")
            page.click("#tabs button[data-tab='models']")
            page.wait_for_selector("#models-table tbody tr:has-text('tiny-ft-1')")
            assert "sync_error_ms" in page.inner_text("#models-table")
            assert not errors, errors
        finally:
            browser.close()

    engine = make_engine(url)
    with session_scope(engine) as s:
        fb = s.scalars(select(Feedback)).one()
        assert fb.target == "take" and fb.rating == 2 and fb.shot_id == "sc01-sh02"
        assert [t.tag for t in fb.tags] == ["lip_sync_off"] and fb.comment == "mouth drifts on the last word"
        assert fb.t_start is not None and 1.0 <= fb.t_start < 2.0
        (region,) = fb.regions
        assert region.x == pytest.approx(0.2, abs=0.02) and region.y == pytest.approx(0.1, abs=0.02)
        assert region.w == pytest.approx(0.4, abs=0.02) and region.h == pytest.approx(0.3, abs=0.02)
        assert 1.0 <= region.t < 2.0
        decision = s.scalars(select(Decision).where(Decision.kind == "retake")).one()
        retake_render = s.get(Render, decision.retake_render_id)
        assert retake_render.status == "succeeded" and retake_render.retakes == {"sc01-sh02": 1}
        take = s.scalars(
            select(Take)
            .join(Shot, Shot.id == Take.shot_pk)
            .where(Shot.shot_id == "sc01-sh02", Take.render_id == retake_render.id)
        ).one()
        assert take.take == 1 and Path(take.asset_uri).is_file()
        # the whole-episode render triggered afterwards kept the retake
        newest = s.scalars(select(Render).order_by(Render.id.desc())).first()
        assert newest.id != retake_render.id and newest.status == "succeeded"
        assert newest.retakes == {"sc01-sh02": 1}
    engine.dispose()
