"""Evaluation: the detectors find the world's own events (F1 ≈ 1), a shuffled pairing scores low, metrics add up."""

from __future__ import annotations

import numpy as np
import pytest

from model_core.config import preset
from model_core.eval import (
    Match,
    audio_onsets,
    ball_count,
    dominant_colour,
    ground_truth_check,
    match_events,
    merge_events,
    score_clips,
    shuffled,
    visual_events,
)
from model_core.latents import latent_space
from model_core.toyworld import ToyWorld


@pytest.fixture(scope="module")
def space():
    return latent_space(preset("tiny"))


@pytest.fixture(scope="module")
def clips(space):
    world = ToyWorld(99, space.world)
    return [world.clip(i) for i in range(32)]


def test_detectors_on_ground_truth_clips(space, clips) -> None:
    report = score_clips([c.video for c in clips], [c.audio for c in clips], [c.scene for c in clips], space)
    assert report["sync_f1"] >= 0.9
    assert report["shuffled_f1"] <= 0.4
    assert report["colour_adherence"] == 1.0
    assert report["count_adherence"] >= 0.9
    check = ground_truth_check(clips[:16], space)
    assert check["visual_vs_truth_f1"] >= 0.9 and check["audio_vs_truth_f1"] >= 0.9
    assert check["latent_roundtrip_visual_vs_truth_f1"] >= 0.85
    assert check["latent_roundtrip_audio_vs_truth_f1"] >= 0.85


def test_detectors_see_nothing_in_an_empty_box(space) -> None:
    clip = ToyWorld(0, space.world).clip(0)
    empty = np.broadcast_to(clip.video[:, :1, :1], clip.video.shape).copy()  # background colour everywhere
    assert visual_events(empty, space.fps) == []
    assert dominant_colour(empty)[0] is None and ball_count(empty) == 0
    assert audio_onsets(np.zeros_like(clip.audio), space) == []
    noise = np.random.default_rng(0).normal(0, 0.003, clip.audio.shape).astype(np.float32)  # steady hiss
    assert audio_onsets(noise, space) == []


def test_audio_shifted_by_a_few_frames_loses_sync(space, clips) -> None:
    """Moving the sound 4 frames later breaks matching: the metric measures timing, not event counts."""
    shift = 4 * space.sample_rate // space.fps
    vis = [visual_events(c.video, space.fps) for c in clips[:20]]
    late = [audio_onsets(np.concatenate([np.zeros(shift, np.float32), c.audio[:-shift]]), space) for c in clips[:20]]
    on_time = [audio_onsets(c.audio, space) for c in clips[:20]]
    total_late = sum((match_events(v, a, fps=space.fps, frames=space.frames) for v, a in zip(vis, late)), Match(0, 0, 0))
    total_ok = sum((match_events(v, a, fps=space.fps, frames=space.frames) for v, a in zip(vis, on_time)),
                   Match(0, 0, 0))  # fmt: skip
    assert total_ok.f1 > 0.9 and total_late.f1 < 0.5


def test_match_events_tolerance_and_window() -> None:
    fps, frames = 16, 16
    assert match_events([0.5], [0.5 + 1 / 16], fps=fps, frames=frames) == Match(1, 0, 0)  # one frame off: a match
    assert match_events([0.5], [0.5 + 1.5 / 16], fps=fps, frames=frames) == Match(0, 1, 1)
    assert match_events([0.3, 0.6], [0.31], fps=fps, frames=frames) == Match(1, 0, 1)
    assert match_events([0.01], [], fps=fps, frames=frames) == Match(0, 0, 0)  # before the visible window
    assert match_events([], [0.99], fps=fps, frames=frames) == Match(0, 0, 0)
    assert merge_events([0.30, 0.32, 0.7], 1 / 16) == [pytest.approx(0.31), 0.7]
    assert Match(0, 0, 0).f1 == 1.0 and Match(1, 1, 0).f1 == pytest.approx(2 / 3)


def test_shuffled_is_a_derangement() -> None:
    items = list(range(10))
    out = shuffled(items, seed=3)
    assert sorted(out) == items and all(a != b for a, b in zip(out, items))
    assert shuffled(items, seed=3) == out and shuffled([1], seed=0) == [1]


def test_evaluate_runs_end_to_end_on_an_untrained_checkpoint(tmp_path) -> None:
    import torch

    from model_core.checkpoint import save_checkpoint
    from model_core.eval import evaluate
    from model_core.model import DualStreamMMDiT

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "ck", DualStreamMMDiT(preset("tiny")))
    report = evaluate(tmp_path / "ck", n_prompts=2, steps=2, batch_size=2, out_dir=tmp_path / "samples",
                      world_picture=True)  # fmt: skip
    gen, truth = report["generated"], report["ground_truth"]
    assert report["audio_given_world_picture"]["clips"] == 2
    assert report["audio_given_world_picture"]["colour_adherence"] == 1.0  # scored on the world's own pictures
    assert report["n_prompts"] == 2 and report["sampler"]["steps"] == 2
    for key in ("sync_f1", "shuffled_f1", "colour_adherence", "count_adherence"):
        assert 0.0 <= gen[key] <= 1.0 and 0.0 <= truth[key] <= 1.0
    assert truth["colour_adherence"] == 1.0  # the detectors work on the real clips of the same prompts
    assert gen["colour_adherence"] < 1.0  # an untrained model does not draw the asked-for balls
    assert len(list((tmp_path / "samples").glob("*.mp4"))) == 2
    from PIL import Image

    sheet = Image.open(tmp_path / "samples" / "samples.png")
    # 2 prompts x (caption 14 + two films of 2x32 px + 4 + two envelopes of 18); 16 frames x (64 + 8 px)
    assert sheet.size == (16 * 72, 2 * (14 + 2 * 68 + 2 * 18))


def test_the_audio_pass_alone_keeps_sync_on_the_worlds_own_pictures() -> None:
    """The shipped checkpoint's audio pass given the world's clips (not its own drawings) of 16 held-out prompts:
    measured sync F1 0.95 here (0.29 when each prompt is given another clip's picture); 0.93 on all 48 of seed 1
    and 0.92 of seed 0, where the full sampler scores 0.63 / 0.66 — the sound part is not what keeps the model
    under the 0.7 target."""
    from model_core.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from model_core.eval import EVAL_WORLD_SEED, score_clips
    from model_core.toyworld import ToyWorld

    if not (DEFAULT_CHECKPOINT / "ema.safetensors").is_file():
        pytest.skip("no shipped checkpoint in this tree")
    loaded = load_checkpoint()
    space = latent_space(loaded.config)
    world = ToyWorld(EVAL_WORLD_SEED + 1, space.world)
    clips = [world.clip(i) for i in range(16)]
    sounds = loaded.sound_for([c.caption for c in clips], [c.video for c in clips], seed=1)
    score = score_clips([c.video for c in clips], sounds, [c.scene for c in clips], space, seed=1)
    assert score["sync_f1"] >= 0.8, score
    assert score["sync_f1"] >= 2 * score["shuffled_f1"], score


def test_sound_for_wants_one_picture_per_prompt() -> None:
    from model_core.checkpoint import DEFAULT_CHECKPOINT, CheckpointError, load_checkpoint

    if not (DEFAULT_CHECKPOINT / "ema.safetensors").is_file():
        pytest.skip("no shipped checkpoint in this tree")
    with pytest.raises(CheckpointError, match="one picture per prompt"):
        load_checkpoint().sound_for(["a red ball bouncing"], [])
