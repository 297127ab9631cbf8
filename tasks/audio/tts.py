"""Text-to-speech engines behind one protocol: the offline eSpeak NG default and an HTTP client for neural servers.

Every engine returns :class:`Speech`: 48 kHz mono float32 samples and word timings whose texts concatenate back to
the spoken text without its spaces (CJK text is timed per character), so subtitles and mouth animation can be cut
from them. Engines are chosen by name at the composition root (``get_engine``), never by import-time globals.

The HTTP protocol (for a neural TTS server — XTTS, CosyVoice, F5 … behind a thin adapter):

``GET  {base_url}/v1/info`` → ``{"engine": "cosyvoice", "version": "2.0", "voices": ["alice", "bob", ...]}``

``POST {base_url}/v1/synthesize`` with JSON ``{"text": str, "voice": {Voice fields}, "prosody": {Prosody fields}}``
→ 200 JSON ``{"audio_wav_base64": str, "words": [{"text": str, "start": s, "end": s}, ...]}``. The WAV may be
any rate, int16/int32/float32, mono or stereo (it is mixed to mono and resampled to 48 kHz). ``words`` may be empty
(the client then spreads the text over the voiced audio). Errors: non-200 with ``{"error": "message"}``; 404 or
422 for an unknown voice.
"""

from __future__ import annotations

import base64
import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import Protocol, runtime_checkable

import numpy as np

from schemas.errors import ConfigError, ReelwrightError
from schemas.generate import WordTiming
from tasks.audio.casting import FEMALE_VARIANTS, OLD_FEMALE_VARIANTS, Voice
from tasks.audio.emotion import Prosody

SAMPLE_RATE = 48_000


class TTSError(ReelwrightError):
    """Speech synthesis failed: unknown voice, engine error, bad server reply."""


class TTSUnavailable(TTSError):
    """The TTS server could not be reached or timed out (transient: worth a retry)."""


@dataclass(frozen=True, eq=False)
class Speech:
    """Synthesised speech: mono float32 samples at ``sample_rate`` and word timings in seconds from sample 0."""

    samples: np.ndarray
    words: tuple[WordTiming, ...] = ()
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@runtime_checkable
class TTSEngine(Protocol):
    name: str

    def version(self) -> str: ...

    def synthesize(self, text: str, voice: Voice, prosody: Prosody) -> Speech: ...


