"""The shot's effects track: each SFX cue synthesised, placed at its exact sample and panned to whoever acts.

Synthesis lives in ``tasks.audio.sfx`` (``match_cue`` names a sound for a cue text, ``synthesize`` renders
it through a room); this module only decides where and how loud it sits in the shot.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from schemas.plan import Cue
from tasks.media.timebase import seconds_to_samples
from tasks.video.errors import VideoError
from tasks.video.looks import stable_rng


@dataclass(frozen=True, slots=True)
class EffectsTrack:
    audio: np.ndarray  # (samples + tail, 2) float32: tail ≤ ring, the part still sounding after the cut
    placed: tuple[dict, ...]  # one record per cue that sounded: text, sound, sample, pan, character
    unmatched: tuple[str, ...]  # cue texts no synthesiser matched
    outside: tuple[str, ...]  # cue texts timed at or after the shot's end (nothing to place)


def acting_character(cue: Cue, positions: Mapping[str, float], speaker: str | None) -> str | None:
    """Whose sound it is: a character named in the cue text, else the speaker, else the only one on screen."""
    text = cue.text.casefold()
    named = [n for n in positions if n.casefold() in text]
    if named:
        return max(named, key=len)
    if speaker in positions:
        return speaker
    if len(positions) == 1:
        return next(iter(positions))
    return None


def effects_track(
    cues: Sequence[Cue],
    *,
    samples: int,
    rate: int,
    seed: int,
    room: str | None,
    positions_at: Callable[[float], Mapping[str, float]],
    speaker: str | None,
    ring: int = 0,
) -> EffectsTrack:
    """Mix every cue into a ``(samples, 2)`` buffer, longer by up to ``ring`` samples where a sound (a slam's
    reverb, a crash) still rings at the shot's end: the caller lets that tail run on past the cut.

    ``positions_at(seconds)`` maps on-screen names to their x in 0..1 of the frame at that moment.
    """
    audio = np.zeros((samples + max(ring, 0), 2), np.float32)
    if not cues:
        return EffectsTrack(audio[:samples], (), (), ())
    try:
        sfx = importlib.import_module("tasks.audio.sfx")
    except ImportError as exc:
        raise VideoError(
            f"the shot has SFX cues but the synthesiser tasks.audio.sfx cannot be imported ({exc})",
            field="request.sfx",
            hint="install the full project (`make install`) or remove the cues",
        ) from None
    placed: list[dict] = []
    last = samples  # the end of the longest-ringing sound, at least the shot's end
    unmatched: list[str] = []
    outside: list[str] = []
    for i, cue in enumerate(cues):
        name = sfx.match_cue(cue.text)
        if name is None:
            unmatched.append(cue.text)
            continue
        positions = positions_at(cue.at)  # where everyone is on screen when the sound happens
        who = acting_character(cue, positions, speaker)
        pan = float(np.clip((positions[who] * 2.0 - 1.0) * 0.8, -1.0, 1.0)) if who is not None else 0.0
        cue_seed = int(stable_rng("sfx", seed, i, cue.text).integers(2**31))
        start = seconds_to_samples(max(cue.at, 0.0), rate)
        if start >= samples:
            outside.append(cue.text)
            continue
        extra = {}
        if cue.duration > 0:  # a timed texture (rain, typing): as long as the cue, cut at the shot end
            extra["duration"] = min(cue.duration, (samples - start) / rate)
        sound = np.asarray(sfx.synthesize(name, seed=cue_seed, room=room, pan=pan, **extra), np.float32)
        if sound.ndim == 1:
            sound = np.repeat(sound[:, None], 2, axis=1)
        if sound.ndim != 2 or sound.shape[1] != 2:
            raise VideoError(
                f"tasks.audio.sfx.synthesize({name!r}) returned shape {sound.shape}, expected (n, 2)",
                field="sfx",
                hint="the synthesiser must return stereo float samples",
            )
        end = min(start + len(sound), len(audio))
        if end > start:
            audio[start:end] += sound[: end - start]
            last = max(last, end)
        placed.append(
            {"text": cue.text, "sound": name, "sample": start, "pan": round(pan, 3), "character": who}
        )
    return EffectsTrack(audio[:last], tuple(placed), tuple(unmatched), tuple(outside))
