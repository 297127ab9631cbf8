"""The score: exact length, a musical ending, moods that differ, stingers, an even beat grid, user tracks."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from tasks.audio.score import STYLES, ScoreError, beat_grid, compose, episode_music, load_user_track
from tasks.audio.wav import write_wav

RATE = 48_000
LENGTH = 8 * RATE + 777  # deliberately not a whole number of beats


@cache
def cue(mood: str, seed: int = 1, stinger: bool = False):
    return compose(mood, LENGTH, seed=seed, stinger=stinger)


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-30))


def centroid(x: np.ndarray) -> float:
    """Magnitude-weighted spectral centroid (brightness; a power weighting would only see the bass)."""
    mono = x.mean(axis=1)
    p = np.abs(np.fft.rfft(mono))
    f = np.fft.rfftfreq(len(mono), 1 / RATE)
    return float((f * p).sum() / p.sum())


@pytest.mark.parametrize("mood", sorted(STYLES))
def test_every_mood_has_exact_length_and_a_quiet_ending(mood):
    music = cue(mood)
    x = music.samples
    assert x.shape == (LENGTH, 2) and x.dtype == np.float32
    assert np.abs(x).max() <= 0.9
    middle = x[LENGTH // 2 - RATE // 2 : LENGTH // 2 + RATE // 2]
    assert rms_db(x[-RATE // 20 :]) < rms_db(middle) - 30, "the last 50 ms fade out, no chop"
    assert rms_db(middle) > -35, "audible"
    assert music.key.split()[1] in ("major", "minor")


def test_at_least_seven_moods_that_differ():
    assert len(STYLES) >= 7
    facts = {mood: (cue(mood).tempo, cue(mood).key) for mood in STYLES}
    assert len(set(facts.values())) == len(STYLES), facts
    assert centroid(cue("triumphant").samples) > 2 * centroid(cue("sad").samples)
    assert centroid(cue("comedic").samples) > centroid(cue("suspense").samples)
    assert cue("sad").tempo < cue("comedic").tempo
    assert cue("sad").key.endswith("minor") and cue("triumphant").key.endswith("major")


def test_seeded():
    assert np.array_equal(cue("tense").samples, compose("tense", LENGTH, seed=1).samples)
    other = compose("tense", LENGTH, seed=2).samples
    assert not np.array_equal(cue("tense").samples, other)


def test_stinger_adds_a_hit_at_the_end():
    plain, sting = cue("suspense"), cue("suspense", stinger=True)
    last = slice(LENGTH - int(1.5 * RATE), LENGTH)
    assert rms_db(sting.samples[last]) > rms_db(plain.samples[last]) + 10
    assert np.allclose(plain.samples[: RATE * 4], sting.samples[: RATE * 4], atol=0.02), (
        "the body is unchanged"
    )
    assert rms_db(sting.samples[-RATE // 50 :]) < rms_db(sting.samples[last]) - 20, (
        "…and still ends, not chops"
    )


@pytest.mark.parametrize("n, attack, release", [(RATE, 0.35, 0.6), (1000, 0.03, 0.12), (37, 0.01, 0.0)])
def test_note_envelope_is_the_raised_sine_over_the_whole_note(n, attack, release):
    from tasks.audio.score import _env

    t = np.arange(n) / RATE
    a = np.clip(t / max(attack, 1e-3), 0, 1)
    r = np.clip((n / RATE - t) / max(release, 1e-3), 0, 1)
    whole = np.sin(a * np.pi / 2) ** 2 * np.sin(r * np.pi / 2) ** 2  # computed over every sample
    env = _env(n, attack, release)
    assert np.array_equal(env, whole), "only the ramps are computed, the same values come out"
    assert _env(n, attack, release) is env and not env.flags.writeable, "cached, so shared and read-only"


def test_beats_are_evenly_spaced_and_bars_group_them():
    music = compose("comedic", 20 * RATE, seed=4, tempo=120.0)
    beats = np.array(music.beats)
    assert beats[0] == 0 and beats[-1] < 20 * RATE
    assert set(np.diff(beats)) == {RATE // 2}
    assert len(beats) == 40
    assert music.bars == music.beats[::4]
    odd = np.diff(np.array(compose("calm", 10 * RATE, seed=1, tempo=77.0).beats))
    assert odd.max() - odd.min() <= 1
    assert abs(odd.mean() - 60 / 77 * RATE) < 1


def test_episode_music_crossfades_scenes_to_the_exact_total():
    scenes = [
        ("calm", 6 * RATE + 11, 1, False),
        ("tense", 5 * RATE, 2, False),
        ("suspense", 4 * RATE + 5, 3, True),
    ]
    music = episode_music(scenes, crossfade_ms=800)
    total = sum(s[1] for s in scenes)
    assert music.samples.shape == (total, 2)
    beats = np.array(music.beats)
    assert (np.diff(beats) > 0).all() and beats[-1] < total
    assert {0, scenes[0][1], scenes[0][1] + scenes[1][1]} <= set(music.bars), (
        "each scene's grid starts at its cut"
    )
    cut = scenes[0][1]
    around = music.samples[cut - RATE // 4 : cut + RATE // 4]
    assert rms_db(around) > -45, "no hole at the scene change"
    assert rms_db(music.samples[-RATE // 20 :]) < rms_db(music.samples[total - int(1.2 * RATE) :]) - 15
    with pytest.raises(ScoreError, match="scene"):
        episode_music([])
    with pytest.raises(ScoreError, match="crossfade_ms"):
        episode_music(scenes, crossfade_ms=-5)


def click_track(bpm: float, seconds: float, tmp_path) -> str:
    """A drum-machine loop: a kick and a pitched note on every beat, an accent on each bar."""
    n = int(seconds * RATE)
    x = np.zeros(n)
    t = np.arange(int(0.2 * RATE)) / RATE
    hit = np.sin(2 * np.pi * 90 * t) * np.exp(-t / 0.04) + 0.3 * np.sin(2 * np.pi * 660 * t) * np.exp(
        -t / 0.08
    )
    beat = 60 / bpm * RATE
    k = 0
    while int(0.25 * RATE + k * beat) < n - len(t):
        at = int(0.25 * RATE + k * beat)
        x[at : at + len(t)] += hit * (1.0 if k % 4 == 0 else 0.6)
        k += 1
    path = tmp_path / "loop.wav"
    write_wav(path, np.stack([x, x], axis=1).astype(np.float32) * 0.5)
    return str(path)


def test_user_track_is_looped_on_bars_to_the_exact_length(tmp_path):
    path = click_track(100.0, 7.0, tmp_path)
    music = load_user_track(path, 20 * RATE + 3)
    assert music.samples.shape == (20 * RATE + 3, 2)
    assert abs(music.tempo - 100.0) < 2.0
    beats = np.array(music.beats)
    assert abs(beats[0] - 0.25 * RATE) < 0.03 * RATE
    step = np.diff(beats)
    assert abs(step.mean() - 0.6 * RATE) < 0.02 * RATE
    mono = music.samples.mean(axis=1)
    onsets = [int(np.argmax(np.abs(mono[b - 1200 : b + 2400]))) + b - 1200 for b in beats[20:30]]
    assert np.abs(np.array(onsets) - beats[20:30]).max() < 0.04 * RATE, "loops keep the hits on the grid"
    assert rms_db(music.samples[-RATE // 20 :]) < rms_db(music.samples[RATE : 10 * RATE]) - 25
    short = load_user_track(path, 3 * RATE + 1)  # longer than needed: trimmed, and still fades out
    assert short.samples.shape == (3 * RATE + 1, 2)
    assert rms_db(short.samples[-RATE // 20 :]) < rms_db(short.samples[: 2 * RATE]) - 25


def test_beat_grid_of_a_steady_track(tmp_path):
    from tasks.audio.wav import read_wav

    data, _ = read_wav(click_track(128.0, 8.0, tmp_path))
    tempo, first = beat_grid(data)
    assert abs(tempo - 128.0) < 2.0
    assert abs(first - 0.25 * RATE) < 0.03 * RATE


def test_bad_input_teaches(tmp_path):
    with pytest.raises(ScoreError, match="mood"):
        compose("jazzy", RATE, seed=0)
    with pytest.raises(ScoreError, match="samples"):
        compose("calm", 100, seed=0)
    with pytest.raises(ScoreError, match="no_such.wav"):
        load_user_track(tmp_path / "no_such.wav", RATE)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"this is not audio at all" * 50)
    with pytest.raises(ScoreError, match="junk.mp3"):
        load_user_track(junk, RATE)
    silent = tmp_path / "silent.wav"
    write_wav(silent, np.zeros((5 * RATE, 2), np.float32))
    with pytest.raises(ScoreError, match="silent"):
        load_user_track(silent, RATE)
