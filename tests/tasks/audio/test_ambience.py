"""Ambience: every scene has room tone in the effects stem; weather and place words bring their loops."""

from __future__ import annotations

import numpy as np
import pytest

from storage.assets import LocalAssetStore
from tasks.audio.ambience import ROOM_TONES, SceneBed, ambience_track, room_tone_loop, scene_bed, scene_loops
from tasks.audio.mix import measure
from tasks.audio.soundtrack import mix_soundtrack
from tasks.audio.wav import read_wav, write_wav

from tests.tasks.audio.test_mix import speech_like, steady_music

RATE = 48_000


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-30))


@pytest.mark.parametrize(
    ("text", "loops"),
    [
        ("EXT. HARBOR CITY STREETS - NIGHT Rain sheets across neon.", ("rain", "traffic")),
        ("INT. OFFICE - DAY She types.", ()),
        ("Maya bursts into the rain. A new order, pickup at Pier Nine.", ("rain", "sea")),
        ("1-1 夜 外 林家别墅门口 大雨倾盆。", ("rain",)),
        ("INT. CAFE - DAY The wind rattles the windows.", ("wind", "crowd_murmur")),
    ],
)
def test_weather_and_place_words_pick_loops_even_outside_caps(text: str, loops: tuple[str, ...]) -> None:
    assert scene_loops(text) == loops


def test_rooms_and_rain_from_the_scene() -> None:
    bed = scene_bed("EXT. HARBOR LANE - NIGHT", "EXT", "HARBOR LANE", "Rain sheets across neon.", RATE, 3)
    assert (bed.room, bed.loops) == ("outdoor", ("rain",))
    assert scene_bed("INT. STAIRWELL - NIGHT", "INT", "STAIRWELL", "", RATE, 3).room == "stairwell"


def test_beds_cross_at_the_cut_without_a_dip_or_click_and_the_rain_scene_has_rain() -> None:
    """Two 3 s scenes: a quiet room, then the same room with rain. The level moves smoothly through the cut (no
    step over 6 dB between 100 ms windows), and the rain scene has far more 2–8 kHz energy (the rain loop)."""
    from scipy.signal import butter, sosfilt

    track = ambience_track([SceneBed("outdoor", (), 3 * RATE, 1), SceneBed("outdoor", ("rain",), 3 * RATE, 1)])
    assert track.shape == (6 * RATE, 2)
    hop = RATE // 10
    levels = [db(track[i : i + hop]) for i in range(RATE, 5 * RATE - hop, hop)]
    assert max(np.abs(np.diff(levels))) < 6.0
    high = sosfilt(butter(4, [2000, 8000], "band", fs=RATE, output="sos"), track, axis=0)
    assert db(high[int(3.5 * RATE) : 5 * RATE]) > db(high[RATE : int(2.5 * RATE)]) + 10
    assert db(track[: RATE // 50]) < db(track[RATE : 2 * RATE]) - 20  # faded in from silence at the episode start


@pytest.mark.parametrize("room", ROOM_TONES)
def test_room_tone_loops_without_a_click(room: str) -> None:
    """The loop's last sample flows into its first: the wrap is no bigger a step than the loop's own steps."""
    loop = room_tone_loop(room, 7).astype(np.float64)
    steps = np.abs(np.diff(loop, axis=0))
    assert np.abs(loop[0] - loop[-1]).max() <= np.percentile(steps, 99.9)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A 16 s episode: scene 1 (8 s, a small room, no effect cues, two spoken phrases), scene 2 (8 s, outdoor, rain)."""
    tmp = tmp_path_factory.mktemp("amb")
    n = 16 * RATE
    write_wav(tmp / "line.wav", speech_like(n, [(1.0, 3.5), (4.5, 6.5), (9.0, 12.0)]))
    write_wav(tmp / "music.wav", steady_music(n))
    write_wav(tmp / "fx.wav", np.zeros((n, 2), np.float32))
    beds = [
        scene_bed("INT. KITCHEN - NIGHT", "INT", "KITCHEN", "She waits.", 8 * RATE, 1),
        scene_bed("EXT. STREET - NIGHT", "EXT", "STREET", "Rain sheets across neon.", 8 * RATE, 2),
    ]
    result = mix_soundtrack(
        LocalAssetStore(tmp / "assets"), total_samples=n, lines=[(str(tmp / "line.wav"), 0)],
        effects=[(str(tmp / "fx.wav"), 0)], music=str(tmp / "music.wav"), ambience=beds,
    )  # fmt: skip
    stems = {k: read_wav(v)[0] for k, v in result.extra["stems"].items()}
    return result, stems, read_wav(result.path)[0]


def test_a_scene_without_cues_has_room_tone_between_minus_60_and_minus_40_dbfs(mixed) -> None:
    _, stems, _ = mixed
    fx = stems["effects"]
    scene_1 = fx[int(0.5 * RATE) : int(7.5 * RATE)]
    assert -60.0 < db(scene_1) < -40.0
    hop = RATE // 100
    frames = [db(scene_1[i : i + hop]) for i in range(0, len(scene_1) - hop, hop)]
    assert min(frames) > -70.0  # never digital silence
    assert db(fx[int(9 * RATE) : int(15 * RATE)]) > db(scene_1) + 6  # the rain scene carries rain


def test_the_mix_with_ambience_keeps_its_specs(mixed) -> None:
    result, stems, mix = mixed
    lufs, tp = measure(mix, RATE)
    assert abs(lufs + 14.0) <= 0.5 and tp <= -1.0
    total = stems["dialogue"] + stems["music"] + stems["effects"]
    assert np.abs(total - mix).max() < 1e-4
    assert np.abs(stems["music"] + stems["effects"] - stems["me"]).max() < 1e-4
