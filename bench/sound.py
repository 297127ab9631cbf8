"""Sound benchmark: SFX + score + mix of a 90 s programme, loudness accuracy over 10 seeds, and our ducked mix
against the peer approach of a fixed background-music volume (MoneyPrinterTurbo: ``bgm_volume=0.2`` applied with
``afx.MultiplyVolume`` to the music file, then ``CompositeAudioClip([voice, bgm])``, no loudness normalisation).

Run: ``.venv/bin/python bench/sound.py`` (≈ 1 min on 2 cores). Writes ``bench/results/sound.json``.
Dialogue is eSpeak NG speech (tasks.audio.espeak) when importable, else a speech-shaped synthetic signal; the JSON
says which. All figures come from this one run on this machine, side by side.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "sound.json"
RATE = 48_000
SECONDS = 90
SEEDS = range(10)

# (start s, speaker voice, line)
LINES = [
    (1.0, "en-us+f2", "You came back. After everything, you actually came back."),
    (5.2, "en-us+m3", "I had nowhere else to go, and you know that."),
    (9.0, "en-us+f2", "Don't. Don't tell me what I know."),
    (14.5, "en-us+m3", "The company is gone. The house is gone. All I have left is this."),
    (20.0, "en-us+f2", "Then you should have thought of that before you signed."),
    (31.0, "en-us+m3", "Who else was in the room that night?"),
    (34.5, "en-us+f2", "Nobody. I swear it was only the two of us."),
    (39.0, "en-us+m3", "Then why is there a second glass on the table?"),
    (52.0, "en-us+f2", "Listen to me. If my father finds out, he will destroy all of us."),
    (58.0, "en-us+m3", "He already knows. He called me this morning."),
    (66.0, "en-us+f2", "What did he say?"),
    (68.5, "en-us+m3", "He said the wedding is off. And that you are not his daughter."),
    (80.0, "en-us+f2", "That's impossible. That's not possible."),
]
# (start s, cue text as a script would write it)
CUES = [
    (0.3, "KNOCKS"),
    (4.6, "DOOR CREAKS"),
    (12.0, "FOOTSTEPS"),
    (24.0, "【音效：雷声】"),
    (26.5, "RAIN"),
    (29.0, "GLASS SHATTERS"),
    (43.0, "PHONE BUZZES"),
    (47.0, "【音效：脚步声】"),
    (50.5, "SLAMS"),
    (62.0, "HEARTBEAT"),
    (64.0, "CLOCK TICKS"),
    (74.0, "SLAP"),
    (76.0, "BODY FALLS TO THE FLOOR"),
    (85.0, "WHOOSH"),
    (86.0, "SILENCE HANGS"),
]
SCENES = [("calm", 22), ("tense", 20), ("suspense", 28), ("sad", 20)]  # (mood, seconds): sums to 90
ROOMS = ["small_room", "small_room", "hall", "outdoor"]
SCENE_TEXT = ["", "", "", "Rain sheets across the empty street."]  # action words the ambience listens to


def dialogue_track() -> tuple[np.ndarray, str, list[tuple[int, int]]]:
    """The programme's dialogue (n,), placed at its line starts; eSpeak if available; and each line's span."""
    n = SECONDS * RATE
    track = np.zeros(n, np.float32)
    try:
        from tasks.audio import espeak

        spans = []
        for at, voice, text in LINES:
            audio = np.asarray(espeak.synthesize(text, voice=voice).samples, np.float32)
            start = int(at * RATE)
            track[start : start + len(audio)] += audio[: n - start]
            spans.append((start, min(n, start + len(audio))))
        return track, "espeak-ng via tasks.audio.espeak", spans
    except Exception as exc:  # noqa: BLE001 - the bench runs without the speech module, and says so
        rng = np.random.default_rng(0)
        t = np.arange(n) / RATE
        phase = np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.5 * t)) / RATE
        voice = sum(
            np.sin(2 * np.pi * k * phase + rng.uniform(0, 6.3) * (k > 3)) / k**1.2 for k in range(1, 25)
        )
        env = np.zeros(n)
        for at, _, text in LINES:
            a = int(at * RATE)
            for k in range(len(text.split()) * 2):
                s = a + int(k * 0.19 * RATE)
                env[s : s + int(0.18 * RATE)] += np.hanning(int(0.18 * RATE)) * rng.uniform(0.3, 1.0)
        x = voice * env[:n]
        spans = [(int(at * RATE), int((at + len(text.split()) * 0.38) * RATE)) for at, _, text in LINES]
        return (0.5 * x / np.abs(x).max()).astype(np.float32), f"synthetic speech-shaped signal ({exc})", spans


class Stopwatch:
    """Wall-clock and CPU seconds of a block (CPU: this process, all threads). On a shared machine wall time also
    counts the waits for a core; CPU time is what the code itself costs."""

    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def effects_track(seed: int) -> tuple[np.ndarray, list[str]]:
    """The programme's effects (n, 2), each cue synthesised in its scene's room; and the cues nothing matched."""
    from tasks.audio.sfx import match_cue, synthesize

    n = SECONDS * RATE
    effects = np.zeros((n, 2), np.float32)
    unmatched = []
    bounds = np.cumsum([0] + [s for _, s in SCENES])
    for i, (at, text) in enumerate(CUES):
        name = match_cue(text)
        if name is None:
            unmatched.append(text)
            continue
        scene = int(np.searchsorted(bounds, at, side="right") - 1)
        extra = {"duration": 3.0} if name in ("rain", "clock_tick", "heartbeat") else {}
        sound = synthesize(name, seed=seed * 100 + i, room=ROOMS[scene], pan=float(np.sin(i)) * 0.6, **extra)
        start = int(at * RATE)
        end = min(n, start + len(sound))
        effects[start:end] += sound[: end - start]
    return effects, unmatched


def render(seed: int, dialogue: np.ndarray, spans: list[tuple[int, int]]) -> dict:
    from tasks.audio.ambience import SceneBed, ambience_track, place_loop, room_tone_loop, scene_loops
    from tasks.audio.mix import mix_episode
    from tasks.audio.score import episode_music

    room_tone_loop.cache_clear()  # every seed pays for its ambience loops, as a fresh render would
    place_loop.cache_clear()
    with Stopwatch() as sfx_clock:
        effects, unmatched = effects_track(seed)
        beds = [
            SceneBed(room, scene_loops(text), s * RATE, seed * 10 + k)
            for k, ((_, s), room, text) in enumerate(zip(SCENES, ROOMS, SCENE_TEXT, strict=True))
        ]
        ambience = ambience_track(beds)
    with Stopwatch() as score_clock:
        music = episode_music(
            [(mood, s * RATE, seed * 10 + k, k == len(SCENES) - 1) for k, (mood, s) in enumerate(SCENES)]
        )
    with Stopwatch() as mix_clock:
        mix = mix_episode(dialogue, effects, music.samples, ambience=ambience, lines=spans)
    clocks = {"sfx": sfx_clock, "score": score_clock, "mix": mix_clock}
    return {
        "mix": mix, "music": music, "unmatched": unmatched,
        "seconds": {k: c.wall for k, c in clocks.items()}, "cpu_seconds": {k: c.cpu for k, c in clocks.items()},
    }  # fmt: skip


def phrase_ratios(dialogue: np.ndarray, music: np.ndarray, speech: np.ndarray) -> list[float]:
    """Speech-to-music ratio (dB) of each phrase ≥ 200 ms, over the samples the ducker marked as speech."""
    from tasks.audio.mix import speech_to_music_db

    hop = RATE // 200
    active = speech[::hop][: len(speech) // hop + 1]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    ratios = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if (b - a) * 5 < 200:
            continue
        one = np.zeros_like(active)
        one[a:b] = True
        ratios.append(speech_to_music_db(dialogue, music, one))
    return ratios


def peer_mix(dialogue: np.ndarray, music: np.ndarray, bgm_lufs: float) -> dict:
    """MoneyPrinterTurbo's recipe on the same voice and score: the music file (mastered to ``bgm_lufs``) × 0.2,
    summed with the voice × 1.0; no ducking, no loudness normalisation, no limiter."""
    from tasks.audio.mix import loudness, measure

    master = music * np.float32(10 ** ((bgm_lufs - loudness(music)) / 20))
    bgm = 0.2 * master
    voice = np.repeat(dialogue[:, None], 2, axis=1)
    out = voice + bgm
    lufs, tp = measure(out)
    return {"voice": voice, "bgm": bgm, "lufs": lufs, "true_peak_dbtp": tp}


def summary(ratios: list[float]) -> dict:
    r = np.array(ratios)
    return {
        "phrases": len(r),
        "min_db": round(float(r.min()), 2),
        "median_db": round(float(np.median(r)), 2),
        "phrases_under_12db": int((r < 12.0).sum()),
    }


def main(notes: list[str]) -> None:
    with Stopwatch() as imports:  # once per worker process, not per episode: reported apart from the stages
        import scipy.signal  # noqa: F401 - ~0.6 s CPU (1-2 s wall) on its own; every stage below uses it

        from tasks.audio import espeak, mix, score, sfx  # noqa: F401
        from tasks.audio.mix import measure
    with Stopwatch() as voicing:  # voicing every line: part of "voice, synthesise and mix"
        dialogue, source, spans = dialogue_track()
    runs = []
    first = None
    for seed in SEEDS:
        result = render(seed, dialogue, spans)
        lufs, tp = measure(result["mix"].mix)  # pyloudnorm and plain 4x oversampling: the reference readings
        runs.append({"seed": seed, "lufs": round(lufs, 3), "true_peak_dbtp": round(tp, 3), **{
            f"{k}_s": round(v, 3) for k, v in result["seconds"].items()}, **{
            f"{k}_cpu_s": round(v, 3) for k, v in result["cpu_seconds"].items()}})  # fmt: skip
        if first is None:
            first = result
    mix = first["mix"]
    ours = phrase_ratios(mix.stems["dialogue"], mix.stems["music"], mix.speech)
    music_stem = mix.stems["music"]
    depth = 10 * np.log10(np.mean(music_stem[~mix.speech] ** 2) / np.mean(music_stem[mix.speech] ** 2))
    peers = {}
    for bgm_lufs in (-14.0, -9.0):
        peer = peer_mix(dialogue, first["music"].samples, bgm_lufs)
        peers[f"bgm mastered at {bgm_lufs:.0f} LUFS"] = {
            **summary(phrase_ratios(peer["voice"], peer["bgm"], mix.speech)),
            "integrated_lufs": round(peer["lufs"], 2),
            "true_peak_dbtp": round(peer["true_peak_dbtp"], 2),
        }
    errors = [abs(r["lufs"] + 14.0) for r in runs]
    stages = ("sfx", "score", "mix")
    seconds = {"voice": voicing.wall} | {k: float(np.mean([r[f"{k}_s"] for r in runs])) for k in stages}
    cpu = {"voice": voicing.cpu} | {k: float(np.mean([r[f"{k}_cpu_s"] for r in runs])) for k in stages}
    result = {
        "machine": {
            "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": ["shared 2-core machine; other engineers' jobs ran at the same time, so times are upper bounds",
                     *notes],
        },
        "programme": {
            "seconds": SECONDS, "dialogue": source, "lines": len(LINES), "sfx_cues": len(CUES),
            "unmatched_cues": first["unmatched"], "scenes": SCENES, "rooms": ROOMS,
            "ambience": "room tone per scene + weather/place loops from the scene text (tasks.audio.ambience), in "
                        "the sfx stage; the mix keeps each line's own level (line spans)",
        },
        "speed": {
            "mean_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "share_of_duration": {k: round(v / SECONDS, 4) for k, v in seconds.items()}
            | {"total": round(sum(seconds.values()) / SECONDS, 4)},
            "mean_cpu_seconds": {k: round(v, 3) for k, v in cpu.items()}
            | {"total": round(sum(cpu.values()), 3)},
            "one_time_imports": {"seconds": round(imports.wall, 3), "cpu_seconds": round(imports.cpu, 3),
                                 "note": "scipy.signal and the audio modules, once per process; not in the stage "
                                         "times (before 2026-12-03 the voice stage included them)"},
        },
        "loudness_over_10_seeds": {
            "target_lufs": -14.0, "runs": runs,
            "max_abs_error_lu": round(max(errors), 3), "mean_abs_error_lu": round(float(np.mean(errors)), 3),
            "max_true_peak_dbtp": round(max(r["true_peak_dbtp"] for r in runs), 3),
        },
        "speech_to_music": {
            "reelwright (ducked, seed 0)": {**summary(ours), "duck_depth_db": round(float(depth), 2),
                                            "integrated_lufs": round(mix.integrated_lufs, 2),
                                            "true_peak_dbtp": round(mix.true_peak_dbtp, 2)},
            **{f"MoneyPrinterTurbo fixed bgm_volume=0.2, {k}": v for k, v in peers.items()},
        },
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from tasks.media.files import write_text_atomic

    write_text_atomic(RESULTS, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(json.dumps(result["speed"], indent=2) + "\n")
    sys.stdout.write(json.dumps(result["loudness_over_10_seeds"]["max_abs_error_lu"]) + "\n")
    sys.stdout.write(json.dumps(result["speech_to_music"], indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--note", action="append", default=[], help="a line for the result's machine note "
                        "(what else ran on the machine), repeatable")
    main(parser.parse_args().note)
