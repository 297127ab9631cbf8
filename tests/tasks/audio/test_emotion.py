"""Emotion cues: recognition from parentheticals, combination, and a measurable effect on the audio."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.audio.casting import Voice
from tasks.audio.emotion import CUES, NEUTRAL, cues_in, prosody_for
from tasks.audio.speech import speak_line

RATE = 48_000

ENGLISH = [
    "(angry)", "(shouting)", "(whispering)", "(cold)", "(crying)", "(sobbing)", "(trembling)", "(nervous)",
    "(sarcastic)", "(laughing)", "(softly)", "(excited)", "(scared)", "(firmly)", "(pleading)", "(tired)",
    "(to herself)", "(beat)", "(pause)", "(shocked)", "(cheerful)", "(hesitantly)", "(menacingly)", "(sighs)",
]  # fmt: skip
CHINESE = [
    "（愤怒）", "（冷笑）", "（颤抖）", "（哭喊）", "（低声）", "（大喊）", "（哽咽）", "（冷冷地）", "（惊讶）",
    "（温柔）", "（嘲讽）", "（停顿）", "（急切）", "（害怕）", "（坚定）", "（苦笑）", "（叹气）", "（犹豫）",
    "（得意）", "（崩溃）", "（紧张地）", "（哭着）",
]  # fmt: skip


@pytest.mark.parametrize("cue", ENGLISH + CHINESE)
def test_every_listed_cue_is_recognised_and_changes_something(cue: str) -> None:
    prosody, known = prosody_for(cue)
    assert known, cue
    assert prosody != NEUTRAL, cue


def test_table_size() -> None:
    assert len(CUES) >= 20
    assert sum(len(en) for en, _, _ in CUES.values()) >= 20
    assert sum(len(zh) for _, zh, _ in CUES.values()) >= 20


@pytest.mark.parametrize(
    "direction", ["（站在门口）", "(to Mark)", "(into phone)", "(V.O.)", "(cont'd)", "（看着窗外）"]
)
def test_stage_directions_are_neutral_and_unrecognised(direction: str) -> None:
    assert prosody_for(direction) == (NEUTRAL, False)


def test_no_parenthetical_is_neutral_and_fine() -> None:
    assert prosody_for(None) == (NEUTRAL, True)
    assert prosody_for("  ") == (NEUTRAL, True)
    assert prosody_for("()") == (NEUTRAL, True)


def test_matching_is_by_containment_and_synonym() -> None:
    assert cues_in("(angrily, through gritted teeth)") == ["angry", "threatening"]
    assert cues_in("(Furious)") == ["angry"]
    assert cues_in("（冷笑一声）") == ["sneer"]  # 冷笑 is a sneer, not a laugh
    assert cues_in("（笑）") == ["laughing"]
    assert cues_in("（苦笑着摇头）") == ["bitter_smile"]  # leftmost-longest: 苦笑, not 笑着
    assert cues_in("（咬牙，平静）") == ["threatening", "calm"]
    assert cues_in("（低声，颤抖着说）") == ["softly", "trembling"]
    assert cues_in("(coldly, then a beat)") == ["cold", "beat"]
    assert cues_in("(flattered)") == []  # whole words only: not 'flat'


def test_mixed_cues_combine() -> None:
    quiet, _ = prosody_for("(quietly)")
    cold, _ = prosody_for("(cold)")
    both, known = prosody_for("(quietly, cold)")
    assert known
    assert both.volume_scale == pytest.approx(quiet.volume_scale * cold.volume_scale, abs=1e-3)
    assert both.pitch_shift == quiet.pitch_shift + cold.pitch_shift
    assert both.range_scale < min(quiet.range_scale, cold.range_scale)
    extreme, _ = prosody_for("(shouting, angry, excited, urgent)")
    assert extreme.rate_scale <= 1.6 and extreme.volume_scale <= 2.0  # combination stays bounded


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_emotion_changes_the_audio_measurably() -> None:
    line = "You told me you would never come back here again."
    voice = Voice("en-us+m3", pitch=40, rate=160)
    neutral = speak_line(line, lang="en", voice=voice, engine="espeak")
    angry = speak_line(line, lang="en", voice=voice, parenthetical="(angry)", engine="espeak")
    whisper = speak_line(line, lang="en", voice=voice, parenthetical="(whispering)", engine="espeak")
    tired = speak_line(line, lang="en", voice=voice, parenthetical="(tired)", engine="espeak")
    assert len(angry.samples) < 0.92 * len(neutral.samples)  # faster
    assert _rms(angry.samples) > 1.2 * _rms(neutral.samples)  # louder
    assert _rms(whisper.samples) < 0.7 * _rms(neutral.samples)  # quieter
    assert len(tired.samples) > 1.15 * len(neutral.samples)  # slower
    beat = speak_line(line, lang="en", voice=voice, parenthetical="(beat)", engine="espeak")
    lead = np.flatnonzero(np.abs(beat.samples) > 0.01)[0] / RATE
    assert 0.58 <= lead <= 0.7 and beat.words[0].start >= 0.6  # a 600 ms beat before the line


def _median_f0(samples: np.ndarray) -> float:
    """Median autocorrelation pitch (Hz) of the loud 40 ms frames."""
    hop = RATE // 25
    frames = [samples[i : i + hop] for i in range(0, len(samples) - hop, hop)]
    loud = max(_rms(f) for f in frames)
    f0s = []
    for f in frames:
        if _rms(f) < 0.3 * loud:
            continue
        f = f - f.mean()
        ac = np.correlate(f, f, mode="full")[len(f) - 1 :]
        lag = RATE // 400 + int(np.argmax(ac[RATE // 400 : RATE // 60]))
        if ac[lag] > 0.3 * ac[0]:
            f0s.append(RATE / lag)
    return float(np.median(f0s))


def test_emotion_moves_the_pitch() -> None:
    line = "Is that really what you think of me?"
    voice = Voice("en-us+f2", pitch=55)
    neutral = _median_f0(speak_line(line, lang="en", voice=voice, engine="espeak").samples)
    shocked = _median_f0(
        speak_line(line, lang="en", voice=voice, parenthetical="(shocked)", engine="espeak").samples
    )
    cold = _median_f0(
        speak_line(line, lang="en", voice=voice, parenthetical="(coldly)", engine="espeak").samples
    )
    assert shocked > 1.08 * neutral and neutral > 1.08 * cold, (shocked, neutral, cold)


def test_chinese_cue_changes_mandarin_audio() -> None:
    line = "你以为我还会相信你吗？"
    voice = Voice("cmn+f2", language="zh", pitch=60)
    neutral = speak_line(line, lang="zh", voice=voice, engine="espeak")
    shout = speak_line(line, lang="zh", voice=voice, parenthetical="（大喊）", engine="espeak")
    low = speak_line(line, lang="zh", voice=voice, parenthetical="（低声）", engine="espeak")
    whisper = speak_line(line, lang="zh", voice=voice, parenthetical="（耳语）", engine="espeak")
    assert _rms(shout.samples) > 1.3 * _rms(neutral.samples)
    assert _rms(low.samples) < 0.8 * _rms(neutral.samples)
    assert _rms(whisper.samples) < 0.8 * _rms(neutral.samples)
    assert len(shout.samples) < len(neutral.samples) < len(low.samples)
