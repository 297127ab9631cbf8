"""Music mood per scene from the words in it (English and Chinese keyword tables)."""

from __future__ import annotations

from schemas.plan import Mood

# Each mood's cue words; a scene's mood is the one with the most hits (ties → the order below).
KEYWORDS: dict[Mood, tuple[str, ...]] = {
    Mood.tense: (
        "angry", "shout", "slam", "furious", "threat", "fight", "punch", "slap", "yell", "rage", "grab", "scream",
        "愤怒", "怒", "吼", "摔", "耳光", "巴掌", "威胁", "打", "冷笑", "逼", "砸",
    ),
    Mood.suspense: (
        "dark", "shadow", "silence", "creak", "footsteps", "whisper", "secret", "hidden", "watch", "knock", "thunder",
        "mystery", "suddenly", "sinister", "低声", "黑暗", "悄悄", "秘密", "影子", "脚步", "敲门", "雷", "突然", "盯",
    ),
    Mood.sad: (
        "cry", "crying", "tears", "sob", "grief", "funeral", "goodbye", "sorry", "lost", "alone", "trembling",
        "哭", "泪", "哽咽", "颤抖", "离开", "对不起", "孤独", "失去", "崩溃",
    ),
    Mood.romantic: (
        "love", "kiss", "tender", "softly", "embrace", "hold hands", "heart", "darling", "blush",
        "爱", "吻", "温柔", "拥抱", "心动", "脸红", "喜欢",
    ),
    Mood.comedic: (
        "laugh", "joke", "grin", "funny", "giggle", "silly", "wink", "大笑", "哈哈", "笑着", "搞笑", "调侃", "得意", "眨眼",
    ),
    Mood.triumphant: (
        "win", "victory", "cheer", "triumph", "success", "applause", "proud", "赢", "胜利", "成功", "欢呼", "掌声", "骄傲",
    ),
}  # fmt: skip


def scene_mood(text: str) -> Mood:
    """The mood with the most keyword hits in ``text`` (lower-cased); ``calm`` when nothing matches."""
    low = text.lower()
    best, best_hits = Mood.calm, 0
    for mood, words in KEYWORDS.items():
        hits = sum(low.count(w) for w in words)
        if hits > best_hits:
            best, best_hits = mood, hits
    return best
