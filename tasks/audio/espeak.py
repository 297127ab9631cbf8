"""A small ctypes binding to the libespeak-ng shipped by the ``espeakng-loader`` wheel (no system espeak needed).

eSpeak NG is one global C library: one voice, one parameter set, one callback. Every call therefore runs under one
process-wide lock, the library is initialised once in synchronous mode (audio is handed to our callback, never to a
sound card), and the ``espeak_ng_*`` status-code API is used so the library returns errors instead of printing them.

Output is 22050 Hz mono int16 plus WORD events carrying the exact output sample where each word starts; we resample
to 48 kHz float32 (``resample_poly`` 320/147, exact) and scale the event samples by the same ratio.

Output is a function of the text, voice and parameters *and of what this process synthesised before*: eSpeak keeps
its pitch-flutter phase in a C static (``Flutter_ix`` in wavegen.c) that no API resets, so the same line can come
out a few samples longer or shorter (well under 1 %, inaudible). Callers that need byte-identical audio keep the
first synthesis (the asset store does).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError

OUTPUT_RATE = 48_000

# espeak_ng_OUTPUT_MODE / espeak_PARAMETER / espeak_EVENT_TYPE / espeak_Synth flags (speak_lib.h, espeak_ng.h)
_ENOUTPUT_MODE_SYNCHRONOUS = 0x0001
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_CHARS_UTF8 = 1
_SSML = 0x10
_ENDPAUSE = 0x1000
_POS_CHARACTER = 1
_ENS_OK = 0


class EspeakError(ReelwrightError):
    """eSpeak NG could not be loaded, could not find a voice, or failed to synthesise."""


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position in the input text
        ("length", ctypes.c_int),  # word length in characters
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # output sample index (at the library's rate)
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # union {int number; const char *name; char string[8]}
    ]


class _VoiceStruct(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # repeated (priority byte, NUL-terminated language) pairs
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True, slots=True)
class EspeakVoice:
    """One installed base voice: its name, the languages it speaks, its file identifier (``gmw/en-US``)."""

    name: str
    languages: tuple[str, ...]
    identifier: str


@dataclass(frozen=True, slots=True)
class WordEvent:
    """Where a word starts: ``char`` (0-based) and ``length`` index the input text; ``sample`` is at 48 kHz."""

    char: int
    length: int
    sample: int


@dataclass(frozen=True, slots=True)
class Synthesis:
    """48 kHz mono float32 audio in −1..1 and the word starts, in input order."""

    samples: np.ndarray
    words: tuple[WordEvent, ...]


class _Library:
    """The loaded library, its sample rate and the callback's collection buffers (guarded by ``lock``)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise EspeakError(
                "the espeakng-loader package is not installed", hint="pip install espeakng-loader"
            ) from exc
        self.data_path = Path(espeakng_loader.get_data_path())
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise EspeakError(f"cannot load libespeak-ng: {exc}", hint="reinstall espeakng-loader") from exc
        lib.espeak_ng_InitializePath.argtypes = [ctypes.c_char_p]
        lib.espeak_ng_Initialize.argtypes = [ctypes.c_void_p]
        lib.espeak_ng_Initialize.restype = ctypes.c_int
        lib.espeak_ng_InitializeOutput.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
        lib.espeak_ng_InitializeOutput.restype = ctypes.c_int
        lib.espeak_ng_GetSampleRate.restype = ctypes.c_int
        lib.espeak_ng_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_ng_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_ng_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ng_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
        lib.espeak_ng_GetStatusCodeMessage.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
        self.lib = lib
        self.lock = threading.Lock()
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, int, int]] = []
        lib.espeak_ng_InitializePath(str(self.data_path).encode())
        self._check(lib.espeak_ng_Initialize(None), "initialise")
        self._check(lib.espeak_ng_InitializeOutput(_ENOUTPUT_MODE_SYNCHRONOUS, 0, None), "initialise output")
        self.rate = int(lib.espeak_ng_GetSampleRate())
        self._callback = _CALLBACK(self._collect)  # kept referenced: the C side holds only the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def message(self, status: int) -> str:
        buf = ctypes.create_string_buffer(512)
        self.lib.espeak_ng_GetStatusCodeMessage(status, buf, len(buf))
        return buf.value.decode("utf-8", "replace") or f"status 0x{status:x}"

    def _check(self, status: int, what: str) -> None:
        if status != _ENS_OK:
            raise EspeakError(
                f"eSpeak NG could not {what}: {self.message(status)}", hint="reinstall espeakng-loader"
            )

    def _collect(
        self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.POINTER(_Event)
    ) -> int:
        if wav and count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events and events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EVENT_WORD:
                self.events.append((ev.text_position, ev.length, ev.sample))
            i += 1
        return 0


_INIT_LOCK = threading.Lock()
_LOADED: list[_Library] = []


def _library() -> _Library:
    """The process's one initialised library (initialised once even when threads race to first use)."""
    if not _LOADED:
        with _INIT_LOCK:
            if not _LOADED:
                _LOADED.append(_Library())
    return _LOADED[0]


