"""Voice casting: which voice speaks each character, the same in every episode of a series.

Order of authority, per character:

1. the **series bible** (a YAML file, e.g. ``series.yaml`` beside the scripts) — what the producer chose;
2. the **previous casting** of the series (stored by an earlier render, JSON or the run database) — so a voice never
   changes between episodes;
3. a **deterministic assignment** from a hash of the name, steered by gender and age hints, that gives every
   character in the cast a different voice variant and a predicted median F0 (from a measured table of each
   variant's F0 against eSpeak's pitch setting, ``VARIANT_F0``) at least ``MIN_GAP_ST`` semitones from every other
   voice of the same gender. Narrators (旁白, NARRATOR) get a neutral voice.

The series bible::

    series: The Heiress Returns          # optional
    characters:
      林星野:                              # the name as the script writes it (aliases are matched too)
        voice: cmn+f3                    # engine voice: eSpeak "base+variant" (en-us+m3, cmn+f2) or a server voice
        language: zh                     # the character's language (en, zh, ...); picks the base voice if omitted
        pitch: 62                        # 0-99
        pitch_range: 55                  # 0-99 (intonation width)
        rate: 170                        # words per minute, 80-450
        volume: 100                      # 0-200
        label: "Lin, young heiress"      # free text shown in reports
      NARRATOR:
        voice: en-us

Every field is optional; what the bible leaves out comes from the previous casting or the assignment. Unknown keys
and out-of-range values are errors naming the file, line and field.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from schemas.errors import ReelwrightError
from schemas.script import Character
from tasks.media.files import write_text_atomic


class CastingError(ReelwrightError):
    """A series bible or stored casting that cannot be used."""


@dataclass(frozen=True, slots=True)
class Voice:
    """One character's voice: the engine voice name plus eSpeak-style parameters (other engines map them)."""

    engine_voice: str = "en-us"
    language: str = "en"
    pitch: int = 50  # 0-99
    pitch_range: int = 50  # 0-99
    rate: int = 165  # words per minute
    volume: int = 100  # 0-200
    label: str = ""

    @property
    def base(self) -> str:
        """The engine voice without its variant (``en-us`` of ``en-us+m3``)."""
        return self.engine_voice.partition("+")[0]

    @property
    def variant(self) -> str:
        return self.engine_voice.partition("+")[2]


_LIMITS = {"pitch": (0, 99), "pitch_range": (0, 99), "rate": (80, 450), "volume": (0, 200)}
_FIELDS = {f.name: f for f in fields(Voice)}

# Script language → eSpeak base voice. Others pass through (eSpeak knows ~130 languages by code).
BASE_VOICE = {
    "en": "en-us",
    "zh": "cmn",
    "zh-cn": "cmn",
    "cmn": "cmn",
    "zh-hans": "cmn",
    "yue": "yue",
    "zh-yue": "yue",
}

NARRATORS = {
    "旁白", "画外音", "广播", "播音", "电台", "narrator", "narration", "the narrator", "voice over", "voiceover",
    "announcer", "radio", "tv", "pa", "loudspeaker",
}  # fmt: skip

# eSpeak variants that sound like distinct people (the robotic and novelty ones are left out).
FEMALE_VARIANTS = tuple("f1 f2 f3 f4 f5 Annie Alicia Andrea belinda steph anika linda".split())
MALE_VARIANTS = tuple("m1 m2 m3 m4 m5 m6 m7 m8 Andy Michael john paul robert ian".split())
OLD_FEMALE_VARIANTS = ("grandma",)
OLD_MALE_VARIANTS = ("grandpa",)

_FEMALE_HINTS = re.compile(
    r"妈|母|姐|妹|女|婆|奶|娘|嫂|姑|姨|妻|媳|她|小姐|夫人|太太|公主|皇后|"
    r"\b(mrs|ms|miss|lady|queen|mother|mom|mum|aunt|grandma|sister|girl|woman|wife|princess|madam|she|her)\b",
    re.IGNORECASE,
)
_MALE_HINTS = re.compile(
    r"爸|父|哥|弟|爷|叔|伯|舅|(?<!其)他|公子|先生|少爷|总裁|老板|王爷|皇上|男|"
    r"\b(mr|sir|lord|king|father|dad|uncle|grandpa|brother|boy|man|husband|prince|he|his|him)\b",
    re.IGNORECASE,
)


