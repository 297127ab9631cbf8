"""Text helpers shared by the parsers: language guess, emphasis markers, time of day, Chinese numerals."""

from __future__ import annotations

import re

from schemas.script import TimeOfDay

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN = re.compile(r"[A-Za-z]")
CJK_ANY = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def detect_lang(text: str, default: str) -> str:
    """The language of one line by its script: kana → ja, hangul → ko, Han → zh; otherwise ``default``.

    Kana and hangul are checked first because Japanese and Korean text also contains Han characters.
    """
    if KANA.search(text):
        return "ja"
    if HANGUL.search(text):
        return "ko"
    if HAN.search(text):
        return "zh"
    if CYRILLIC.search(text) and not LATIN.search(text):
        return "ru"
    if ARABIC.search(text) and not LATIN.search(text):
        return "ar"
    return default


def majority_lang(texts: list[str], default: str = "en") -> str:
    """The most common per-line language of ``texts`` (ties and empty input give ``default``)."""
    counts: dict[str, int] = {}
    for text in texts:
        lang = detect_lang(text, default)
        counts[lang] = counts.get(lang, 0) + 1
    if not counts:
        return default
    best = max(counts.values())
    winners = [lang for lang, n in counts.items() if n == best]
    return default if default in winners else winners[0]


_EMPH_STAR = re.compile(r"(?<!\\)(\*\*\*|\*\*|\*)(?=\S)(.+?)(?<=[^\s\\])\1")
_EMPH_UNDER = re.compile(r"(?<![\w\\])_(?=\S)(.+?)(?<=[^\s\\])_(?!\w)")


def strip_emphasis(text: str) -> str:
    """Text without Fountain emphasis markers (``*italic*``, ``**bold**``, ``***both***``, ``_underline_``).

    The text of an element is what gets spoken or shown, so the markers go; ``\\*`` and ``\\_`` become
    literal.
    """
    for _ in range(3):  # nested markers such as _**TITLE**_
        new = _EMPH_UNDER.sub(r"\1", _EMPH_STAR.sub(r"\2", text))
        if new == text:
            break
        text = new
    return text.replace("\\*", "*").replace("\\_", "_")


# Time-of-day words: Fountain headings (English, Cyrillic, CJK as some writers use) and Chinese scene heads.
_TIME_WORDS: dict[str, TimeOfDay] = {
    word: tod
    for words, tod in (
        (
            "DAY|DAYTIME|AFTERNOON|LATE AFTERNOON|NOON|MIDDAY|ДЕНЬ|日|天|白天|昼|午|中午|上午|下午",
            TimeOfDay.day,
        ),
        ("NIGHT|NIGHTTIME|MIDNIGHT|LATE NIGHT|НОЧЬ|夜|晚|夜晚|晚上|深夜|夜里|午夜", TimeOfDay.night),
        (
            "MORNING|EARLY MORNING|DAWN|SUNRISE|DAYBREAK|FIRST LIGHT|УТРО|晨|早|早晨|清晨|黎明|凌晨|朝",
            TimeOfDay.dawn,
        ),
        ("EVENING|DUSK|SUNSET|TWILIGHT|MAGIC HOUR|ВЕЧЕР|黄昏|傍晚|暮|日落", TimeOfDay.dusk),
    )
    for word in words.split("|")
}

# "Same time as the previous scene": the scene inherits its predecessor's time of day.
CONTINUOUS_WORDS = frozenset(
    "CONTINUOUS|SAME|SAME TIME|MOMENTS LATER|LATER|CONT|CONT'D|同时|稍后|接上".split("|")
)


def time_of_day(word: str) -> TimeOfDay | None:
    """The TimeOfDay a heading word names (``DAY``, ``Dusk``, ``夜``…), or None."""
    return _TIME_WORDS.get(re.sub(r"\s+", " ", word.strip().upper()))


_CN_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL = "0-9０-９零〇一二两三四五六七八九十百千"


def parse_number(text: str) -> int | None:
    """An int from Arabic or Chinese numerals: ``12``, ``十二``, ``二十一``, ``一百零五``."""
    text = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)
