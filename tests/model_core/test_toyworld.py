"""The toy audio-visual world: determinism, exact event times, captions and prompt vocabulary, MP4 export."""

from __future__ import annotations

import numpy as np
import pytest

from model_core.toyworld import (
    COLOURS,
    MATERIALS,
    Scene,
    ToyWorld,
    ToyWorldError,
    WorldSpec,
    export_clip,
    parse_prompt,
    scene_from_text,
)


def test_clips_are_deterministic_by_seed_and_index() -> None:
    a, b = ToyWorld(7).clip(3), ToyWorld(7).clip(3)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.audio, b.audio)
    assert a.events == b.events and a.caption == b.caption
    c, d = ToyWorld(7).clip(4), ToyWorld(8).clip(3)
    assert not np.array_equal(a.video, c.video) and not np.array_equal(a.video, d.video)


def test_clip_shapes_and_ranges() -> None:
    spec = WorldSpec()
    clip = ToyWorld(0).clip(0)
    assert clip.video.shape == (spec.frames, spec.height, spec.width, 3) and clip.video.dtype == np.uint8
    assert clip.audio.shape == (spec.samples,) and clip.audio.dtype == np.float32
    assert spec.samples == spec.sample_rate * spec.frames // spec.fps
    assert np.abs(clip.audio).max() <= 1.0
    assert all(0 <= t < float(spec.duration) and k in ("floor", "wall") for t, _, k in clip.events)
    assert [e[0] for e in clip.events] == sorted(e[0] for e in clip.events)


def _bouncing(world: ToyWorld, want: int = 6) -> list:
    out = []
    i = 0
    while len(out) < want:
        c = world.clip(i)
        if c.scene.motion == "bouncing" and c.events:
            out.append(c)
        i += 1
    return out


def test_first_impact_starts_exactly_at_its_sample() -> None:
    world = ToyWorld(1)
    for clip in _bouncing(world):
        sr = world.spec.sample_rate
        first = round(clip.events[0][0] * sr)
        # nothing sounds before the first impact of a bouncing clip, and the impact's click is its first sample
        assert np.all(clip.audio[:first] == 0.0)
        assert abs(clip.audio[first]) > 0.05


def test_every_impact_raises_the_level_at_its_time() -> None:
    world = ToyWorld(2)
    sr = world.spec.sample_rate
    w = int(0.004 * sr)
    for clip in _bouncing(world, 8):
        for t, _, _ in clip.events:
            s = round(t * sr)
            if s < w or s + w > len(clip.audio):
                continue
            before = np.sqrt(np.mean(clip.audio[s - w : s] ** 2))
            after = np.sqrt(np.mean(clip.audio[s : s + w] ** 2))
            assert after > 2.0 * before + 1e-4


def test_balls_touch_the_floor_at_floor_impacts() -> None:
    world = ToyWorld(3)
    spec = world.spec
    for clip in _bouncing(world):
        pos = clip.meta["positions"]  # (F, balls, 2)
        for t, ball, kind in clip.events:
            k = round(t * spec.fps)
            if kind == "floor" and k < spec.frames:
                # within half a frame of the impact the ball is close to the floor
                assert pos[k, ball, 1] > spec.floor_y - 0.5 * 150 / spec.fps


def test_caption_matches_the_pixels() -> None:
    world = ToyWorld(4)
    for i in range(12):
        clip = world.clip(i)
        assert clip.caption == clip.scene.caption()
        rgb = np.asarray(COLOURS[clip.scene.colour])
        close = (np.abs(clip.video.astype(int) - rgb).sum(-1) < 30).sum(axis=(1, 2))  # ball pixels per frame
        assert close.min() >= 20 * clip.scene.count * 0.5


def test_materials_sound_different() -> None:
    """Brightness (spectral centroid) orders rubber < wood < metal < glass."""
    centroids = {}
    for material in MATERIALS:
        world = ToyWorld(5)
        clips = [world.clip(i, Scene(colour="red", material=material, speed="fast")) for i in range(6)]
        audio = np.concatenate([c.audio for c in clips])
        spec = np.abs(np.fft.rfft(audio)) ** 2
        freqs = np.fft.rfftfreq(len(audio), 1 / world.spec.sample_rate)
        centroids[material] = float((spec * freqs).sum() / spec.sum())
    assert centroids["rubber"] < centroids["wood"] < centroids["metal"] < centroids["glass"]


def test_parse_prompt_round_trip_and_defaults() -> None:
    scene = Scene(colour="red", material="rubber", count=2, motion="bouncing", speed="fast")
    assert parse_prompt(scene.caption()) == scene
    assert parse_prompt("two red rubber balls bouncing fast") == scene
    s = parse_prompt("a blue metal ball")
    assert (s.colour, s.material, s.count) == ("blue", "metal", 1)
    assert parse_prompt("A Yellow glass ball rolling").motion == "rolling"
    assert parse_prompt("green balls bouncing slowly").count == 2


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("a purple rubber ball", ["unknown colour 'purple'", "red, green, blue, yellow"]),
        ("a red plastic ball", ["unknown material 'plastic'", "rubber, wood, metal, glass"]),
        ("a red and blue ball", ["several colours"]),
        ("five red balls", ["5 balls", "one or two"]),
        ("a rubber ball", ["names no ball colour"]),
    ],
)
def test_prompt_vocabulary_errors_teach(prompt: str, words: list[str]) -> None:
    with pytest.raises(ToyWorldError) as err:
        parse_prompt(prompt)
    for w in words:
        assert w in str(err.value)


def test_scene_from_any_text_is_stable_and_uses_known_words() -> None:
    text = "INT. KITCHEN - NIGHT. Anna slams the door."
    assert scene_from_text(text) == scene_from_text(text)
    assert scene_from_text("a green glass ball in the kitchen").colour == "green"
    assert scene_from_text("a green glass ball in the kitchen").material == "glass"
    assert scene_from_text("a purple thing").colour in COLOURS  # unknown words never fail a shot


def test_export_mp4_has_video_and_audio(tmp_path) -> None:
    import av

    clip = ToyWorld(0).clip(1)
    path = export_clip(clip, tmp_path / "clip.mp4", scale=4)
    with av.open(str(path)) as container:
        frames = [f for f in container.decode(video=0)]
        assert len(frames) == clip.video.shape[0]
        assert (frames[0].width, frames[0].height) == (128, 128)
    with av.open(str(path)) as container:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(audio) >= 0.9 * 48_000 * clip.video.shape[0] / 16