def base_voice(language: str) -> str:
    """The default engine base voice for a script language (``zh`` → ``cmn``, ``en`` → ``en-us``)."""
    return BASE_VOICE.get(language.lower(), language.lower())


def voice_for_language(voice: Voice, language: str) -> Voice:
    """The same character voice speaking another language: same variant, pitch and rate, that language's base."""
    if language.lower() == voice.language.lower():
        return voice
    variant = f"+{voice.variant}" if voice.variant else ""
    return replace(voice, engine_voice=base_voice(language) + variant, language=language)


# ---------------------------------------------------------------------------------------------------- the bible


@dataclass(frozen=True, slots=True)
class BibleEntry:
    """What the bible fixes for one character: the given fields only (the rest comes from elsewhere)."""

    name: str
    values: tuple[tuple[str, Any], ...]
    line: int = 0

    def apply(self, voice: Voice) -> Voice:
        values = dict(self.values)
        if "language" in values and "voice" not in values:
            voice = voice_for_language(voice, values["language"])
        if "voice" in values:
            values["engine_voice"] = values.pop("voice")
        return replace(voice, **values)


@dataclass(frozen=True, slots=True)
class Bible:
    """A loaded series bible: entries by character name (and alias), and the file it came from."""

    entries: tuple[BibleEntry, ...] = ()
    series: str | None = None
    path: str | None = None

    def get(self, names: Sequence[str]) -> BibleEntry | None:
        wanted = {_norm(n) for n in names}
        return next((e for e in self.entries if _norm(e.name) in wanted), None)


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


