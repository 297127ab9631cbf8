"""Dubbing: speak each line's translation with the character's own voice, fitted into the original line's slot.

Translations come from the script (``Element.translations`` / ``PlannedLine.translations``, e.g. a YAML script's
``translations: {en: ...}``) and from a **sidecar file** beside the script, which wins::

    # ep01.en.yaml (or ep01.fountain.en.yaml) — English lines for ep01.fountain
    lang: en                       # optional; must match the file name
    lines:                         # either: source line number → text (only the lines you translate)
      14: Where were you last night?
      17: (coldly) At work.        # a leading (parenthetical) replaces the original's emotion cue
    # or: a list in dialogue order, one entry per dialogue line of the script (the count must match)
    # lines:
    #   - Where were you last night?
    #   - At work.

Fitting: a translation usually runs longer or shorter than the original. Each line is spoken at the original's
emotion; if it is longer than its slot (the original line's length, or up to the next line when the caller allows)
the speaking rate is raised step by step up to ``MAX_SPEEDUP`` (1.35×). Lines that still do not fit are kept whole
(never cut mid-word), placed at their original start and reported with their overflow so an editor can shorten the
translation.

What ``reelwright dub RENDER_DIR --lang en`` needs from the render (wired by the CLI): the plan's dialogue lines in
episode order with their translations (``plan.json``), each voiced line's exact episode start sample and length
(the render's line timing), the casting (``casting.json`` or the run DB), the ``stems/me.wav`` music-and-effects stem
and the picture. It calls :func:`line_translations`, then :func:`dub_lines`, builds the dialogue stem with
:func:`dialogue_track`, re-mixes it over the M&E stem (tasks.audio.mix) and muxes with the picture stream-copied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from schemas.errors import ReelwrightError
from tasks.audio.casting import Voice, voice_for_language
from tasks.audio.speech import speak_line
from tasks.audio.tts import SAMPLE_RATE, Speech, TTSEngine, get_engine

MAX_SPEEDUP = 1.35
_LEADING_CUE = re.compile(r"^\s*([(（][^)）]*[)）])\s*")


class DubError(ReelwrightError):
    """Translations that cannot be used for dubbing: missing lines, a wrong count, a bad sidecar file."""


class _DialogueLine(Protocol):
    """What a line must offer to be translated (``schemas.plan.PlannedLine`` and ``schemas.script.Element`` do)."""

    text: str
    line: int
    translations: dict[str, str]


@dataclass(frozen=True, slots=True)
class DubLine:
    """One line to dub: the translated text, where the original sat (48 kHz samples) and who says it."""

    text: str
    start_sample: int
    max_samples: int
    character: str
    parenthetical: str | None = None


@dataclass(frozen=True, eq=False)
class PlacedSpeech:
    """A dubbed line placed in the episode: its speech, start sample and how it was fitted."""

    speech: Speech
    start_sample: int
    character: str
    text: str
    rate_scale: float  # the speed-up applied to fit (1.0 = none)
    max_samples: int
    voice: str = ""  # the engine voice that spoke it (the character's variant on the target language's base)

    @property
    def samples(self) -> int:
        return len(self.speech.samples)

    @property
    def overflow(self) -> int:
        """Samples beyond the slot (0 when it fits)."""
        return max(self.samples - self.max_samples, 0)

    @property
    def fits(self) -> bool:
        return self.overflow == 0


# --------------------------------------------------------------------------------------------- translations


def sidecar_paths(script: str | Path, lang: str) -> list[Path]:
    """Where a sidecar for ``script`` may be: ``ep01.en.yaml`` and ``ep01.fountain.en.yaml``."""
    script = Path(script)
    return [script.with_name(f"{script.stem}.{lang}.yaml"), script.with_name(f"{script.name}.{lang}.yaml")]


def find_sidecar(script: str | Path, lang: str) -> Path | None:
    found = [p for p in sidecar_paths(script, lang) if p.is_file()]
    if len(found) > 1:
        raise DubError(
            f"two translation files for {lang!r}: {found[0].name} and {found[1].name}", file=found[0],
            hint="keep one of them",
        )  # fmt: skip
    return found[0] if found else None


def load_sidecar(path: str | Path, lang: str, source_lines: Sequence[int]) -> dict[int, str]:
    """Translated text by source line number, from a sidecar YAML (see the module docstring).

    ``source_lines`` are the script lines of the dialogue, in order: a mapping must name only these; a list must
    have exactly one entry per dialogue line.
    """
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DubError("no such translation file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DubError(f"cannot read the translation file: {exc}", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DubError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path, line=mark.line + 1 if mark else None,
            hint="quote lines that contain ': ' or start with a quote",
        ) from None  # fmt: skip
    if not isinstance(doc, dict) or "lines" not in doc:
        raise DubError(
            "expected a mapping with a 'lines' key", file=path, field="lines", hint="see tasks/audio/dub.py"
        )
    declared = doc.get("lang")
    if declared is not None and str(declared) != lang:
        raise DubError(
            f"the file says lang {declared!r} but is used for {lang!r}", file=path, field="lang",
            hint=f"rename the file or set lang: {lang}",
        )  # fmt: skip
    lines = doc["lines"]
    if isinstance(lines, list):
        if len(lines) != len(source_lines):
            raise DubError(
                f"{len(lines)} translated lines for {len(source_lines)} dialogue lines in the script",
                file=path, field="lines",
                hint="give one entry per dialogue line in order, or map source line numbers to text",
            )  # fmt: skip
        return {
            n: _text(path, f"lines[{i}]", t) for i, (n, t) in enumerate(zip(source_lines, lines, strict=True))
        }
    if isinstance(lines, dict):
        known = set(source_lines)
        out: dict[int, str] = {}
        for key, text in lines.items():
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise DubError(f"{key!r} is not a line number", file=path, field=f"lines.{key}") from None
            if number not in known:
                near = sorted(known, key=lambda n: abs(n - number))[:3]
                raise DubError(
                    f"script line {number} is not a dialogue line", file=path, field=f"lines.{key}",
                    hint=f"dialogue lines near it: {', '.join(map(str, sorted(near)))}",
                )  # fmt: skip
            out[number] = _text(path, f"lines.{key}", text)
        return out
    raise DubError("'lines' must be a list or a mapping", file=path, field="lines")


def _text(path: Path, field: str, value: Any) -> str:
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise DubError("expected the translated text", file=path, field=field)
    return str(value).strip()


def line_translations(
    lines: Sequence[_DialogueLine], lang: str, *, sidecar: str | Path | None = None
) -> list[str]:
    """The ``lang`` text of every line, in order: sidecar first, then the line's own ``translations``.

    Every line must have one; the error lists the ones missing (source line and opening words).
    """
    from_file = load_sidecar(sidecar, lang, [ln.line for ln in lines]) if sidecar else {}
    out, missing = [], []
    for ln in lines:
        text = from_file.get(ln.line) or ln.translations.get(lang)
        if not text:
            missing.append(f"line {ln.line}: {ln.text[:24]!r}")
        out.append(text or "")
    if missing:
        shown = "; ".join(missing[:5]) + (f" … and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DubError(
            f"{len(missing)} of {len(lines)} dialogue lines have no {lang!r} translation ({shown})",
            file=sidecar, hint=f"add them to {sidecar or 'a sidecar file <script>.' + lang + '.yaml'}",
        )  # fmt: skip
    return out


def split_cue(text: str) -> tuple[str | None, str]:
    """A translation may open with its own parenthetical: ``(coldly) At work.`` → (``(coldly)``, ``At work.``)."""
    m = _LEADING_CUE.match(text)
    return (m.group(1), text[m.end() :]) if m else (None, text)


# ------------------------------------------------------------------------------------------------- dubbing


def _as_dub_line(item: DubLine | Sequence[Any]) -> DubLine:
    if isinstance(item, DubLine):
        return item
    if len(item) not in (4, 5):
        raise DubError(
            f"a dub line is (text, start_sample, max_samples, character[, parenthetical]), got {item!r}"
        )
    return DubLine(*item)


def dub_lines(
    lines: Sequence[DubLine | Sequence[Any]],
    lang: str,
    casting: Mapping[str, Voice],
    engine: TTSEngine | str = "espeak",
    *,
    max_speedup: float = MAX_SPEEDUP,
) -> list[PlacedSpeech]:
    """Speak every translated line in ``lang`` with its character's voice, sped up (≤ ``max_speedup``) to fit.

    ``lines`` are :class:`DubLine` or tuples ``(text, start_sample, max_samples, character[, parenthetical])``.
    Check :attr:`PlacedSpeech.fits` (or :func:`unfit`) for lines that could not be fitted.
    """
    tts = get_engine(engine) if isinstance(engine, str) else engine
    placed = []
    for item in lines:
        line = _as_dub_line(item)
        if line.character not in casting:
            raise DubError(
                f"no voice cast for {line.character!r}", field="casting",
                hint=f"cast: {', '.join(sorted(casting)) or 'nobody'}; recast or add them to the series bible",
            )  # fmt: skip
        if line.max_samples <= 0 or line.start_sample < 0:
            raise DubError(
                f"bad slot for {line.text[:30]!r}: start {line.start_sample}, length {line.max_samples}"
            )
        cue, text = split_cue(line.text)
        parenthetical = cue or line.parenthetical
        voice = casting[line.character]
        scale = 1.0
        speech = speak_line(text, lang=lang, voice=voice, parenthetical=parenthetical, engine=tts)
        for _ in range(4):  # the rate is not exactly proportional to the length: converge in a few steps
            if len(speech.samples) <= line.max_samples or scale >= max_speedup:
                break
            scale = min(scale * len(speech.samples) / line.max_samples * 1.02, max_speedup)
            speech = speak_line(
                text, lang=lang, voice=voice, parenthetical=parenthetical, engine=tts, rate_scale=scale
            )  # fmt: skip
        placed.append(
            PlacedSpeech(
                speech=speech,
                start_sample=line.start_sample,
                character=line.character,
                text=text,
                rate_scale=round(scale, 3),
                max_samples=line.max_samples,
                voice=voice_for_language(voice, lang).engine_voice,
            )  # fmt: skip
        )
    return placed


def unfit(placed: Sequence[PlacedSpeech]) -> list[str]:
    """One message per line that overflows its slot, for the dub report."""
    return [
        f"{p.character}: {p.text[:40]!r} is {p.overflow / SAMPLE_RATE:.2f} s too long at {p.rate_scale:.2f}× "
        f"(slot {p.max_samples / SAMPLE_RATE:.2f} s): shorten the translation"
        for p in placed
        if not p.fits
    ]


def dialogue_track(placed: Sequence[PlacedSpeech], total_samples: int) -> np.ndarray:
    """The dubbed dialogue stem: every line added at its start sample into ``total_samples`` of mono float32."""
    track = np.zeros(total_samples, dtype=np.float32)
    for p in placed:
        if p.start_sample >= total_samples:
            continue
        n = min(p.samples, total_samples - p.start_sample)
        track[p.start_sample : p.start_sample + n] += p.speech.samples[:n]
    return np.clip(track, -1.0, 1.0)
