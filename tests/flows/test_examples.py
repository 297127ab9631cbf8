"""The bundled examples, rendered small, measured the way a sound editor would check them (issue 3's checks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysubs2
import pytest

from tasks.assembly.qc import decode_audio
from tasks.audio.mix import measure
from tasks.audio.wav import read_wav

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"en": ROOT / "examples" / "the_last_delivery.fountain", "zh": ROOT / "examples" / "hongbao.md"}
RATE = 48_000


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def render(request, prefect_harness, tmp_path_factory):
    from flows.render_episode import render_episode

    root = tmp_path_factory.mktemp(f"example-{request.param}")
    render_episode(script=str(EXAMPLES[request.param]), out=str(root / "out"), cache=str(root / "cache"), size="270x480")
    out = root / "out"
    stems = {name: read_wav(out / "stems" / f"{name}.wav")[0] for name in ("dialogue", "music", "effects", "me")}
    return request.param, out, stems, json.loads((out / "timing.json").read_text())


def _mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12)


def test_loudness_and_true_peak_within_spec(render):
    _, out, _, _ = render
    qc = json.loads((out / "qc.json").read_text())
    assert abs(qc["integrated_lufs"] + 14.0) <= 1.0, qc["integrated_lufs"]
    assert qc["true_peak_dbtp"] <= -1.0, qc["true_peak_dbtp"]
    assert 60.0 <= qc["duration_s"] <= 180.0, "an episode runs 60-180 s"
    assert not qc["unmatched_sfx"], f"every sound cue of the examples has an effect: {qc['unmatched_sfx']}"


def test_stems_sum_to_the_mix(render):
    _, out, stems, _ = render
    np.testing.assert_allclose(stems["me"], stems["music"] + stems["effects"], atol=2e-4)
    total = _mono(stems["dialogue"] + stems["me"])
    episode = _mono(decode_audio(out / "episode.mp4"))
    n = min(len(total), len(episode))
    a, b = total[:n], episode[:n]
    # The delivered AAC may carry a small gain trim (true-peak safety); the shape must be the same signal.
    corr = float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))
    assert corr > 0.98, corr


def test_speech_stands_12_db_over_music_while_speaking(render):
    _, _, stems, timing = render
    dialogue, music = _mono(stems["dialogue"]), _mono(stems["music"])
    ratios = []
    for line in timing["lines"]:
        span = slice(line["start_sample"], line["start_sample"] + line["samples"])
        ratios.append(_rms_db(dialogue[span]) - _rms_db(music[span]))
    assert min(ratios) >= 12.0, sorted(ratios)[:5]


def test_music_is_ducked_under_dialogue(render):
    _, _, stems, timing = render
    music = _mono(stems["music"])
    depths = []
    for line in timing["lines"]:
        start, n = line["start_sample"], line["samples"]
        before = music[max(0, start - RATE) : max(0, start - RATE // 4)]
        during = music[start + RATE // 4 : start + max(n, RATE // 2)]
        if len(before) > RATE // 2 and len(during) > RATE // 8 and _rms_db(before) > -60:
            depths.append(_rms_db(before) - _rms_db(during))
    assert depths, "no line had music before it to compare with"
    assert 4.0 <= float(np.median(depths)) <= 14.0, depths


def _onset(x: np.ndarray, around: int, window: int, hop: int = 48) -> int | None:
    """First 1 ms hop within ±window of ``around`` that stands 12 dB over the median of the 100 ms before it."""
    lo, hi = max(0, around - window), min(len(x), around + window)
    env = np.array([np.sqrt(np.mean(x[i : i + hop] ** 2) + 1e-12) for i in range(lo, hi, hop)])
    db = 20 * np.log10(env)
    for k in range(100, len(db)):
        if db[k] > np.median(db[k - 100 : k]) + 12 and db[k] > -60:
            return lo + k * hop
    return None


def test_every_sfx_cue_lands_at_its_planned_time(render):
    _, _, stems, timing = render
    effects = _mono(stems["effects"])
    cues = [c for shot in timing["shots"] for c in shot["sfx"]]
    assert cues, "the examples have sound cues"
    misses = []
    for cue in cues:
        onset = _onset(effects, cue["at_sample"], window=RATE // 4)
        if onset is None or abs(onset - cue["at_sample"]) > RATE * 0.05:
            misses.append((cue["text"], cue["at_sample"], onset))
    assert not misses, misses


def test_subtitles_start_with_the_spoken_words(render):
    _, out, stems, timing = render
    dialogue = _mono(stems["dialogue"])
    subs = pysubs2.load(str(out / "episode.srt"))
    frame = RATE / 30
    checked = 0
    for line in timing["lines"]:
        onset = _onset(dialogue, line["start_sample"] + 1440, window=RATE // 4)
        if onset is None:
            continue
        first = min((ev for ev in subs), key=lambda ev: abs(ev.start / 1000 * RATE - onset))
        assert abs(first.start / 1000 * RATE - onset) <= frame + RATE * 0.001, (line["text"], first.start, onset / RATE)
        checked += 1
    assert checked >= len(timing["lines"]) * 0.8
