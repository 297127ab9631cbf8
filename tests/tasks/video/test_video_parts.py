"""Units of the video package: sprites, wrapping, camera paths, plates, lip-sync envelopes, looks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from schemas.generate import SpokenLine, WordTiming
from tasks.video.camera import camera_path, canvas_size
from tasks.video.errors import VideoError
from tasks.video.looks import character_look
from tasks.video.plates import location_kind, normalise_time, plate_spec, render_plate
from tasks.video.speech import speech_for
from tasks.video.text import Sprite, load_font, tokens, wrap_to_width


def test_sprite_blend_matches_float_alpha_compositing_and_clips() -> None:
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    frame = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    a = rgba[..., 3:4] / 255.0
    expected = frame.astype(float)
    expected[5:25, 10:40] = rgba[..., :3] * a + expected[5:25, 10:40] * (1 - a)
    out = Sprite.from_rgba(rgba, 10, 5).blend(frame.copy())
    assert np.abs(out.astype(float) - expected).max() <= 1.0
    half = Sprite.from_rgba(rgba, 10, 5).blend(frame.copy(), 0.5).astype(float)
    exp_half = frame.astype(float)
    exp_half[5:25, 10:40] = rgba[..., :3] * a * 0.5 + exp_half[5:25, 10:40] * (1 - a * 0.5)
    assert np.abs(half - exp_half).max() <= 2.0
    edge = Sprite.from_rgba(rgba, 40, -10).blend(frame.copy())  # hangs off the right and top edges
    assert np.array_equal(edge[:, :40], frame[:, :40]) and np.array_equal(edge[10:], frame[10:])


def test_tokens_and_width_wrap() -> None:
    assert tokens("你好，world peace") == ["你", "好", "，", "world ", "peace"]
    font = load_font(None, 30)
    lines = wrap_to_width("The quick brown fox jumps over the lazy dog again and again", font, 200, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 200 for line in lines)


def test_static_camera_is_an_exact_centre_crop() -> None:
    w, h = 100, 160
    cw, ch = canvas_size(w, h)
    canvas = np.random.default_rng(1).integers(0, 256, (ch, cw, 3), dtype=np.uint8)
    path = camera_path("static", 3, w, h)
    x0, y0 = (cw - w) // 2, (ch - h) // 2
    assert np.array_equal(path.render(canvas, 1), canvas[y0 : y0 + h, x0 : x0 + w])


def test_camera_moves_go_the_right_way() -> None:
    w, h = 108, 192
    push = camera_path("push_in", 20, w, h)
    assert push.zoom[0] > 1.15 and push.zoom[-1] == pytest.approx(1.0) and np.all(np.diff(push.zoom) <= 1e-12)
    pull = camera_path("pull_out", 20, w, h)
    assert pull.zoom[0] == pytest.approx(1.0) and pull.zoom[-1] > 1.15
    cw, ch = canvas_size(w, h)
    mark = (cw / 2, ch / 2)
    pan = camera_path("pan_left", 20, w, h)
    assert (
        pan.to_screen(-1, *mark)[0] > pan.to_screen(0, *mark)[0]
    )  # the view moves left: the set slides right
    tilt = camera_path("tilt_up", 20, w, h)
    assert tilt.to_screen(-1, *mark)[1] > tilt.to_screen(0, *mark)[1]
    shake = camera_path("handheld", 60, w, h, seed=5)
    assert np.ptp(shake.cx) > 1 and np.ptp(shake.roll) > 0
    for k in range(60):  # the rotated window never leaves the canvas (no smeared borders)
        m = shake.matrix(k)
        corners = m[:, :2] @ np.array([[0, w, 0, w], [0, 0, h, h]]) + m[:, 2:3]
        assert corners.min() >= -0.5 and corners[0].max() <= cw and corners[1].max() <= ch
    with pytest.raises(VideoError, match="shot.camera"):
        camera_path("dolly_zoom", 5, w, h)


def test_location_keywords_and_time_words() -> None:
    assert location_kind("总裁办公室", "INT") == "office"
    assert location_kind("林家客厅", "INT") == "room"
    assert location_kind("City street", None) == "street"
    assert location_kind("Central Park", "EXT") == "park"
    assert (
        location_kind("somewhere odd", "EXT") == "street" and location_kind("somewhere odd", "INT") == "room"
    )
    assert [normalise_time(t) for t in ("夜", "黄昏", "清晨", "日", "NIGHT")] == [
        "night",
        "dusk",
        "dawn",
        "day",
        "night",
    ]


def test_plates_are_cached_read_only_and_dusk_is_warm() -> None:
    spec = plate_spec("Main Street", "EXT", "dusk", 135, 240)
    plate = render_plate(spec)
    assert plate is render_plate(spec) and not plate.flags.writeable
    sky = plate[int(240 * 0.45) : int(240 * 0.55)].reshape(-1, 3).mean(axis=0)  # near the horizon
    assert sky[0] > sky[2]


def _line(path: str, start: int, n: int, who: str = "A", **kw) -> SpokenLine:
    return SpokenLine(character=who, text="hi", lang="en", audio=path, start_sample=start, samples=n, **kw)


def test_envelope_follows_the_audio(tmp_path: Path) -> None:
    rate = 48_000
    sig = np.zeros(rate, np.float32)
    sig[9600:19200] = 0.4 * np.sin(np.arange(9600) * 0.05)  # loud from 0.2 s to 0.4 s of the line
    path = tmp_path / "a.wav"
    wavfile.write(path, rate, (sig * 32767).astype(np.int16))  # int16 is read too
    speech = speech_for([_line(str(path), 4800, rate)], frames=45, fps=30, rate=rate)
    levels = [speech.level("A", k) for k in range(45)]
    # The line starts 0.1 s into the shot: loud frames are 9..14 (0.3–0.5 s).
    assert max(levels[:8]) == 0 and min(levels[10:14]) >= 2 and max(levels[17:]) == 0
    assert speech.speaking("A", 3) and not speech.speaking("A", 2)  # the span covers the whole line
    assert speech.level("nobody", 10) == 0


def test_envelope_from_word_timings_without_audio() -> None:
    words = (WordTiming(text="hi", start=0.0, end=0.3), WordTiming(text="there", start=0.6, end=0.9))
    speech = speech_for([_line("", 0, 48_000, words=words)], frames=30, fps=30, rate=48_000)
    levels = [speech.level("A", k) for k in range(30)]
    assert max(levels[2:8]) > 0 and max(levels[11:17]) == 0 and max(levels[20:26]) > 0


def test_bad_line_audio_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    wavfile.write(path, 16_000, np.zeros(1600, np.float32))
    with pytest.raises(VideoError, match=r"lines\[0\]\.audio[\s\S]*resample"):
        speech_for([_line(str(path), 0, 1600)], frames=3, fps=30, rate=48_000)


def test_looks_are_stable_and_varied() -> None:
    assert character_look("林婉") == character_look("林婉")
    assert replace(character_look(" 林婉 "), name="林婉") == character_look("林婉")  # spacing does not recast
    looks = [character_look(f"Person {i}") for i in range(24)]
    assert len({lk.clothing for lk in looks}) >= 20
    assert len({lk.hairstyle for lk in looks}) >= 5 and len({lk.outfit for lk in looks}) >= 4
