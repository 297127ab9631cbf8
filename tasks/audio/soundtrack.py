"""Episode-level sound, content-addressed: the score for the timed scenes, then the mix of dialogue, effects, music.

Dialogue and effects are placed at exact sample offsets (integer time); music is composed per scene at each
scene's exact length and crossfaded; the mix ducks music under speech and normalises loudness (tasks.audio.mix).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from schemas.media import AudioArtifact
from storage.assets import LocalAssetStore, code_version, content_key
from tasks.audio.ambience import SceneBed

STEMS = ("dialogue", "music", "effects", "me")


def score_episode(
    store: LocalAssetStore, scenes: Sequence[tuple[str, int, int, bool]], *, user_track: str | None = None
) -> AudioArtifact:
    """Music for ``scenes`` = (mood, samples, seed, stinger) each; or ``user_track`` looped/trimmed on beats."""
    from tasks.audio.score import episode_music, load_user_track
    from tasks.audio.wav import write_wav

    track_id = None
    if user_track:
        from storage.assets import file_digest

        track_id = file_digest(user_track)
    key = content_key("score", [list(s) for s in scenes], track_id, code_version("tasks.audio.score"))
    path, meta = store.path("score", key, ".wav"), store.path("score", key, ".json")
    total = sum(s[1] for s in scenes)
    if path.is_file() and meta.is_file():
        return AudioArtifact(key=key, path=str(path), samples=total, cached=True, extra=json.loads(meta.read_text()))
    if user_track:
        music = load_user_track(user_track, total)
    else:
        music = episode_music(list(scenes))
    samples = np.asarray(music.samples, dtype=np.float32)
    with store.writing("score", key, ".wav") as tmp:
        write_wav(tmp, samples, 48_000)
    extra = {"beats": [int(b) for b in music.beats], "tempo": float(getattr(music, "tempo", 0.0))}
    with store.writing("score", key, ".json") as tmp:
        tmp.write_text(json.dumps(extra))
    return AudioArtifact(key=key, path=str(path), samples=total, cached=False, extra=extra)


def scene_ends(scenes: Sequence[int], offsets: Sequence[int], total: int) -> list[int]:
    """For each shot (its scene's index, its first sample; in episode order): the sample where its scene ends.

    A shot's effects may ring on past its cut, but only to there: a new scene starts clean."""
    ends, end = [], total
    for i in reversed(range(len(scenes))):
        if i + 1 < len(scenes) and scenes[i + 1] != scenes[i]:
            end = offsets[i + 1]  # the next shot opens a new scene
        ends.append(end)
    return ends[::-1]


CUT_FADE = 0.15  # seconds: an effect still sounding at its scene's cut fades out over this, ending at the cut


def _place(track: np.ndarray, clip: np.ndarray, start: int, end: int | None = None, *, rate: int = 48_000) -> None:
    """Add ``clip`` into ``track`` at ``start``, cut at ``end`` (default: the track's end).

    A clip still sounding at the cut is faded out over ``CUT_FADE`` (raised cosine) ending exactly there, as a sound
    editor would: a new scene starts clean, but nothing drops to digital silence mid-sound."""
    end = len(track) if end is None else min(end, len(track))
    if start >= end:
        return
    n = min(len(clip), end - start)
    part = clip[:n]
    if n < len(clip):  # cut short: fade the last CUT_FADE before the cut
        k = min(n, int(CUT_FADE * rate))
        ramp = 0.5 + 0.5 * np.cos(np.pi * (np.arange(1, k + 1) / k))  # → 0 at the cut
        part = part.copy()
        part[n - k :] *= ramp if part.ndim == 1 else ramp[:, None]
    if part.ndim == 1 and track.ndim == 2:
        track[start : start + n] += part[:, None]
    else:
        track[start : start + n] += part


def mix_soundtrack(
    store: LocalAssetStore,
    *,
    total_samples: int,
    lines: Sequence[tuple[str, int]],
    effects: Sequence[tuple[str, int] | tuple[str, int, int]],
    music: str,
    ambience: Sequence[SceneBed] = (),
    target_lufs: float = -14.0,
    true_peak_db: float = -2.0,
) -> AudioArtifact:
    """Mix dialogue (``lines`` = (wav, start sample)), shot effects and music into the episode mix and stems.

    ``effects`` are (wav, start sample) or (wav, start, end sample): a shot's effects WAV may run past the shot
    (a tail ringing on after the cut) and is cut at ``end``, its scene's end (:func:`scene_ends`).

    ``ambience`` is each scene's room tone and weather/place loops (tasks.audio.ambience), in episode order, adding
    up to ``total_samples``: it goes into the effects stem (so into the M&E), under the dialogue.

    ``true_peak_db`` leaves 1 dB of headroom below the −1 dBTP delivery limit for the AAC encode's overshoot.
    """
    from storage.assets import file_digest
    from tasks.audio.mix import mix_episode
    from tasks.audio.wav import read_wav, write_wav

    key = content_key(
        "mix", total_samples, [(Path(p).name, s) for p, s in lines], [(Path(e[0]).name, *e[1:]) for e in effects],
        file_digest(music), target_lufs, true_peak_db, [(b.room, list(b.loops), b.samples, b.seed) for b in ambience],
        code_version("tasks.audio.mix", "tasks.audio.soundtrack", "tasks.audio.ambience", "tasks.audio.sfx"),
    )  # fmt: skip
    paths = {name: store.path("mix", key, f".{name}.wav") for name in (*STEMS, "mix")}
    meta = store.path("mix", key, ".json")
    if all(p.is_file() for p in paths.values()) and meta.is_file():
        extra = json.loads(meta.read_text())
        return AudioArtifact(key=key, path=str(paths["mix"]), samples=total_samples, cached=True, extra=extra)
    dialogue = np.zeros(total_samples, np.float32)
    spans = []
    for path, start in lines:
        clip, _ = read_wav(path)
        _place(dialogue, clip if clip.ndim == 1 else clip.mean(axis=1), start)
        spans.append((start, min(start + len(clip), total_samples)))
    fx = np.zeros((total_samples, 2), np.float32)
    for path, start, *end in effects:
        clip, _ = read_wav(path)
        _place(fx, clip if clip.ndim == 2 else np.repeat(clip[:, None], 2, axis=1), start, *end)
    score, _ = read_wav(music)
    score = score if score.ndim == 2 else np.repeat(score[:, None], 2, axis=1)
    music_track = np.zeros((total_samples, 2), np.float32)
    _place(music_track, score, 0)
    bed = None
    if ambience:
        from tasks.audio.ambience import ambience_track

        if sum(b.samples for b in ambience) != total_samples:
            from schemas.errors import ReelwrightError

            raise ReelwrightError(
                f"the scene beds add up to {sum(b.samples for b in ambience)} samples, the episode has {total_samples}",
                field="ambience", hint="give one bed per scene with the scene's length in samples",
            )  # fmt: skip
        bed = ambience_track(ambience)
    result = mix_episode(
        dialogue, fx, music_track, target_lufs=target_lufs, true_peak_db=true_peak_db, ambience=bed, lines=spans
    )
    for name in STEMS:
        with store.writing("mix", key, f".{name}.wav") as tmp:
            write_wav(tmp, result.stems[name], 48_000)
    extra = {
        "integrated_lufs": float(result.integrated_lufs),
        "true_peak_dbtp": float(result.true_peak_dbtp),
        "stems": {name: str(paths[name]) for name in STEMS},
    }
    with store.writing("mix", key, ".json") as tmp:
        tmp.write_text(json.dumps(extra))
    with store.writing("mix", key, ".mix.wav") as tmp:  # written last: its presence marks the mix complete
        write_wav(tmp, result.mix, 48_000)
    return AudioArtifact(key=key, path=str(paths["mix"]), samples=total_samples, cached=False, extra=extra)
