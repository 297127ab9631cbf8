"""Emotion from parentheticals: ``(angry)``, ``（冷笑）``, ``(quietly, cold)`` → a :class:`Prosody` for the TTS engine.

Writers phrase emotions many ways (``angrily``, ``furious``, ``（生气地）``), so each cue is a small set of synonyms
matched by containment (English by whole word, Chinese by substring, longest first so ``冷笑`` is not also ``笑``).
A parenthetical can name several cues; their effects combine (scales multiply, shifts add). One that names none
(``（站在门口）``, ``(to Mark)``, ``(into phone)``) is a stage direction: neutral prosody, reported as unrecognised so
the caller can warn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prosody:
    """How to say a line, relative to the character's voice.

    ``rate_scale``/``range_scale``/``volume_scale`` multiply the voice's rate, pitch range and volume;
    ``pitch_shift`` adds to its 0–99 pitch; ``pause_ms`` is silence before the line (a beat); ``word_gap_ms`` is
    extra silence between words (hesitation, trembling); ``breathy`` adds aspiration; ``whisper`` unvoices.
    """

    rate_scale: float = 1.0
    pitch_shift: int = 0
    range_scale: float = 1.0
    volume_scale: float = 1.0
    pause_ms: int = 0
    breathy: bool = False
    whisper: bool = False
    word_gap_ms: int = 0

    def combine(self, other: Prosody) -> Prosody:
        """Both cues at once: scales multiply (bounded), shifts add, the longer pause and gap win."""
        return Prosody(
            rate_scale=round(_clamp(self.rate_scale * other.rate_scale, 0.6, 1.6), 3),
            pitch_shift=int(_clamp(self.pitch_shift + other.pitch_shift, -30, 30)),
            range_scale=round(_clamp(self.range_scale * other.range_scale, 0.2, 2.5), 3),
            volume_scale=round(_clamp(self.volume_scale * other.volume_scale, 0.3, 2.0), 3),
            pause_ms=max(self.pause_ms, other.pause_ms),
            breathy=self.breathy or other.breathy,
            whisper=self.whisper or other.whisper,
            word_gap_ms=max(self.word_gap_ms, other.word_gap_ms),
        )


NEUTRAL = Prosody()


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


P = Prosody
# cue name → (English synonyms, Chinese synonyms, prosody); English matches whole words, any case.
# fmt: off
CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...], Prosody]] = {
    "angry": (
        ("angry", "angrily", "furious", "furiously", "enraged", "livid", "seething", "irate", "annoyed",
         "irritated", "in anger", "with rage"),
        ("愤怒", "生气", "恼火", "气愤", "怒视", "怒道", "怒斥", "暴怒", "恼怒", "怒气冲冲", "发火"),
        P(rate_scale=1.15, pitch_shift=8, range_scale=1.4, volume_scale=1.35),
    ),
    "shouting": (
        ("shouting", "shouts", "shout", "shouted", "yelling", "yells", "yell", "screaming", "screams",
         "scream", "bellowing", "bellows", "loudly", "roaring", "at the top of"),
        ("大喊", "大叫", "大吼", "怒吼", "喊道", "吼道", "尖叫", "嘶吼", "咆哮", "高喊", "喊"),
        P(rate_scale=1.1, pitch_shift=14, range_scale=1.5, volume_scale=1.7),
    ),
    "whispering": (
        ("whispering", "whispers", "whisper", "whispered", "under her breath", "under his breath",
         "under their breath", "sotto voce", "hushed", "barely audible"),
        ("耳语", "悄悄", "悄声", "附耳", "气声"),
        P(rate_scale=0.9, range_scale=0.6, volume_scale=0.5, whisper=True),
    ),
    "softly": (
        ("softly", "quietly", "quiet", "gently", "gentle", "tender", "tenderly", "murmuring", "murmurs",
         "murmur", "low voice", "in a low voice", "soothing"),
        ("低声", "小声", "轻声", "温柔", "柔声", "轻柔", "低语", "温和"),
        P(rate_scale=0.9, pitch_shift=-2, range_scale=0.8, volume_scale=0.7),
    ),
    "cold": (
        ("cold", "coldly", "icy", "icily", "flatly", "deadpan", "emotionless", "curt", "curtly",
         "detached", "clipped"),
        ("冷冷", "冷漠", "冰冷", "淡淡", "面无表情", "冷淡", "漠然", "冷声"),
        P(rate_scale=0.92, pitch_shift=-6, range_scale=0.45, volume_scale=0.95),
    ),
    "crying": (
        ("crying", "cries", "in tears", "tearful", "tearfully", "weeping", "weeps", "teary"),
        ("哭泣", "哭着", "流泪", "含泪", "泪流", "落泪", "抽泣", "带着哭腔", "哭腔", "哭"),
        P(rate_scale=0.85, pitch_shift=6, range_scale=1.3, volume_scale=0.85, breathy=True),
    ),
    "crying_out": (
        ("wailing", "wails", "howling"),
        ("哭喊", "哭着喊", "哭叫", "嚎啕", "号啕"),
        P(pitch_shift=14, range_scale=1.6, volume_scale=1.5, breathy=True),
    ),
    "sobbing": (
        ("sobbing", "sobs", "sob", "choked up", "choking up", "through tears", "choked"),
        ("哽咽", "泣不成声", "抽噎"),
        P(rate_scale=0.78, pitch_shift=8, range_scale=1.35, volume_scale=0.8, breathy=True, word_gap_ms=60),
    ),
    "trembling": (
        ("trembling", "shaking", "shaky", "quivering", "voice breaking", "voice cracking", "shakily"),
        ("颤抖", "发抖", "发颤", "颤声", "声音发颤", "哆嗦"),
        P(rate_scale=0.88, pitch_shift=5, range_scale=1.2, breathy=True, word_gap_ms=50),
    ),
    "nervous": (
        ("nervous", "nervously", "anxious", "anxiously", "stammering", "stammers", "stuttering",
         "uneasy", "flustered"),
        ("紧张", "不安", "慌张", "慌乱", "结巴"),
        P(rate_scale=1.08, pitch_shift=5, range_scale=1.1, word_gap_ms=40),
    ),
    "sarcastic": (
        ("sarcastic", "sarcastically", "mocking", "mockingly", "sneering", "sneers", "wry", "wryly",
         "ironic", "ironically", "scoffing", "scoffs", "snide"),
        ("嘲讽", "讽刺", "挖苦", "讥讽", "阴阳怪气", "嘲笑", "不屑", "嗤笑"),
        P(rate_scale=0.9, pitch_shift=2, range_scale=1.5),
    ),
    "sneer": (
        ("with a sneer", "cold laugh"),
        ("冷笑", "冷哼", "嗤之以鼻"),
        P(rate_scale=0.9, pitch_shift=-3, range_scale=1.3, volume_scale=0.95),
    ),
    "laughing": (
        ("laughing", "laughs", "chuckling", "chuckles", "giggling", "giggles", "amused", "grinning"),
        ("大笑", "哈哈", "笑着", "笑道", "轻笑", "偷笑", "笑"),
        P(rate_scale=1.05, pitch_shift=8, range_scale=1.3, volume_scale=1.1),
    ),
    "bitter_smile": (
        ("bitterly", "bitter", "resentful", "rueful", "ruefully"),
        ("苦笑", "苦涩", "自嘲"),
        P(rate_scale=0.9, pitch_shift=-2, range_scale=0.9, breathy=True),
    ),
    "excited": (
        ("excited", "excitedly", "thrilled", "eager", "eagerly", "elated", "overjoyed", "ecstatic"),
        ("兴奋", "激动", "欣喜", "狂喜", "雀跃"),
        P(rate_scale=1.2, pitch_shift=10, range_scale=1.4, volume_scale=1.2),
    ),
    "cheerful": (
        ("cheerful", "cheerfully", "happily", "happy", "brightly", "warmly", "smiling", "smiles",
         "playful", "playfully", "sweetly"),
        ("开心", "高兴", "欢快", "微笑", "笑眯眯", "愉快", "甜甜", "俏皮"),
        P(rate_scale=1.05, pitch_shift=6, range_scale=1.3, volume_scale=1.05),
    ),
    "scared": (
        ("scared", "afraid", "frightened", "terrified", "fearful", "fearfully", "panicked", "panicking",
         "panicky", "in fear"),
        ("害怕", "恐惧", "惊恐", "胆怯", "惊慌", "恐慌", "吓"),
        P(rate_scale=1.15, pitch_shift=10, range_scale=1.2, volume_scale=0.9, breathy=True),
    ),
    "firmly": (
        ("firm", "firmly", "resolute", "resolutely", "determined", "steady", "steadily", "commanding",
         "authoritative", "sternly", "stern"),
        ("坚定", "斩钉截铁", "坚决", "严肃", "郑重", "一字一顿", "沉声"),
        P(rate_scale=0.95, pitch_shift=-4, range_scale=0.8, volume_scale=1.2),
    ),
    "pleading": (
        ("pleading", "pleads", "begging", "begs", "imploring", "implores", "desperate", "desperately"),
        ("哀求", "恳求", "乞求", "央求", "求你", "苦苦"),
        P(rate_scale=0.95, pitch_shift=7, range_scale=1.4, breathy=True),
    ),
    "tired": (
        ("tired", "exhausted", "weary", "wearily", "sleepy", "drained", "weakly", "faintly"),
        ("疲惫", "虚弱", "无力", "有气无力", "困倦", "疲倦"),
        P(rate_scale=0.8, pitch_shift=-5, range_scale=0.6, volume_scale=0.8, breathy=True),
    ),
    "to_self": (
        ("to herself", "to himself", "to themselves", "to myself", "muttering", "mutters", "mutter",
         "mumbling", "mumbles", "aside"),
        ("自言自语", "喃喃", "嘀咕", "暗自", "心想", "内心"),
        P(rate_scale=0.95, pitch_shift=-2, range_scale=0.7, volume_scale=0.6),
    ),
    "beat": (
        ("beat", "a beat", "pause", "pauses", "pausing", "silence", "a moment", "long beat"),
        ("停顿", "顿了顿", "顿了一下", "沉默", "片刻", "良久", "半晌"),
        P(pause_ms=600),
    ),
    "hesitant": (
        ("hesitant", "hesitantly", "hesitating", "hesitates", "unsure", "uncertain", "haltingly",
         "reluctantly", "reluctant"),
        ("犹豫", "迟疑", "支支吾吾", "吞吞吐吐", "欲言又止", "踌躇"),
        P(rate_scale=0.85, pitch_shift=-1, range_scale=0.9, pause_ms=300, word_gap_ms=80),
    ),
    "sigh": (
        ("sighing", "sighs", "sigh", "with a sigh"),
        ("叹气", "叹息", "叹了口气", "长叹"),
        P(rate_scale=0.88, pitch_shift=-4, range_scale=0.7, volume_scale=0.85, pause_ms=300, breathy=True),
    ),
    "shocked": (
        ("shocked", "stunned", "surprised", "astonished", "in disbelief", "disbelieving", "gasps",
         "gasping", "startled", "amazed"),
        ("惊讶", "震惊", "吃惊", "诧异", "不可置信", "难以置信", "愣住", "错愕", "惊呼"),
        P(rate_scale=1.05, pitch_shift=12, range_scale=1.5, volume_scale=1.15),
    ),
    "urgent": (
        ("urgent", "urgently", "hurried", "hurriedly", "frantic", "frantically", "quickly", "rushed",
         "rapidly", "breathless", "breathlessly", "interrupting", "cutting in", "cuts in"),
        ("急切", "着急", "焦急", "急忙", "急促", "连忙", "赶紧", "匆忙", "打断", "插话", "抢白"),
        P(rate_scale=1.3, pitch_shift=4, range_scale=1.1, volume_scale=1.1),
    ),
    "smug": (
        ("smug", "smugly", "triumphant", "triumphantly", "gloating", "gloats", "proudly", "proud",
         "cocky", "arrogantly", "arrogant"),
        ("得意", "洋洋得意", "骄傲", "傲慢", "嚣张", "趾高气扬"),
        P(rate_scale=0.95, pitch_shift=3, range_scale=1.3, volume_scale=1.1),
    ),
    "breakdown": (
        ("hysterical", "hysterically", "breaking down", "breaks down", "falling apart", "losing it"),
        ("崩溃", "歇斯底里", "失控", "失声痛哭", "撕心裂肺"),
        P(rate_scale=1.1, pitch_shift=16, range_scale=1.8, volume_scale=1.5, breathy=True),
    ),
    "sad": (
        ("sad", "sadly", "sorrowful", "sorrowfully", "mournful", "mournfully", "heartbroken", "grieving",
         "dejected", "gloomily"),
        ("伤心", "难过", "悲伤", "心碎", "失落", "黯然", "哀伤"),
        P(rate_scale=0.85, pitch_shift=-4, range_scale=0.7, volume_scale=0.85),
    ),
    "threatening": (
        ("threatening", "threateningly", "menacing", "menacingly", "ominous", "ominously", "dangerously",
         "through gritted teeth", "through clenched teeth"),
        ("威胁", "阴狠", "狠狠", "咬牙切齿", "咬牙", "阴冷", "阴沉"),
        P(rate_scale=0.85, pitch_shift=-8, range_scale=0.6, volume_scale=1.05),
    ),
    "calm": (
        ("calm", "calmly", "evenly", "composed", "matter-of-fact", "matter-of-factly", "unruffled", "level"),
        ("平静", "淡定", "冷静", "镇定", "不卑不亢", "心平气和", "从容"),
        P(rate_scale=0.95, pitch_shift=-2, range_scale=0.75, volume_scale=0.95),
    ),
}
# fmt: on
del P

_SPLIT = re.compile(r"[,，、;；/|]|\band\b|\bbut\b|\bthen\b")
_BRACKETS = "()（）[]【】"


def _compile() -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation of every phrase, longest first: a regex scan then finds the leftmost-longest cue, so
    ``苦笑着`` is a bitter smile (not ``笑着``) and ``冷笑`` is a sneer (not ``笑``)."""
    names: dict[str, str] = {}
    for name, (en, zh, _) in CUES.items():
        for phrase in (*en, *zh):
            names.setdefault(phrase.casefold(), name)
    alternatives = []
    for phrase in sorted(names, key=lambda p: (-len(p), p)):
        body = re.escape(phrase)
        alternatives.append(rf"\b{body}\b" if phrase.isascii() else body)  # English by whole word
    return re.compile("|".join(alternatives), re.IGNORECASE), names


_PATTERN, _NAMES = _compile()


def cues_in(parenthetical: str | None) -> list[str]:
    """The cue names a parenthetical contains, in the order written (each once)."""
    if not parenthetical:
        return []
    text = parenthetical.strip().strip(_BRACKETS).strip()
    found: dict[str, None] = {}
    for part in _SPLIT.split(text):
        for m in _PATTERN.finditer(part):
            found.setdefault(_NAMES[m.group(0).casefold()], None)
    return list(found)


def prosody_for(parenthetical: str | None) -> tuple[Prosody, bool]:
    """The prosody a parenthetical asks for, and whether it named any emotion at all.

    No parenthetical → (neutral, True): there was nothing to understand. A parenthetical naming no known cue →
    (neutral, False): a stage direction or an emotion we do not know yet.
    """
    if not parenthetical or not parenthetical.strip().strip(_BRACKETS).strip():
        return NEUTRAL, True
    names = cues_in(parenthetical)
    prosody = NEUTRAL
    for name in names:
        prosody = prosody.combine(CUES[name][2])
    return prosody, bool(names)
