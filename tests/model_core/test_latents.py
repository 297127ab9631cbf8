"""The tiny preset's fixed latent space: shapes, exact right-inverse for video, audio that survives a round trip."""

from __future__ import annotations

import numpy as np
import pytest

from model_core.config import preset
from model_core.eval import audio_onsets, sync_f1
from model_core.latents import LatentError, latent_space
from model_core.toyworld import ToyWorld


@pytest.fixture(scope="module")
def space():
    return latent_space(preset("tiny"))


@pytest.fixture(scope="module")
def clips(space):
    world = ToyWorld(11, space.world)
    return [world.clip(i) for i in range(12)]


def test_space_fits_the_tiny_preset(space) -> None:
    cfg = preset("tiny")
    assert space.video_shape == (3, cfg.sample_size.frames, cfg.sample_size.height, cfg.sample_size.width)
    assert space.audio_shape == (cfg.audio.channels, cfg.sample_size.audio_length)
    assert space.hop * space.audio_rate == space.sample_rate
    assert space.world.frames / space.world.fps == space.audio_length / space.audio_rate  # same duration


def test_video_encode_shape_range_and_batching(space, clips) -> None:
    z = space.encode_video(clips[0].video)
    assert z.shape == space.video_shape and z.dtype == np.float32
    assert -1.0 <= z.min() and z.max() <= 1.0
    batch = space.encode_video(np.stack([c.video for c in clips[:3]]))
    assert batch.shape == (3, *space.video_shape)
    assert np.array_equal(batch[1], space.encode_video(clips[1].video))


def test_video_decoder_is_a_right_inverse(space) -> None:
    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, size=space.video_shape).astype(np.float32)
    frames = space.decode_video(z)
    assert frames.shape == (space.frames, 32, 32, 3) and frames.dtype == np.uint8
    # exact up to the uint8 quantisation of the decoded pixels
    assert np.abs(space.encode_video(frames) - z).max() <= 1 / 127.5 + 1e-6


def test_video_round_trip_keeps_the_picture(space, clips) -> None:
    for clip in clips:
        back = space.decode_video(space.encode_video(clip.video))
        assert np.abs(back.astype(int) - clip.video.astype(int)).mean() < 12


def test_audio_latent_levels(space, clips) -> None:
    silence = space.encode_audio(np.zeros(space.audio_length * space.hop, np.float32))
    assert silence.shape == space.audio_shape and np.allclose(silence, -1.0, atol=1e-3)
    loudest = max(float(space.encode_audio(c.audio).max()) for c in clips)
    assert 0.3 < loudest < 1.6  # a loud impact is about +1


def test_audio_round_trip_is_consistent_and_keeps_onsets(space, clips) -> None:
    truth, found = [], []
    for clip in clips:
        z = space.encode_audio(clip.audio)
        wave = space.decode_audio(z)
        assert wave.shape == clip.audio.shape and wave.dtype == np.float32
        assert np.abs(space.encode_audio(wave) - z).mean() < 0.12  # the decoder's output re-encodes to its input
        truth.append([e[0] for e in clip.events])
        found.append(audio_onsets(wave, space))
    assert sync_f1(truth, found, fps=space.fps, frames=space.frames).f1 > 0.9


def test_decode_is_deterministic(space, clips) -> None:
    z = space.encode_audio(clips[0].audio)
    assert np.array_equal(space.decode_audio(z, seed=3), space.decode_audio(z, seed=3))


def test_bad_inputs_and_configs_raise(space) -> None:
    with pytest.raises(LatentError, match="does not fit"):
        space.encode_video(np.zeros((4, 20, 20, 3), np.uint8))
    with pytest.raises(LatentError, match="multiple of the hop"):
        space.encode_audio(np.zeros(1001, np.float32))
    with pytest.raises(LatentError, match="bands"):
        space.decode_audio(np.zeros((3, 10), np.float32))
    with pytest.raises(LatentError, match="does not fit the toy latent space"):
        latent_space(preset("small"))
