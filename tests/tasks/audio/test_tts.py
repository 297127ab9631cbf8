"""eSpeak NG binding, TTS engines, word timings and speak_line: measured on the audio itself."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from schemas.errors import ConfigError, ReelwrightError
from tasks.audio import espeak
from tasks.audio.casting import Voice
from tasks.audio.emotion import NEUTRAL
from tasks.audio.speech import clean_text, speak_line, speech_envelope
from tasks.audio.tts import (
    EspeakEngine,
    HttpTTSEngine,
    TTSError,
    TTSUnavailable,
    check_voices,
    get_engine,
    text_units,
    voiced_mask,
)

RATE = 48_000


def median_f0(samples: np.ndarray, rate: int = RATE) -> float:
    """Median autocorrelation pitch (Hz) over loud 40 ms frames: a plain estimator, enough to tell voices apart."""
    hop = rate // 25
    frames = [samples[i : i + hop] for i in range(0, len(samples) - hop, hop)]
    peak = max(float(np.sqrt(np.mean(f**2))) for f in frames)
    f0s = []
    for f in frames:
        if np.sqrt(np.mean(f**2)) < 0.3 * peak:
            continue
        f = f - f.mean()
        ac = np.correlate(f, f, mode="full")[len(f) - 1 :]
        lo, hi = rate // 400, rate // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            f0s.append(rate / lag)
    assert f0s, "no voiced frames"
    return float(np.median(f0s))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_binding_lists_voices_and_resolves_names() -> None:
    assert espeak.version().count(".") >= 1
    bases = set(espeak.base_names().values())
    assert {"en-us", "cmn", "yue"} <= bases
    assert espeak.resolve_voice("zh") == "cmn"
    assert espeak.resolve_voice("EN-US+f3") == "en-us+f3"
    assert {"f3", "m2", "whisper"} <= set(espeak.list_variants())


def test_synthesis_is_48k_float_with_word_events_and_prints_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    text = "Open the door now."
    out = espeak.synthesize(text, voice="en-us+m3")
    assert out.samples.dtype == np.float32 and out.samples.ndim == 1
    assert 0.6 * RATE < len(out.samples) < 3 * RATE
    assert 0.05 < np.abs(out.samples).max() <= 1.0
    assert [text[w.char : w.char + w.length] for w in out.words] == ["Open", "the", "door", "now"]
    assert [w.sample for w in out.words] == sorted(w.sample for w in out.words)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_ssml_breaks_lengthen_and_word_positions_index_the_source() -> None:
    plain = espeak.synthesize("Hello world", voice="en-us")
    ssml = '<speak>Hello <break time="700ms"/> world</speak>'
    out = espeak.synthesize(ssml, voice="en-us", ssml=True)
    assert len(out.samples) - len(plain.samples) > 0.6 * RATE
    assert [ssml[w.char : w.char + w.length] for w in out.words] == ["Hello", "world"]
    assert out.words[1].sample - plain.words[1].sample > 0.6 * RATE


def _rise_after_gap(samples: np.ndarray, near: int) -> int:
    """Where the energy rises again at the end of the pause (≥ 80 ms of silence) closest to ``near``."""
    voiced = voiced_mask(samples, floor_db=-30.0)
    rises = np.flatnonzero(voiced[1:] & ~voiced[:-1]) + 1
    falls = np.flatnonzero(~voiced[1:] & voiced[:-1]) + 1
    ends_of_pauses = [
        int(r) for r in rises if any(0 < r - f and r - f >= 0.080 * RATE for f in falls[falls < r][-1:])
    ]
    assert ends_of_pauses, "no pause in the audio"
    return min(ends_of_pauses, key=lambda r: abs(r - near))


def test_second_word_onset_matches_energy_rise() -> None:
    """After a full stop the second word must start where the audio energy rises again (±40 ms)."""
    text = "Stop. Listen to me."
    out = espeak.synthesize(text, voice="en-us+m2")
    listen = next(w for w in out.words if text[w.char : w.char + w.length] == "Listen")
    rise = _rise_after_gap(out.samples, listen.sample)
    assert 0.2 * RATE < rise and abs(listen.sample - rise) <= 0.040 * RATE, (
        listen.sample / RATE,
        rise / RATE,
    )
    speech = EspeakEngine().synthesize(text, Voice("en-us+m2", rate=150), NEUTRAL)
    second = speech.words[1]
    assert second.text == "Listen"
    rise = _rise_after_gap(speech.samples, int(second.start * RATE))
    assert abs(second.start * RATE - rise) <= 0.040 * RATE, (second.start, rise / RATE)
    assert speech.words[0].end < second.start - 0.1  # the pause after "Stop." belongs to no word


def test_distinct_voices_have_measurably_different_pitch() -> None:
    line = "I never asked for any of this to happen."
    female = speak_line(line, lang="en", voice=Voice("en-us+f3", pitch=70), engine="espeak")
    male = speak_line(line, lang="en", voice=Voice("en-us+m3", pitch=30), engine="espeak")
    f_hi, f_lo = median_f0(female.samples), median_f0(male.samples)
    assert f_hi > 1.4 * f_lo, (f_hi, f_lo)
    other_male = speak_line(line, lang="en", voice=Voice("en-us+m7", pitch=45), engine="espeak")
    assert not np.array_equal(
        other_male.samples[: len(male.samples)], male.samples[: len(other_male.samples)]
    )


def test_word_timings_monotonic_inside_audio_and_reassemble_the_text() -> None:
    text = "Hello there, I have been waiting for you."
    speech = speak_line(text, lang="en", voice=Voice("en-us+m3"), engine="espeak")
    duration = len(speech.samples) / RATE
    assert "".join(w.text for w in speech.words) == text.replace(" ", "")
    for a, b in zip(speech.words, speech.words[1:], strict=False):
        assert a.start < a.end <= b.start + 1e-9
    assert 0 <= speech.words[0].start and speech.words[-1].end <= duration
    # trimmed: ~30 ms before the first word, ~30 ms after the last
    assert 0.025 <= speech.words[0].start <= 0.06 and duration - speech.words[-1].end <= 0.06
    assert np.abs(speech.samples[:1400]).max() < 0.01  # a clean lead-in: the line never starts with a click


def test_mandarin_uses_cmn_and_times_every_character() -> None:
    text = "你到底想怎么样？我已经等了你三年。"
    voice = Voice("cmn+f3", language="zh", pitch=65)
    speech = speak_line(text, lang="zh", voice=voice, engine=get_engine("espeak"))
    texts = [w.text for w in speech.words]
    assert "".join(texts) == text
    assert texts[:6] == list("你到底想怎么") and texts[6] == "样？" and texts[-1] == "年。"
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert speech.words[-1].end <= len(speech.samples) / RATE
    # A cmn voice speaks Chinese (an English voice spells "Chinese letter" for every character: far longer)
    english = EspeakEngine().synthesize(text, Voice("en-us+f3"), NEUTRAL)
    assert len(english.samples) > 1.5 * len(speech.samples)


def test_a_line_in_another_language_switches_the_base_voice_keeping_the_variant() -> None:
    zh_voice = Voice("cmn+f2", language="zh", pitch=60)
    speech = speak_line("Where were you last night?", lang="en", voice=zh_voice, engine="espeak")
    assert [w.text for w in speech.words][:2] == ["Where", "were"]
    assert len(speech.samples) < 3 * RATE


def test_text_units_cover_mixed_scripts() -> None:
    units = text_units("“林星野，Hello 你好 world！” 2024年")
    assert [u.text for u in units] == ["“林", "星", "野，", "Hello", "你", "好", "world！”", "2024", "年"]


def test_clean_text_drops_directions_and_emphasis() -> None:
    assert clean_text("I *never* (beat) said [laughs] that【音效：门响】.") == "I never said that ."
    assert clean_text("你（冷笑）真以为**我**会走？") == "你 真以为我会走？"
    assert clean_text("Wait\x00 for\u200b me") == "Wait for me"


def test_silent_line_and_envelope() -> None:
    silent = speak_line("……", lang="zh", voice=Voice("cmn", language="zh"), engine="espeak")
    assert silent.words == () and len(silent.samples) == RATE // 2
    assert speech_envelope(silent).max() == 0.0
    speech = speak_line(
        "Get out.", lang="en", voice=Voice("en-us+m1"), parenthetical="(beat)", engine="espeak"
    )
    env = speech_envelope(speech, fps=30)
    assert len(env) == -(-len(speech.samples) // 1600)
    assert env.min() >= 0.0 and env.max() == pytest.approx(1.0)
    assert env[:15].max() == 0.0  # the 600 ms beat: mouth closed for its first 500 ms
    assert env[20:].max() > 0.5


def test_synthesis_is_thread_safe() -> None:
    """Concurrent calls must not interleave: each result is its own text, as long as when spoken alone.

    (eSpeak keeps a little state between calls, e.g. its pitch-flutter phase, so samples are compared by length
    and word events, not bit for bit.)
    """
    lines = [
        ("One two three.", "en-us+m1"),
        ("我们走吧。", "cmn+f2"),
        ("Four five six seven.", "en-us+f4"),
    ] * 2
    expected = [espeak.synthesize(t, voice=v) for t, v in lines]
    results: list[espeak.Synthesis | None] = [None] * len(lines)

    def work(i: int) -> None:
        results[i] = espeak.synthesize(lines[i][0], voice=lines[i][1])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(lines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for got, want in zip(results, expected, strict=True):
        assert got is not None
        assert abs(len(got.samples) - len(want.samples)) < 0.01 * len(want.samples)
        assert [(w.char, w.length) for w in got.words] == [(w.char, w.length) for w in want.words]


def test_unknown_engine_and_voice_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="unknown TTS engine 'festival'") as err:
        get_engine("festival")
    assert "espeak" in str(err.value)
    with pytest.raises(TTSError) as err:
        EspeakEngine().synthesize("hi", Voice("klingon+m3", label="WORF"), NEUTRAL)
    message = str(err.value)
    assert "klingon" in message and "WORF" in message and "en-us" in message and "cmn" in message
    with pytest.raises(TTSError, match="variant 'zz9'"):
        EspeakEngine().synthesize("hi", Voice("en-us+zz9"), NEUTRAL)
    with pytest.raises(TTSError, match=r"casting\.BOB: unknown voice 'en-us\+f9' for BOB"):
        check_voices(EspeakEngine(), {"ANN": Voice("en-us+f3"), "BOB": Voice("en-us+f9")})
    with pytest.raises(ConfigError, match="needs a server URL"):
        get_engine("http")
    assert isinstance(get_engine("http://127.0.0.1:9"), HttpTTSEngine)


# ------------------------------------------------------------------------------------------------- HTTP engine


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, rate, (samples * 32767).astype(np.int16))
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args: object) -> None:  # keep the test output clean
        return

    def _send(self, code: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v1/info":
            self._send(200, {"engine": "toy-neural", "version": "0.3", "voices": ["alice", "bob"]})
        else:
            self._send(404, {"error": "no such path"})

    def do_POST(self) -> None:
        doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.requests.append(doc)
        if doc["text"] == "explode":
            self._send(500, {"error": "model crashed"})
            return
        t = np.arange(24_000) / 24_000  # one second at 24 kHz
        tone = 0.5 * np.sin(2 * np.pi * 220 * t)
        words = [{"text": "hello", "start": 0.0, "end": 0.4}, {"text": "world", "start": 0.5, "end": 0.95}]
        self._send(
            200, {"audio_wav_base64": base64.b64encode(_wav_bytes(tone, 24_000)).decode(), "words": words}
        )


@pytest.fixture()
def tts_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_engine_round_trip(tts_server: str) -> None:
    engine = get_engine("http", base_url=tts_server, timeout=5)
    assert engine.version() == "toy-neural 0.3"
    prosody = NEUTRAL.combine(NEUTRAL)
    speech = engine.synthesize("hello world", Voice("alice", label="Alice"), prosody)
    assert len(speech.samples) == RATE and speech.samples.dtype == np.float32  # 24 kHz resampled to 48 kHz
    assert median_f0(speech.samples) == pytest.approx(220, rel=0.03)
    assert [(w.text, w.start, w.end) for w in speech.words] == [("hello", 0.0, 0.4), ("world", 0.5, 0.95)]
    sent = _Handler.requests[-1]
    assert sent["voice"]["engine_voice"] == "alice" and sent["prosody"]["rate_scale"] == 1.0
    line = speak_line(
        "hello (beat) world", lang="en", voice=Voice("alice"), parenthetical="(beat)", engine=engine
    )
    assert _Handler.requests[-1]["text"] == "hello world"
    assert line.words[0].start >= 0.6  # the beat became a leading pause


def test_http_engine_errors(tts_server: str) -> None:
    engine = HttpTTSEngine(tts_server, timeout=5)
    with pytest.raises(TTSError, match="unknown voice 'carol'") as err:
        engine.synthesize("hi", Voice("carol"), NEUTRAL)
    assert "alice, bob" in str(err.value)
    with pytest.raises(TTSError, match="model crashed"):
        engine.synthesize("explode", Voice("bob"), NEUTRAL)
    with pytest.raises(TTSUnavailable, match="cannot reach"):
        HttpTTSEngine("http://127.0.0.1:9", timeout=2).version()
    assert issubclass(TTSUnavailable, ReelwrightError)


# ------------------------------------------------------------------------------------------------ real world


def test_every_line_of_a_real_chinese_episode_is_spoken_and_timed() -> None:
    """《哥哥》第一集 (shared fixture): every dialogue line speaks, with per-character timings inside the audio."""
    from schemas.script import Character, ElementKind
    from tasks.audio.casting import cast_voices
    from tasks.audio.emotion import prosody_for
    from tasks.script import parse_script
    from tests.conftest import shared_fixture

    script = parse_script(shared_fixture("zh", "gege_ep1.md"))
    declared = {c.name for c in script.characters}
    cast = cast_voices(
        [*script.characters, *(Character(name=n) for n in script.speakers() if n not in declared)], "zh"
    )
    assert all(v.base == "cmn" for v in cast.values())
    engine = get_engine("espeak")
    spoken, recognised, parenthetical = 0, 0, None
    for el in script.elements():
        if el.kind is ElementKind.parenthetical:
            parenthetical = el.text
            continue
        if el.kind is ElementKind.dialogue:
            speech = speak_line(
                el.text,
                lang=el.lang or "zh",
                voice=cast[el.character],
                parenthetical=parenthetical,
                engine=engine,
            )
            said = clean_text(el.text)
            assert "".join(w.text for w in speech.words) == said.replace(" ", ""), el.line
            assert speech.words and speech.words[-1].end <= len(speech.samples) / RATE
            assert all(a.start <= b.start for a, b in zip(speech.words, speech.words[1:], strict=False))
            recognised += bool(parenthetical) and prosody_for(parenthetical)[1]
            spoken += 1
        parenthetical = None
    assert spoken >= 40 and recognised >= 3


def test_http_engine_decodes_a_real_24k_float_wav_and_spreads_words() -> None:
    """The CosyVoice prompt WAV (24 kHz float32, Mandarin) served without word timings."""
    from tests.conftest import shared_fixture

    wav = shared_fixture("audio", "speech_zh_f32_24k.wav").read_bytes()
    transcript = "希望你以后能够做的比我还好呦。"

    class Handler(_Handler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self._send(200, {"audio_wav_base64": base64.b64encode(wav).decode(), "words": []})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = HttpTTSEngine(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
        speech = engine.synthesize(transcript, Voice("alice"), NEUTRAL)
    finally:
        server.shutdown()
        server.server_close()
    assert speech.samples.dtype == np.float32 and 3.0 * RATE < len(speech.samples) < 4.0 * RATE
    assert "".join(w.text for w in speech.words) == transcript
    assert len(speech.words) == len(transcript) - 1  # one unit per character, the full stop joins the last
    assert all(a.end <= b.start + 1e-9 for a, b in zip(speech.words, speech.words[1:], strict=False))