# ------------------------------------------------------------------------------------------------- word timings

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORDISH = re.compile(r"[\w'’]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Unit:
    """A timing unit of the text: a CJK character or a space-separated word, with the punctuation that follows."""

    text: str
    first: int  # index of its first character in the text
    last: int  # index after its last character
    weight: float  # rough spoken length, for interpolating units the engine gave no event for


def text_units(text: str) -> list[Unit]:
    """Split ``text`` into timing units whose texts concatenate to ``text`` without its whitespace."""
    units: list[list] = []  # [text, first, last, weight, open]
    for i, ch in enumerate(text):
        if ch.isspace():
            if units:
                units[-1][4] = False
            continue
        if _CJK.match(ch):
            units.append([ch, i, i + 1, 1.0, False])
        elif _WORDISH.match(ch):
            if units and units[-1][4]:
                units[-1][0] += ch
                units[-1][2] = i + 1
                units[-1][3] += 1 / 3
            else:
                units.append([ch, i, i + 1, 1 / 3, True])
        elif units:  # punctuation joins the unit before it
            units[-1][0] += ch
            units[-1][2] = i + 1
        else:  # leading punctuation joins the first unit
            units.append([ch, i, i + 1, 0.0, True])
    merged: list[list] = []
    for u in units:
        if merged and merged[-1][3] == 0.0:  # a unit of leading punctuation only: glue it to the next
            prev = merged.pop()
            u = [prev[0] + u[0], prev[1], u[2], u[3], u[4]]
        merged.append(u)
    return [Unit(t, a, b, max(w, 1 / 3)) for t, a, b, w, _ in merged]


def voiced_mask(
    samples: np.ndarray, rate: int = SAMPLE_RATE, frame_ms: int = 5, floor_db: float = -36.0
) -> np.ndarray:
    """Per-sample True where the 5 ms RMS is within ``floor_db`` of the loudest frame (speech, not silence)."""
    n = len(samples)
    if n == 0:
        return np.zeros(0, dtype=bool)
    hop = max(rate * frame_ms // 1000, 1)
    frames = -(-n // hop)
    padded = np.zeros(frames * hop, dtype=np.float32)
    padded[:n] = samples
    rms = np.sqrt(np.mean(padded.reshape(frames, hop) ** 2, axis=1))
    peak = float(rms.max())
    if peak <= 1e-6:
        return np.zeros(n, dtype=bool)
    on = rms >= peak * 10 ** (floor_db / 20)
    return np.repeat(on, hop)[:n]


def word_timings(
    text: str, anchors: Sequence[tuple[int, int]], samples: np.ndarray, rate: int = SAMPLE_RATE
) -> tuple[WordTiming, ...]:
    """Word timings for ``text`` from engine ``anchors`` = (character index, start sample) and the audio itself.

    Engines skip some words (eSpeak joins ``have been``, dictionary words like ``到底``) and repeat others, so each
    unit takes the first in-order anchor inside it, units without one are interpolated by their spoken weight, and
    every unit is then tightened to the voiced audio between its start and the next unit's start.
    """
    units = text_units(text)
    n = len(samples)
    if not units or n == 0:
        return ()
    voiced = voiced_mask(samples, rate)
    idx = np.flatnonzero(voiced)
    first_voiced, last_voiced = (int(idx[0]), int(idx[-1]) + 1) if len(idx) else (0, n)
    starts: list[int | None] = [None] * len(units)
    floor = -1
    for char, sample in sorted(anchors):
        k = next((j for j, u in enumerate(units) if u.first <= char < u.last), None)
        if k is None or starts[k] is not None or not floor < sample < last_voiced:
            continue
        if any(s is not None and s > sample for s in starts[:k]):
            continue
        starts[k] = int(sample)
        floor = sample
    if starts[0] is None:
        starts[0] = first_voiced
    starts[0] = max(starts[0], 0)
    known = [i for i, s in enumerate(starts) if s is not None]
    bounds = [*known, len(units)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        left = starts[a]
        right = starts[b] if b < len(units) else last_voiced
        weights = [u.weight for u in units[a:b]]
        total = sum(weights)
        acc = 0.0
        for j in range(a + 1, b):
            acc += weights[j - a - 1]
            starts[j] = int(left + (right - left) * acc / total)
    onsets = np.flatnonzero(voiced[1:] & ~voiced[:-1]) + 1
    snap = rate // 50  # engine events can land a few ms after the voice starts: snap to an onset within 20 ms
    for i in range(1, len(starts)):
        j = int(np.searchsorted(onsets, starts[i], side="right")) - 1
        if j >= 0 and starts[i] - snap <= onsets[j] and onsets[j] > starts[i - 1]:
            starts[i] = int(onsets[j])
    ends = [*starts[1:], last_voiced]
    out = []
    for u, s, e in zip(units, starts, ends, strict=True):
        s, e = int(s), int(max(e, s))
        seg = np.flatnonzero(voiced[s:e])
        if len(seg):  # tighten to the voiced part (pauses belong to no word)
            s, e = s + int(seg[0]), s + int(seg[-1]) + 1
        e = max(e, min(s + rate // 100, n))
        out.append(
            WordTiming(text=u.text, start=float(Fraction(s, rate)), end=float(Fraction(min(e, n), rate)))
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------------- eSpeak NG


def _whisper_variant(voice: Voice) -> str:
    return "whisperf" if voice.variant in FEMALE_VARIANTS + OLD_FEMALE_VARIANTS else "whisper"


def _breath(samples: np.ndarray, seed: int, amount: float = 0.12) -> np.ndarray:
    """Aspiration: high-passed noise following the speech envelope (a breathy, tearful quality)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(samples)).astype(np.float32)
    noise = sosfilt(butter(2, 2500, "highpass", fs=SAMPLE_RATE, output="sos"), noise).astype(np.float32)
    env = np.abs(samples)
    k = SAMPLE_RATE // 100
    env = np.convolve(env, np.ones(k, dtype=np.float32) / k, mode="same")
    out = samples + amount * noise * env * 3.0
    return np.clip(out, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class EspeakEngine:
    """The offline default: eSpeak NG through ctypes (formant synthesis, 100+ languages, exact word events)."""

    name: str = "espeak"

    def version(self) -> str:
        from tasks.audio import espeak

        return f"espeak-ng {espeak.version()}"

    def voices(self) -> tuple[str, ...]:
        """Base voices (``en-us``, ``cmn`` …); any may take a ``+variant`` (see :meth:`variants`)."""
        from tasks.audio import espeak

        return tuple(sorted(set(espeak.base_names().values())))

    def variants(self) -> tuple[str, ...]:
        from tasks.audio import espeak

        return espeak.list_variants()

    def check_voice(self, voice: Voice) -> None:
        """Raise a TTSError naming the voice and listing the available ones when it is not installed."""
        from tasks.audio import espeak

        try:
            espeak.resolve_voice(voice.engine_voice)
        except espeak.EspeakError as exc:
            raise TTSError(
                f"unknown voice {voice.engine_voice!r} for {voice.label or 'a character'}: {exc.message}",
                field="voice", hint=exc.hint,
            ) from None  # fmt: skip

    def synthesize(self, text: str, voice: Voice, prosody: Prosody) -> Speech:
        from tasks.audio import espeak

        self.check_voice(voice)
        engine_voice = voice.engine_voice
        if prosody.whisper:
            engine_voice = f"{voice.base}+{_whisper_variant(voice)}"
        volume = prosody.volume_scale * voice.volume
        if prosody.whisper:
            volume *= 1.25  # eSpeak's whisper variant is much quieter than voiced speech; level it back towards 'quiet'
        result = espeak.synthesize(
            text,
            voice=engine_voice,
            rate=int(round(min(max(voice.rate * prosody.rate_scale, 80), 450))),
            pitch=int(min(max(voice.pitch + prosody.pitch_shift, 0), 99)),
            pitch_range=int(round(min(max(voice.pitch_range * prosody.range_scale, 0), 99))),
            volume=int(round(min(max(volume, 0), 200))),
            word_gap=int(round(prosody.word_gap_ms / 10)),
        )
        samples = result.samples
        if prosody.breathy and not prosody.whisper and len(samples):
            seed = int.from_bytes(text.encode("utf-8")[:8].ljust(8, b"\0"), "little")
            samples = _breath(samples, seed)
        anchors = [(w.char, w.sample) for w in result.words]
        return Speech(samples=samples, words=word_timings(text, anchors, samples))


# ---------------------------------------------------------------------------------------------------------- HTTP


def _decode_wav(data: bytes) -> np.ndarray:
    """Any PCM/float WAV → 48 kHz mono float32."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    rate, audio = wavfile.read(io.BytesIO(data))
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    elif audio.dtype == np.int32:
        audio = audio.astype(np.float32) / 2147483648.0
    elif audio.dtype == np.uint8:
        audio = (audio.astype(np.float32) - 128.0) / 128.0
    else:
        audio = audio.astype(np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE and len(audio):
        ratio = Fraction(SAMPLE_RATE, int(rate))
        audio = resample_poly(audio, ratio.numerator, ratio.denominator)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class HttpTTSEngine:
    """A neural TTS server speaking the protocol in this module's docstring."""

    base_url: str
    timeout: float = 60.0
    name: str = "http"
    _info: dict = field(default_factory=dict, init=False, compare=False, repr=False)  # GET /v1/info, once

    def _request(self, path: str, body: dict | None = None) -> dict:
        url = self.base_url.rstrip("/") + path
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except (json.JSONDecodeError, AttributeError):
                pass
            cls = TTSUnavailable if exc.code in (502, 503, 504) else TTSError
            raise cls(f"TTS server {url} answered {exc.code}: {detail}", field="tts") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TTSUnavailable(
                f"cannot reach the TTS server at {url}: {reason}", field="tts",
                hint="start the server or check --tts-url; the offline default is --tts espeak",
            ) from None  # fmt: skip
        try:
            doc = json.loads(payload)
        except json.JSONDecodeError:
            raise TTSError(f"TTS server {url} did not answer JSON", field="tts") from None
        if not isinstance(doc, dict):
            raise TTSError(f"TTS server {url} answered {type(doc).__name__}, expected an object", field="tts")
        return doc

    def info(self) -> dict:
        if not self._info:
            self._info.update(self._request("/v1/info"))
        return self._info

    def version(self) -> str:
        info = self.info()
        return f"{info.get('engine', 'http')} {info.get('version', '?')}"

    def voices(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.info().get("voices", ()))

    def check_voice(self, voice: Voice) -> None:
        known = self.voices()
        if known and voice.engine_voice not in known:
            raise TTSError(
                f"unknown voice {voice.engine_voice!r} for {voice.label or 'a character'} on {self.base_url}",
                field="voice", hint=f"use one of: {', '.join(known)}",
            )  # fmt: skip

    def synthesize(self, text: str, voice: Voice, prosody: Prosody) -> Speech:
        self.check_voice(voice)
        doc = self._request(
            "/v1/synthesize", {"text": text, "voice": asdict(voice), "prosody": asdict(prosody)}
        )
        try:
            samples = _decode_wav(base64.b64decode(doc["audio_wav_base64"], validate=True))
        except (KeyError, ValueError, TypeError) as exc:
            raise TTSError(f"TTS server reply has no valid 'audio_wav_base64': {exc}", field="tts") from None
        duration = len(samples) / SAMPLE_RATE
        raw_words = doc.get("words") or []
        try:
            words = tuple(
                WordTiming(
                    text=str(w["text"]),
                    start=min(max(float(w["start"]), 0.0), duration),
                    end=min(max(float(w["end"]), float(w["start"]), 0.0), duration),
                )
                for w in raw_words
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TTSError(
                f"TTS server reply has bad 'words' (need text/start/end): {exc}", field="tts"
            ) from None
        if not words:
            words = word_timings(text, [], samples)
        words = tuple(sorted(words, key=lambda w: w.start))
        return Speech(samples=samples, words=words)


def check_voices(engine: TTSEngine, casting: Mapping[str, Voice]) -> None:
    """Fail before rendering when a cast voice does not exist on ``engine`` (the error names the character)."""
    check = getattr(engine, "check_voice", None)
    if check is None:
        return
    for name, voice in casting.items():
        try:
            check(voice if voice.label else replace(voice, label=name))
        except TTSError as exc:
            raise TTSError(exc.message, field=f"casting.{name}", hint=exc.hint) from None


# ------------------------------------------------------------------------------------------------------ registry

ENGINES = ("espeak", "http")


def get_engine(name: str, **opts: object) -> TTSEngine:
    """The engine called ``name``: ``espeak`` (default, offline) or ``http`` (``base_url=``; or pass a URL as name)."""
    key = (name or "").strip()
    if key.lower() == "espeak":
        if opts:
            raise ConfigError(f"the espeak engine takes no options (got {sorted(opts)})", field="tts")
        return EspeakEngine()
    if key.lower() == "http" or key.startswith(("http://", "https://")):
        base_url = opts.pop("base_url", None) or (key if "://" in key else None)
        if not base_url:
            raise ConfigError(
                "the http TTS engine needs a server URL",
                field="tts",
                hint="get_engine('http', base_url='http://host:port')",
            )
        timeout = float(opts.pop("timeout", 60.0))  # type: ignore[arg-type]
        if opts:
            raise ConfigError(
                f"unknown http engine options {sorted(opts)}", field="tts", hint="use base_url, timeout"
            )
        return HttpTTSEngine(base_url=str(base_url), timeout=timeout)
    raise ConfigError(
        f"unknown TTS engine {name!r}",
        field="tts",
        hint=f"use one of: {', '.join(ENGINES)} (or an http:// URL)",
    )
