"""Declared characters: ``林星野（28）：创业失败者…`` in a 人物小传 block, ``MAYA (28, female): a courier``
in a Fountain title page's ``Characters:`` entry. Age and gender feed voice casting, so they are read when
present and otherwise guessed from words in the description (never invented).
"""

from __future__ import annotations

import re

from schemas.script import Character

ENTRY_RE = re.compile(
    r"^@?(?P<name>[\w·•・-]{1,12}?|[A-Za-z][A-Za-z0-9 .'’-]{0,30}?)\s*"
    r"(?:[（(](?P<paren>[^（）()]*)[）)])?\s*[：:]\s*(?P<desc>.+)$"
)
FEMALE_ZH = tuple("夫人 女 母 妈 姐 妹 妻 媳 婆 娘 奶 姑 姨 嫂 千金 小姐 太太 公主 皇后 妃".split())
MALE_ZH = tuple("女婿 丈夫 男 父 爸 哥 弟 爷 叔 伯 舅 公子 少爷 先生 儿子 王子 皇帝 夫".split())
FEMALE_EN = "woman girl mother mom sister wife daughter female lady queen widow grandmother aunt actress she"
MALE_EN = "man boy father dad brother husband son male gentleman king widower grandfather uncle actor he"
_EN = re.compile(r"[A-Za-z]+")
EXPLICIT = {"男": "male", "男性": "male", "女": "female", "女性": "female", "m": "male", "male": "male",
            "man": "male", "f": "female", "female": "female", "woman": "female"}  # fmt: skip


def guess_gender(text: str) -> str | None:
    """Female or male from the earliest gendered word in a description (林家母亲, "a retired nurse, mother of
    two"), else None. Possessives (his, her) are skipped: they usually point at someone else."""
    best: tuple[int, int, str] | None = None
    for words, gender in ((FEMALE_ZH, "female"), (MALE_ZH, "male")):
        for word in words:
            pos = text.find(word)
            if pos >= 0 and (best is None or (pos, -len(word)) < best[:2]):
                best = (pos, -len(word), gender)
    female, male = set(FEMALE_EN.split()), set(MALE_EN.split())
    for m in _EN.finditer(text):
        word = m.group(0).lower()
        if word in female or word in male:
            if best is None or m.start() < best[0]:
                best = (m.start(), 0, "female" if word in female else "male")
            break
    return best[2] if best else None


def parse_entry(line: str, *, upper: bool = False) -> Character | None:
    """A Character from one cast line, or None when the line is not one. ``upper`` upper-cases Latin names
    (Fountain speakers are written in caps, so a declared ``Maya`` must match the cue ``MAYA``)."""
    m = ENTRY_RE.match(line.strip())
    if not m:
        return None
    name = m.group("name").strip()
    if upper and name.isascii():
        name = name.upper()
    age, gender = None, None
    for token in re.split(r"[，,、/;；\s]+", m.group("paren") or ""):
        if digits := re.fullmatch(r"(\d{1,3})\s*(?:岁|s)?", token):
            age = int(digits.group(1))
        elif token.lower() in EXPLICIT:
            gender = EXPLICIT[token.lower()]
    desc = m.group("desc").strip()
    return Character(name=name, description=desc, age=age, gender=gender or guess_gender(desc))
