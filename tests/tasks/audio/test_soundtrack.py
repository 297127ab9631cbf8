"""The episode soundtrack: shot effects ring on past their cut, up to their scene's end and no further."""

from __future__ import annotations

import numpy as np

from storage.assets import LocalAssetStore
from tasks.audio.soundtrack import mix_soundtrack, scene_ends
from tasks.audio.wav import read_wav, write_wav

RATE = 48_000


def test_scene_ends_are_where_the_next_scene_starts():
    # five shots: scene 3 has two, scene 4 one, scene 7 two (scene indices need not be consecutive)
    offsets = [0, 100, 250, 400, 480]
    assert scene_ends([3, 3, 4, 7, 7], offsets, 600) == [250, 250, 400, 600, 600]
    assert scene_ends([1], [0], 50) == [50]


def test_an_effect_tail_rings_into_the_next_shot_but_stops_at_the_scene_end(tmp_path):
    """Three 1 s shots, the first two in one scene. Shot 1's effect WAV (a hit then a 2.5 s reverb tail) runs
    past its cut: the tail sounds under shot 2 and is cut where scene 2 starts."""
    store = LocalAssetStore(tmp_path / "assets")
    t = np.arange(int(2.6 * RATE)) / RATE
    tail = (np.random.default_rng(0).standard_normal(len(t)) * np.exp(-t / 0.8) * 0.3).astype(np.float32)
    write_wav(tmp_path / "shot1.fx.wav", np.stack([tail, tail], axis=1))
    for name in ("shot2.fx.wav", "shot3.fx.wav"):
        write_wav(tmp_path / name, np.zeros((RATE, 2), np.float32))
    music = 0.05 * np.sin(2 * np.pi * 220 * np.arange(3 * RATE) / RATE)
    write_wav(tmp_path / "music.wav", np.stack([music, music], axis=1).astype(np.float32))
    offsets = [0, RATE, 2 * RATE]
    ends = scene_ends([0, 0, 1], offsets, 3 * RATE)
    effects = [(str(tmp_path / f"shot{i + 1}.fx.wav"), off, end) for i, (off, end) in enumerate(zip(offsets, ends))]
    result = mix_soundtrack(
        store, total_samples=3 * RATE, lines=[], effects=effects, music=str(tmp_path / "music.wav")
    )
    fx, _ = read_wav(result.extra["stems"]["effects"])
    assert np.abs(fx[int(1.1 * RATE) : int(1.9 * RATE)]).max() > 1e-3, "the tail rings on under shot 2"
    assert np.abs(fx[2 * RATE :]).max() == 0.0, "and stops at the scene's end"



def _worst_step_db(x: np.ndarray, body_db: float, span_ms: int = 10) -> float:
    """The largest fall of the 10 ms RMS level (1 ms hop, floored at −120 dBFS) over the next ``span_ms``,
    counted from the moments the sound is within 30 dB of ``body_db`` (an audible level)."""
    ms = RATE // 1000
    power = (x.astype(np.float64) ** 2).reshape(len(x), -1).mean(axis=1)
    c = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(x) - 10 * ms, ms)
    level = 10 * np.log10(np.maximum((c[starts + 10 * ms] - c[starts]) / (10 * ms), 1e-12))
    audible = np.flatnonzero(level[:-span_ms] > body_db - 30)
    return float((level[audible] - level[audible + span_ms]).max())


def test_an_effect_cut_at_the_scene_end_fades_out_instead_of_stopping_dead():
    """A steady sound (noise at about −23 dBFS, as the listening bench found) runs past its scene's end: it is
    faded, not chopped — no fall of more than 15 dB within 10 ms while it is audible (a hard cut falls ~90 dB)."""
    from tasks.audio.soundtrack import _place

    noise = (np.random.default_rng(1).standard_normal((3 * RATE, 2)) * 0.07).astype(np.float32)
    body = 20 * np.log10(0.07)
    track = np.zeros((4 * RATE, 2), np.float32)
    _place(track, noise, RATE // 2, 2 * RATE)
    assert np.abs(track[2 * RATE :]).max() == 0.0  # still nothing past the cut: the next scene starts clean
    assert _worst_step_db(track, body) <= 15.0
    chopped = np.zeros_like(track)
    chopped[RATE // 2 : 2 * RATE] = noise[: 3 * RATE // 2]
    assert _worst_step_db(chopped, body) > 60.0  # the measure catches the old hard cut
