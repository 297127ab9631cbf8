"""Voice one dialogue line, content-addressed: the same text, voice, emotion and engine never synthesise twice."""

from __future__ import annotations

import json

from schemas.media import VoicedLine
from storage.assets import LocalAssetStore, code_version, content_key

SPEECH_MODULES = ("tasks.audio.speech", "tasks.audio.tts", "tasks.audio.espeak", "tasks.audio.emotion")


def voice_line(
    store: LocalAssetStore,
    *,
    text: str,
    lang: str,
    voice: object,
    parenthetical: str | None,
    engine: str = "espeak",
) -> VoicedLine:
    """Synthesise ``text`` with ``voice`` (a casting ``Voice``) and the emotion of ``parenthetical``."""
    from tasks.audio.emotion import prosody_for
    from tasks.audio.speech import speak_line
    from tasks.audio.tts import get_engine
    from tasks.audio.wav import write_wav

    tts = get_engine(engine)
    key = content_key("voice", text, lang, voice, parenthetical, tts.name, tts.version(), code_version(*SPEECH_MODULES))
    wav, meta = store.path("voice", key, ".wav"), store.path("voice", key, ".json")
    _, known = prosody_for(parenthetical)
    label = getattr(voice, "label", None) or getattr(voice, "engine_voice", "")
    if wav.is_file() and meta.is_file():
        info = json.loads(meta.read_text(encoding="utf-8"))
        return VoicedLine(
            key=key, audio=str(wav), samples=info["samples"], words=tuple(tuple(w) for w in info["words"]),
            voice=label, cached=True, emotion_known=known, parenthetical=parenthetical,
        )  # fmt: skip
    speech = speak_line(text, lang=lang, voice=voice, parenthetical=parenthetical, engine=tts)
    words = tuple((w.text, float(w.start), float(w.end)) for w in speech.words)
    with store.writing("voice", key, ".wav") as tmp:
        write_wav(tmp, speech.samples, 48_000)
    with store.writing("voice", key, ".json") as tmp:
        tmp.write_text(json.dumps({"samples": int(len(speech.samples)), "words": words}, ensure_ascii=False))
    return VoicedLine(
        key=key, audio=str(wav), samples=int(len(speech.samples)), words=words, voice=label,
        cached=False, emotion_known=known, parenthetical=parenthetical,
    )  # fmt: skip
