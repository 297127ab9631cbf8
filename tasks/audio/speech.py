"""Speak one dialogue line: clean text in, tightly trimmed speech with word timings and a mouth envelope out.

Lines are placed in shots by their exact sample length, so the synthesis is trimmed to ~30 ms of silence at each end
(engines pad generously); a beat asked for by the parenthetical is added back as a deliberate leading pause.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from fractions import Fraction

import numpy as np

from schemas.generate import WordTiming
from tasks.audio.casting import Voice, voice_for_language
from tasks.audio.emotion import prosody_for
from tasks.audio.tts import SAMPLE_RATE, Speech, TTSEngine, get_engine, voiced_mask

MARGIN = SAMPLE_RATE * 30 // 1000  # silence kept before the first and after the last voiced sample
SILENT_LINE = SAMPLE_RATE // 2  # what a line with nothing to say lasts ("……")

_DIRECTIONS = re.compile(r"\([^)]*\)|（[^）]*）|\[[^\]]*\]|【[^】]*】|\{\{[^}]*\}\}|\[\[[^\]]*\]\]")
_MARKUP = re.compile(r"(?<!\\)(\*{1,3}|_)")
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """What is actually said: no inline stage directions ``(beat)`` ``（冷笑）`` ``[laughs]``, notes or emphasis marks."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)  # NUL would end it
    text = _DIRECTIONS.sub(" ", text)
    text = _MARKUP.sub("", text).replace("\\*", "*").replace("\\_", "_")
    return _SPACES.sub(" ", text).strip()


def _has_speech(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def trim(speech: Speech, margin: int = MARGIN) -> Speech:
    """Exactly ``margin`` samples of silence before the first and after the last voiced sample, words shifted.

    Engines pad generously (cut it) or start on the first sample (pad it, so the line never clicks in the mix).
    """
    voiced = np.flatnonzero(voiced_mask(speech.samples, speech.sample_rate, floor_db=-45.0))
    if len(voiced) == 0:
        return speech
    first, last = int(voiced[0]), int(voiced[-1]) + 1
    a, b = max(first - margin, 0), min(last + margin, len(speech.samples))
    lead, tail = margin - (first - a), margin - (b - last)
    audio = np.concatenate(
        [np.zeros(lead, np.float32), speech.samples[a:b], np.zeros(tail, np.float32)]
    ).astype(np.float32)
    return Speech(
        samples=audio, words=_shift(speech.words, lead - a, len(audio)), sample_rate=speech.sample_rate
    )


def pad_front(speech: Speech, samples: int) -> Speech:
    """Silence of ``samples`` before the speech (a beat), words shifted to match."""
    if samples <= 0:
        return speech
    audio = np.concatenate([np.zeros(samples, dtype=np.float32), speech.samples])
    return Speech(
        samples=audio, words=_shift(speech.words, samples, len(audio)), sample_rate=speech.sample_rate
    )


def _shift(words: tuple[WordTiming, ...], offset: int, length: int) -> tuple[WordTiming, ...]:
    """Move word times by ``offset`` samples, clamped inside ``length`` samples (exact Fraction arithmetic)."""
    out = []
    for w in words:
        s = min(max(_samples(w.start) + offset, 0), length)
        e = min(max(_samples(w.end) + offset, s), length)
        out.append(
            WordTiming(
                text=w.text, start=float(Fraction(s, SAMPLE_RATE)), end=float(Fraction(e, SAMPLE_RATE))
            )
        )
    return tuple(out)


def _samples(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))


def speak_line(
    text: str,
    *,
    lang: str,
    voice: Voice,
    parenthetical: str | None = None,
    engine: TTSEngine | str = "espeak",
    rate_scale: float = 1.0,
) -> Speech:
    """Say ``text`` in ``lang`` with the character's ``voice`` and the emotion of ``parenthetical``.

    A line in another language than the voice's (an English line in a Chinese drama) keeps the character's variant,
    pitch and rate on that language's base voice. ``rate_scale`` speeds the line up on top of its emotion (dubbing
    fits a translation into the original's slot with it). Returns 48 kHz mono float32 speech with word timings.
    """
    tts = get_engine(engine) if isinstance(engine, str) else engine
    prosody, _ = prosody_for(parenthetical)
    said = clean_text(text)
    pause = SAMPLE_RATE * prosody.pause_ms // 1000
    if not _has_speech(said):  # "……" or a line of only directions: a held silence, no words
        return Speech(samples=np.zeros(SILENT_LINE + pause, dtype=np.float32), words=())
    prosody = replace(prosody, pause_ms=0, rate_scale=round(prosody.rate_scale * rate_scale, 3))
    speech = tts.synthesize(said, voice_for_language(voice, lang), prosody)
    speech = trim(speech)
    return pad_front(speech, pause)


def speech_envelope(speech: Speech, fps: int = 30) -> np.ndarray:
    """Per-video-frame loudness in 0..1 (RMS relative to the line's loudest frame), for mouth animation.

    Frames whose RMS is 40 dB or more below the peak are 0 (mouth closed in pauses).
    """
    hop = Fraction(speech.sample_rate, fps)
    n = len(speech.samples)
    frames = int(-(-Fraction(n) // hop)) if n else 0
    out = np.zeros(frames, dtype=np.float32)
    for i in range(frames):
        a, b = int(i * hop), min(int((i + 1) * hop), n)
        if b > a:
            seg = speech.samples[a:b]
            out[i] = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
    peak = float(out.max()) if frames else 0.0
    if peak <= 1e-6:
        return np.zeros(frames, dtype=np.float32)
    out /= peak
    out[out < 0.01] = 0.0
    return out