def version() -> str:
    """The eSpeak NG version string (part of every speech cache key)."""
    lib = _library()
    with lib.lock:
        return lib.lib.espeak_Info(None).decode()


@cache
def list_voices() -> tuple[EspeakVoice, ...]:
    """Every installed base voice (languages), e.g. ``en-us``, ``en-gb``, ``cmn``, ``yue``."""
    lib = _library()
    out = []
    with lib.lock:
        table = lib.lib.espeak_ListVoices(None)
        i = 0
        while table[i]:
            v = table[i].contents
            raw = ctypes.string_at(v.languages, 200)
            langs, pos = [], 0
            while pos < len(raw) and raw[pos] != 0:  # (priority byte, name, NUL)*, ended by a 0 priority
                end = raw.index(b"\0", pos + 1)
                langs.append(raw[pos + 1 : end].decode())
                pos = end + 1
            out.append(EspeakVoice(v.name.decode(), tuple(langs), v.identifier.decode()))
            i += 1
    return tuple(out)


@cache
def list_variants() -> tuple[str, ...]:
    """Voice variants that can follow ``+`` in a voice name: ``f1``…``f5``, ``m1``…``m8``, ``whisper``, ``klatt``…"""
    folder = _library().data_path / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))


@cache
def base_names() -> dict[str, str]:
    """Every accepted base-voice name (lower case) → the file name eSpeak selects it by.

    A voice is selected by its file name (``en-us``, ``cmn``, ``yue``); a language code it speaks is an alias
    (``zh`` → ``cmn``, ``en-gb`` → ``en``) taken from the first voice that lists it, as ``espeak-ng -v`` does not.
    """
    names: dict[str, str] = {}
    for v in list_voices():
        base = v.identifier.rsplit("/", 1)[-1].lower()
        names[base] = base
    for v in list_voices():
        base = v.identifier.rsplit("/", 1)[-1].lower()
        for lang in v.languages:
            names.setdefault(lang.lower(), base)
    return names


def resolve_voice(name: str) -> str:
    """The eSpeak voice name for ``name`` (``base`` or ``base+variant``), or a clear error listing what exists."""
    base, _, variant = name.strip().partition("+")
    names = base_names()
    if base.lower() not in names:
        shown = ", ".join(sorted(set(names.values())))
        raise EspeakError(
            f"eSpeak NG has no voice {base!r} (in {name!r})", field="voice",
            hint=f"use one of: {shown}",
        )  # fmt: skip
    if variant and variant not in list_variants():
        raise EspeakError(
            f"eSpeak NG has no voice variant {variant!r} (in {name!r})", field="voice",
            hint=f"use one of: {', '.join(list_variants())}",
        )  # fmt: skip
    return names[base.lower()] + (f"+{variant}" if variant else "")


def synthesize(
    text: str,
    *,
    voice: str,
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    volume: int = 100,
    word_gap: int = 0,
    ssml: bool = False,
) -> Synthesis:
    """Speak ``text`` with ``voice`` (e.g. ``en-us+m3``, ``cmn+f2``) and the given eSpeak parameters.

    ``rate`` is words per minute (80–450), ``pitch``/``pitch_range`` 0–99, ``volume`` 0–200, ``word_gap`` in 10 ms
    units. With ``ssml`` the text is SSML and word positions index the SSML source.
    """
    selected = resolve_voice(voice)
    lib = _library()
    data = text.replace("\0", " ").encode("utf-8") + b"\0"  # a NUL inside would end the text early
    params = {"rate": rate, "pitch": pitch, "range": pitch_range, "volume": volume, "wordgap": word_gap}
    with lib.lock:
        status = lib.lib.espeak_ng_SetVoiceByName(selected.encode())
        if status != _ENS_OK:
            raise EspeakError(
                f"eSpeak NG could not select voice {voice!r}: {lib.message(status)}", field="voice"
            )
        for key, value in params.items():
            lib.lib.espeak_ng_SetParameter(_PARAM[key], int(value), 0)
        lib.chunks, lib.events = [], []
        flags = _CHARS_UTF8 | _ENDPAUSE | (_SSML if ssml else 0)
        status = lib.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, flags, None, None)
        chunks, events = lib.chunks, lib.events
        lib.chunks, lib.events = [], []
    if status != _ENS_OK:
        raise EspeakError(f"eSpeak NG failed to speak {text[:40]!r}: {lib.message(status)}")
    raw = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return Synthesis(samples=_to_output_rate(raw, lib.rate), words=_words(events, lib.rate))


def _to_output_rate(raw: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    audio = raw.astype(np.float32) / 32768.0
    if rate == OUTPUT_RATE or len(audio) == 0:
        return audio
    ratio = Fraction(OUTPUT_RATE, rate)
    out = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    return np.clip(out, -1.0, 1.0)


def _words(events: list[tuple[int, int, int]], rate: int) -> tuple[WordEvent, ...]:
    ratio = Fraction(OUTPUT_RATE, rate)
    return tuple(
        WordEvent(char=max(pos - 1, 0), length=length, sample=int(sample * ratio + Fraction(1, 2)))
        for pos, length, sample in events
    )