def load_bible(path: str | Path) -> Bible:
    """Read and validate a series bible YAML; errors name the file, line and field and say how to fix it."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CastingError(
            "no such series bible", file=path, hint="pass an existing YAML file to --bible"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CastingError(f"cannot read the series bible: {exc}", file=path) from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CastingError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path,
            line=mark.line + 1 if mark else None, hint="check indentation and quoting",
        ) from None  # fmt: skip
    if root is None:
        return Bible(path=str(path))
    if not isinstance(root, yaml.MappingNode):
        raise CastingError("the bible must be a mapping with a 'characters' key", file=path, line=1)
    series = None
    entries: list[BibleEntry] = []
    for key_node, value_node in root.value:
        key = key_node.value
        if key == "series":
            series = str(value_node.value)
        elif key == "characters":
            entries = _characters(path, value_node)
        else:
            raise CastingError(
                f"unknown key {key!r}", file=path, line=key_node.start_mark.line + 1, field=key,
                hint="a series bible has 'series' and 'characters'",
            )  # fmt: skip
    return Bible(entries=tuple(entries), series=series, path=str(path))


_BIBLE_KEYS = ("voice", "language", "pitch", "pitch_range", "rate", "volume", "label")


def _characters(path: Path, node: Any) -> list[BibleEntry]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise CastingError(
            "'characters' must map each character name to its voice settings", file=path,
            line=node.start_mark.line + 1, field="characters",
        )  # fmt: skip
    entries = []
    seen: dict[str, int] = {}
    for name_node, body in node.value:
        name = str(name_node.value).strip()
        where = f"characters.{name}"
        if _norm(name) in seen:
            raise CastingError(
                f"{name!r} is cast twice (first on line {seen[_norm(name)]})", file=path,
                line=name_node.start_mark.line + 1, field=where, hint="keep one entry per character",
            )  # fmt: skip
        seen[_norm(name)] = name_node.start_mark.line + 1
        if isinstance(body, yaml.ScalarNode) and body.tag.endswith(":str"):
            body_items = [("voice", body)]  # shorthand: `NAME: en-us+m3`
        elif isinstance(body, yaml.MappingNode):
            body_items = [(k.value, v) for k, v in body.value]
        else:
            raise CastingError(
                "expected a mapping of voice settings (voice, language, pitch, pitch_range, rate, volume, label)",
                file=path, line=body.start_mark.line + 1, field=where,
            )  # fmt: skip
        values: dict[str, Any] = {}
        for key, value_node in body_items:
            line = value_node.start_mark.line + 1
            if key not in _BIBLE_KEYS:
                raise CastingError(
                    f"unknown field {key!r}", file=path, line=line, field=f"{where}.{key}",
                    hint=f"use one of: {', '.join(_BIBLE_KEYS)}",
                )  # fmt: skip
            values[key] = _value(path, line, f"{where}.{key}", key, value_node)
        entries.append(
            BibleEntry(name=name, values=tuple(values.items()), line=name_node.start_mark.line + 1)
        )
    return entries


def _value(path: Path, line: int, field: str, key: str, node: Any) -> Any:
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        raise CastingError("expected a single value", file=path, line=line, field=field)
    raw = node.value
    if key in _LIMITS:
        lo, hi = _LIMITS[key]
        try:
            value = int(raw)
        except ValueError:
            raise CastingError(
                f"{raw!r} is not a whole number", file=path, line=line, field=field, hint=f"use {lo}-{hi}"
            ) from None
        if not lo <= value <= hi:
            raise CastingError(
                f"{value} is out of range", file=path, line=line, field=field, hint=f"use {lo}-{hi}"
            )
        return value
    value = str(raw).strip()
    if key in ("voice", "language") and (not value or any(c.isspace() for c in value)):
        raise CastingError(
            f"{raw!r} is not a voice name", file=path, line=line, field=field,
            hint="write e.g. en-us+m3 or cmn+f2" if key == "voice" else "write a language code, e.g. en or zh",
        )  # fmt: skip
    return value


# ------------------------------------------------------------------------------------------ deterministic casting


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.sha256(_norm(name).encode("utf-8")).digest()[:8], "big")


def guess_gender(character: Character) -> str | None:
    """``female``/``male`` from the script, else from honorifics in the name or description, else None."""
    if character.gender in ("female", "male"):
        return character.gender
    for text in (character.name, character.description):
        female, male = bool(_FEMALE_HINTS.search(text or "")), bool(_MALE_HINTS.search(text or ""))
        if female != male:
            return "female" if female else "male"
    return None


def is_narrator(name: str) -> bool:
    return _norm(name) in NARRATORS or _norm(name).startswith(("旁白", "narrator"))


# Median F0 (Hz) of each eSpeak NG variant at the pitch settings in VARIANT_F0_PITCHES, per base voice ("" is the
# base voice with no variant): measured by ``bench/voices.py --write`` (YIN with an octave guard over five
# sentences per language, median) into variant_f0.json beside this file. Each variant carries its own base
# pitch, which outweighs the 0-99 setting (``ian`` at 50 is below ``m4`` at 40), and Mandarin shifts variants by
# different amounts, so casting works on predicted F0 per base voice, not on the setting. Other base voices use the
# en-us table.
_F0_DATA = json.loads((Path(__file__).with_name("variant_f0.json")).read_text(encoding="utf-8"))
VARIANT_F0_PITCHES: tuple[int, ...] = tuple(_F0_DATA["pitches"])
VARIANT_F0: dict[str, tuple[float, ...]] = {k: tuple(v) for k, v in _F0_DATA["tables"]["en-us"].items()}
VARIANT_F0_CMN: dict[str, tuple[float, ...]] = {k: tuple(v) for k, v in _F0_DATA["tables"]["cmn"].items()}
_F0_TABLES = {"en-us": VARIANT_F0, "cmn": VARIANT_F0_CMN}


def _f0_table(base: str) -> dict[str, tuple[float, ...]]:
    return _F0_TABLES.get(base, VARIANT_F0)


# Predicted median F0 windows (Hz) per gender and age band: where the assignment looks first, then anywhere in the
# gender's whole range. Adults speak in the middle, the old lower, children higher.
_F0_WINDOWS = {
    ("male", "adult"): (76.0, 145.0), ("male", "old"): (72.0, 118.0), ("male", "child"): (140.0, 176.0),
    ("female", "adult"): (175.0, 290.0), ("female", "old"): (150.0, 225.0), ("female", "child"): (260.0, 400.0),
}  # fmt: skip
_F0_RANGE = {"male": (70.0, 176.0), "female": (150.0, 420.0)}
# Mandarin's tone contours lift a voice set below ~84 Hz by up to 1.5 semitones, sentence by sentence (eSpeak cmn
# john at a predicted 75 Hz measured 75-83 Hz over three sentences), so low Mandarin voices start there.
_TONAL_FLOOR_HZ = {"cmn": 84.0, "yue": 84.0}
MIN_GAP_ST = 2.6  # semitones between two voices of one gender in predicted F0 (2 is the bar; 0.6 for the tables' error)
_PITCH_LIMITS = (3, 96)  # eSpeak's extremes sound strained: stay inside


def _range_factor(base: str, pitch_range: int) -> float:
    """How much eSpeak's pitch_range lifts the median F0 against the table's setting (a wider range reaches
    higher above the base pitch: en-us about +1 semitone from 50 to 70, Mandarin hardly at all)."""
    slope = _F0_DATA["range_st_per_unit"][base if base in _F0_TABLES else "en-us"]
    return float(2 ** (slope * (pitch_range - _F0_DATA["pitch_range"]) / 12))


def _table_f0(table: Sequence[float], pitch: float | Sequence[float]) -> np.ndarray:
    """F0 (Hz) of a variant's table row at pitch setting(s) ``pitch``, interpolated in log F0, at the table's range."""
    return np.exp(np.interp(pitch, VARIANT_F0_PITCHES, np.log(table)))


def predicted_f0(voice: Voice) -> float | None:
    """The median F0 (Hz) eSpeak gives ``voice``, from its base voice's measured table (VARIANT_F0 for en-us and
    languages without a table, VARIANT_F0_CMN for cmn) and its pitch_range; None for variants not in the table."""
    table = _f0_table(voice.base).get(voice.variant)
    if table is None:
        return None
    return float(_table_f0(table, voice.pitch)) * _range_factor(voice.base, voice.pitch_range)


def _pitch_for(base: str, variant: str, f0: float) -> int | None:
    """The pitch setting that gives ``base+variant`` median F0 ``f0`` (Hz) at the table's pitch_range, or None
    outside the usable range."""
    table = np.log(_f0_table(base)[variant])
    lo, hi = _PITCH_LIMITS
    pitch = int(round(np.interp(np.log(f0), table, VARIANT_F0_PITCHES)))
    if not lo <= pitch <= hi or not table[0] <= np.log(f0) <= table[-1]:
        return None
    return pitch


def _voice_gender(voice: Voice) -> str:
    return "female" if voice.variant in (*FEMALE_VARIANTS, *OLD_FEMALE_VARIANTS) else "male"


def _semitones(a: float, b: float) -> float:
    return abs(12.0 * np.log2(a / b))


def _pool(gender: str | None, age: int | None, h: int) -> tuple[str, tuple[str, ...]]:
    """The gender used for pitch and the variants to choose from; unknown gender picks one from the hash."""
    if gender is None:
        gender = "female" if h & 1 else "male"
    if age is not None and age >= 60:
        old = OLD_FEMALE_VARIANTS if gender == "female" else OLD_MALE_VARIANTS
        return gender, old + (FEMALE_VARIANTS if gender == "female" else MALE_VARIANTS)
    return gender, FEMALE_VARIANTS if gender == "female" else MALE_VARIANTS


@functools.cache
def _reach(gender: str, base: str) -> tuple[float, float]:
    """The lowest and highest predicted F0 (Hz, at the table's pitch_range) the gender's variants reach inside the
    usable pitch settings."""
    table = _f0_table(base)
    variants = (*FEMALE_VARIANTS, *OLD_FEMALE_VARIANTS) if gender == "female" else (*MALE_VARIANTS, *OLD_MALE_VARIANTS)
    at = [_table_f0(table[v], _PITCH_LIMITS) for v in variants if v in table]
    return float(min(a[0] for a in at)), float(max(a[1] for a in at))


def _target_f0(gender: str, age: int | None, h: int, taken: Sequence[float], base: str = "en-us") -> float:
    """A predicted median F0 for a new character, at least MIN_GAP_ST from every voice of the same gender already
    cast: the free slot nearest the hash's spot on a grid of MIN_GAP_ST steps up its age window (a grid packs the
    window fully), else the nearest free quarter semitone in the window, then in the gender's whole range; if all
    are taken, the spot farthest from every other voice."""
    band = "child" if age is not None and age < 16 else "old" if age is not None and age >= 55 else "adult"
    lo, hi = _F0_WINDOWS[(gender, band)]
    floor = _TONAL_FLOOR_HZ.get(base, 0.0)
    if floor > lo:  # the window moves up as a whole, keeping its width
        lo, hi = floor, hi * floor / lo
    reach_lo, reach_hi = _reach(gender, base)  # no slot a variant cannot be set to
    lo, hi = max(lo, reach_lo), max(min(hi, reach_hi), max(lo, reach_lo))
    wanted = np.log2(lo) + ((h >> 16) % 1000) / 999 * (np.log2(hi) - np.log2(lo))

    def free(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gaps = np.array([min((abs(12 * (g - np.log2(t))) for t in taken), default=np.inf) for g in grid])
        return grid[gaps >= MIN_GAP_ST], gaps

    slots = np.arange(np.log2(lo), np.log2(hi) + 1e-9, MIN_GAP_ST / 12)
    whole = max(_F0_RANGE[gender][0], floor, reach_lo), min(max(_F0_RANGE[gender][1], hi), reach_hi)
    for grid in (slots, *(np.arange(np.log2(a), np.log2(b) + 1e-9, 1 / 48) for a, b in ((lo, hi), whole))):
        ok, gaps = free(grid)
        if len(ok):
            return float(2 ** ok[np.argmin(np.abs(ok - wanted))])
    return float(2 ** grid[np.argmax(gaps)])


def _assign(character: Character, language: str, used_variants: set[str], taken: Mapping[str, list[float]]) -> Voice:
    h = _digest(character.name)
    gender, pool = _pool(guess_gender(character), character.age, h)
    start = (h >> 8) % len(pool)
    if character.age is not None and character.age >= 60:
        start = 0  # the old-age variant first
    ordered = [pool[(start + i) % len(pool)] for i in range(len(pool))]
    age = character.age
    f0 = _target_f0(gender, age, h, taken[gender], base_voice(language))
    pitch_range = 40 + (h >> 32) % 31  # 40-70
    # the first variant (hash order, unused ones first) that reaches that F0 at a usable pitch setting
    candidates = [v for v in ordered if v not in used_variants] + [v for v in ordered if v in used_variants]
    base, table = base_voice(language), _f0_table(base_voice(language))
    f0 /= _range_factor(base, pitch_range)  # the setting's F0 at the table's range
    variant, pitch = next(((v, p) for v in candidates if (p := _pitch_for(base, v, f0)) is not None), (None, None))
    if variant is None:  # nobody reaches it: the variant whose range comes closest
        variant = min(candidates, key=lambda v: min(abs(np.log(f0 / x)) for x in table[v]))
        pitch = int(np.clip(np.interp(np.log(f0), np.log(table[variant]), VARIANT_F0_PITCHES), *_PITCH_LIMITS))
    # Short drama is brisk: 165-200 wpm (eSpeak's Mandarin is slow at the same setting, so it gets 15 % more).
    rate = 165 + (h >> 24) % 36
    if language.startswith(("zh", "cmn")):
        rate = int(rate * 1.15)
    if age is not None and age >= 55:
        rate -= 15
    elif age is not None and age < 25:
        rate += 8
    return Voice(
        engine_voice=f"{base}+{variant}", language=language, pitch=int(pitch),
        pitch_range=pitch_range, rate=rate, volume=100,
        label=f"{character.name} ({gender}{f', {age}' if age is not None else ''})",
    )  # fmt: skip


def narrator_voice(language: str, name: str = "narrator") -> Voice:
    """A neutral, even voice: the base voice with no variant, middle pitch, narrow range, unhurried."""
    return Voice(
        engine_voice=base_voice(language), language=language, pitch=42, pitch_range=35, rate=155, label=name
    )


def cast_voices(
    characters: Sequence[Character],
    language: str,
    bible: Bible | None = None,
    previous: Mapping[str, Voice] | None = None,
) -> dict[str, Voice]:
    """A voice for every character (keyed by name and by each alias): bible, then previous casting, then assigned.

    Assignment visits characters in hash order (not script order), so the same cast always gets the same voices,
    and skips variants and F0s (within MIN_GAP_ST of a voice of the same gender) already taken by the bible, the previous casting and earlier characters.
    """
    previous = dict(previous or {})
    prev_norm = {_norm(k): v for k, v in previous.items()}
    result: dict[str, Voice] = {}
    todo: list[Character] = []
    for character in characters:
        names = [character.name, *character.aliases]
        stored = next((prev_norm[_norm(n)] for n in names if _norm(n) in prev_norm), None)
        if stored is not None:
            result[character.name] = stored
        elif is_narrator(character.name):
            result[character.name] = narrator_voice(language, character.name)
        else:
            todo.append(character)
    used_variants = {v.variant for v in [*result.values(), *previous.values()] if v.variant}
    taken: dict[str, list[float]] = {"male": [], "female": []}  # predicted F0 of every voice already cast

    def take(voice: Voice) -> None:
        f0 = predicted_f0(voice)
        if f0 is not None:
            taken[_voice_gender(voice)].append(f0)

    for name, voice in [*result.items(), *previous.items()]:
        if not is_narrator(name):  # a narrator is a neutral read, not one of the cast
            take(voice)
    if bible is not None:
        for entry in bible.entries:
            values = dict(entry.values)
            if "voice" in values:
                used_variants.add(values["voice"].partition("+")[2])
                if "pitch" in values:  # a fully given voice: new characters keep clear of it
                    take(Voice(engine_voice=values["voice"], pitch=values["pitch"]))
    for character in sorted(todo, key=lambda c: (_digest(c.name), c.name)):
        voice = _assign(character, language, used_variants, taken)
        used_variants.add(voice.variant)
        take(voice)
        result[character.name] = voice
    out: dict[str, Voice] = {}
    for character in characters:
        voice = result[character.name]
        entry = bible.get([character.name, *character.aliases]) if bible else None
        if entry is not None:
            voice = entry.apply(voice)
        for name in (character.name, *character.aliases):
            out.setdefault(name, voice)
    return out


# ------------------------------------------------------------------------------------------------ storage (JSON)


def similar_voices(casting: Mapping[str, Voice], limit_st: float = 2.0) -> list[dict]:
    """Pairs of cast voices of one gender whose predicted median F0 is under ``limit_st`` semitones apart — a QC
    warning: a casting stored by an earlier version, or a bible, can put two characters on near the same voice
    (new assignments keep MIN_GAP_ST). Aliases of one character count once; narrators are left out."""
    narrators = {voice for name, voice in casting.items() if is_narrator(name)}  # and under their aliases
    people: dict[Voice, str] = {}
    for name, voice in casting.items():
        if voice not in narrators and predicted_f0(voice) is not None:
            people.setdefault(voice, name)
    out = []
    items = list(people.items())
    for i, (va, a) in enumerate(items):
        for vb, b in items[i + 1 :]:
            if _voice_gender(va) != _voice_gender(vb):
                continue
            gap = _semitones(predicted_f0(va), predicted_f0(vb))
            if gap < limit_st:
                out.append({"characters": [a, b], "voices": [va.engine_voice, vb.engine_voice],
                            "predicted_semitones": round(float(gap), 2),
                            "fix": "set one of them apart in the series bible (voice/pitch), or delete the stored "
                                   "casting to recast"})  # fmt: skip
    return out


def save_casting(path: str | Path, casting: Mapping[str, Voice]) -> Path:
    """Write a casting as JSON (atomically) so the next episode reuses it."""
    doc = {"version": 1, "voices": {name: asdict(voice) for name, voice in casting.items()}}
    return write_text_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def load_casting(path: str | Path) -> dict[str, Voice]:
    """Read a casting written by :func:`save_casting`; a missing file is an empty casting (a new series)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CastingError(
            f"cannot read the stored casting: {exc}", file=path, hint="delete it to recast"
        ) from None
    voices = doc.get("voices") if isinstance(doc, dict) else None
    if not isinstance(voices, dict):
        raise CastingError("no 'voices' mapping", file=path, field="voices", hint="delete the file to recast")
    return {name: voice_from_dict(d, file=path, field=f"voices.{name}") for name, d in voices.items()}


def voice_from_dict(
    data: Mapping[str, Any], *, file: str | Path | None = None, field: str | None = None
) -> Voice:
    """A Voice from stored fields, with an error naming the bad field (stored data may be from an older version)."""
    if not isinstance(data, Mapping):
        raise CastingError("expected an object of voice fields", file=file, field=field)
    unknown = set(data) - set(_FIELDS)
    if unknown:
        raise CastingError(f"unknown voice fields {sorted(unknown)}", file=file, field=field)
    try:
        voice = Voice(**{k: (int(v) if k in _LIMITS else str(v)) for k, v in data.items()})
    except (TypeError, ValueError) as exc:
        raise CastingError(f"bad voice: {exc}", file=file, field=field) from None
    for key, (lo, hi) in _LIMITS.items():
        if not lo <= getattr(voice, key) <= hi:
            raise CastingError(
                f"{key}={getattr(voice, key)} is outside {lo}-{hi}", file=file, field=f"{field}.{key}"
            )
    return voice
