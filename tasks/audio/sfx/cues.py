"""Cue text → effect name: the CAPS sound words of Fountain action lines and Chinese ``【音效：…】`` cues.

English words are stemmed (KNOCKS, KNOCKING, KNOCKED → knock) and matched against rules, each a set of stems
that must all appear; rules with more stems are more specific and are tried first (FOOTSTEPS ECHO before
FOOTSTEPS). Chinese has no word boundaries, so its keywords are substrings, longest first (碎纸机 before 纸).
Anything unmatched returns None so the flow can list it in QC instead of silently dropping the cue.
"""

from __future__ import annotations

import re

# (stems that must all appear, effect). Order matters only among rules with the same number of stems.
ENGLISH: tuple[tuple[str, str], ...] = (
    ("knock", "door_knock"), ("rap", "door_knock"), ("tap door", "door_knock"), ("pound door", "door_bang"),
    ("slam", "door_bang"), ("bang", "door_bang"), ("door bang", "door_bang"), ("thud door", "door_bang"),
    ("creak", "door_creak"), ("squeak", "door_creak"), ("door open", "door_creak"), ("hinge", "door_creak"),
    ("footstep", "footsteps_wood"), ("step", "footsteps_wood"), ("walk", "footsteps_wood"), ("pace", "footsteps_wood"),
    ("footstep echo", "footsteps_concrete"), ("step echo", "footsteps_concrete"), ("footstep concrete", "footsteps_concrete"),
    ("footstep pavement", "footsteps_concrete"), ("footstep stair", "footsteps_concrete"), ("footstep corridor", "footsteps_concrete"),
    ("heel", "footsteps_heels"), ("stiletto", "footsteps_heels"), ("heel click", "footsteps_heels"),
    ("splash", "footsteps_puddle"), ("puddle", "footsteps_puddle"), ("footstep water", "footsteps_puddle"),
    ("shatter", "glass_shatter"), ("glass break", "glass_shatter"), ("smash", "glass_shatter"), ("glass shatter", "glass_shatter"),
    ("glass crash", "glass_shatter"), ("clink", "cup_clink"), ("toast glass", "cup_clink"), ("chink", "cup_clink"),
    ("thunder", "thunder"), ("rumbl", "thunder"), ("thunderclap", "thunder"), ("lightn", "thunder"),
    ("rain", "rain"), ("downpour", "rain"), ("drizzl", "rain"), ("wind", "wind"), ("gust", "wind"), ("howl", "wind"),
    ("honk", "car_horn"), ("horn", "car_horn"), ("car pass", "car_pass"), ("car drive", "car_pass"), ("zoom", "car_pass"),
    ("screech", "tire_screech"), ("skid", "tire_screech"), ("tire screech", "tire_screech"),
    ("tyre screech", "tire_screech"), ("brake squeal", "tire_screech"), ("squeal tire", "tire_screech"),
    ("engine", "engine"), ("idl", "engine"), ("rev", "engine"), ("engine rumbl", "engine"), ("motor", "engine"),
    ("buz", "phone_buzz"), ("vibrat", "phone_buzz"), ("vibration", "phone_buzz"), ("phone buz", "phone_buzz"), ("phone vibrat", "phone_buzz"),
    ("ring", "phone_ring"), ("phone", "phone_ring"), ("ringtone", "phone_ring"), ("phone ring", "phone_ring"),
    ("doorbell", "doorbell"), ("door bell", "doorbell"), ("chime", "notification"), ("ding", "notification"),
    ("ping", "notification"), ("beep", "notification"), ("notification", "notification"), ("text messag", "notification"),
    ("heartbeat", "heartbeat"), ("heart pound", "heartbeat"), ("heart beat", "heartbeat"), ("thump thump", "heartbeat"),
    ("whoosh", "whoosh"), ("swoosh", "whoosh"), ("swish", "whoosh"), ("woosh", "whoosh"),
    ("punch", "punch"), ("hit", "punch"), ("strike", "punch"), ("wham", "punch"), ("thwack", "punch"),
    ("slap", "slap"), ("smack", "slap"),
    ("thud", "body_fall"), ("collaps", "body_fall"), ("fall floor", "body_fall"), ("fall ground", "body_fall"), ("hit floor", "body_fall"), ("crumpl", "body_fall"), ("body fall", "body_fall"),
    ("cane", "cane_tap"), ("walking stick", "cane_tap"), ("cane tap", "cane_tap"),
    ("paper", "paper"), ("rustl", "paper"), ("page", "paper"), ("crinkl", "paper"), ("tear paper", "paper"),
    ("shredder", "paper_shred"), ("shred", "paper_shred"),
    ("typ", "typing"), ("keyboard", "typing"), ("clack", "typing"), ("clatter key", "typing"),
    ("murmur", "crowd_murmur"), ("crowd", "crowd_murmur"), ("chatter", "crowd_murmur"), ("babbl", "crowd_murmur"),
    ("whisper crowd", "crowd_murmur"), ("applaus", "applause"), ("clap", "applause"),
    ("drum", "drum_hit"), ("boom", "drum_hit"), ("cymbal", "cymbal"), ("crash cymbal", "cymbal"),
    ("shutter", "camera_shutter"), ("camera click", "camera_shutter"), ("snap photo", "camera_shutter"), ("flash camera", "camera_shutter"),
    ("siren", "siren"), ("wail", "siren"), ("bird", "birds"), ("chirp", "birds"), ("tweet", "birds"), ("birdsong", "birds"),
    ("tick", "clock_tick"), ("tock", "clock_tick"), ("clock", "clock_tick"),
    ("gunshot", "gunshot"), ("shot", "gunshot"), ("gun", "gunshot"), ("fire gun", "gunshot"), ("bang gun", "gunshot"),
    ("clank", "metal_clank"), ("clang", "metal_clank"), ("lock shut", "metal_clank"), ("latch", "metal_clank"),
    ("bolt slide", "metal_clank"), ("hum", "electric_hum"), ("buzz bulb", "electric_hum"), ("flicker hum", "electric_hum"),
    ("explosion", "explosion"), ("explod", "explosion"), ("shot ring", "gunshot"), ("blast", "explosion"), ("kaboom", "explosion"),
)  # fmt: skip

# (substring, effect): tried longest first, then in this order.
CHINESE: tuple[tuple[str, str], ...] = (
    ("电流声", "electric_hum"), ("嗡嗡", "electric_hum"), ("哐当", "metal_clank"), ("锁门", "metal_clank"),
    ("金属撞击", "metal_clank"), ("敲门", "door_knock"), ("叩门", "door_knock"), ("咚咚", "door_knock"), ("砸门", "door_bang"), ("踹门", "door_bang"),
    ("摔门", "door_bang"), ("撞门", "door_bang"), ("关门", "door_bang"), ("砰", "door_bang"), ("开门", "door_creak"),
    ("吱呀", "door_creak"), ("嘎吱", "door_creak"), ("门轴", "door_creak"),
    ("高跟鞋", "footsteps_heels"), ("踩水", "footsteps_puddle"), ("水坑", "footsteps_puddle"),
    ("楼梯脚步", "footsteps_concrete"), ("脚步回声", "footsteps_concrete"), ("脚步回响", "footsteps_concrete"),
    ("脚步声", "footsteps_wood"), ("脚步", "footsteps_wood"),
    ("玻璃碎", "glass_shatter"), ("玻璃破", "glass_shatter"), ("碎裂", "glass_shatter"), ("打碎", "glass_shatter"),
    ("摔碎", "glass_shatter"), ("破碎", "glass_shatter"), ("碰杯", "cup_clink"), ("杯子", "cup_clink"), ("茶杯", "cup_clink"),
    ("雷声", "thunder"), ("打雷", "thunder"), ("雷鸣", "thunder"), ("闷雷", "thunder"), ("雷", "thunder"),
    ("雨声", "rain"), ("下雨", "rain"), ("大雨", "rain"), ("暴雨", "rain"), ("雨", "rain"),
    ("风声", "wind"), ("刮风", "wind"), ("狂风", "wind"), ("寒风", "wind"),
    ("喇叭", "car_horn"), ("鸣笛", "car_horn"), ("按喇叭", "car_horn"), ("汽车驶过", "car_pass"), ("车驶过", "car_pass"),
    ("呼啸而过", "car_pass"), ("急刹车", "tire_screech"), ("刹车", "tire_screech"), ("轮胎摩擦", "tire_screech"), ("引擎", "engine"), ("发动机", "engine"), ("发动", "engine"),
    ("手机震动", "phone_buzz"), ("震动", "phone_buzz"), ("振动", "phone_buzz"), ("嗡嗡", "phone_buzz"),
    ("门铃", "doorbell"), ("手机铃", "phone_ring"), ("电话铃", "phone_ring"), ("来电", "phone_ring"), ("铃声", "phone_ring"), ("电话响", "phone_ring"),
    ("提示音", "notification"), ("消息", "notification"), ("叮", "notification"), ("微信", "notification"),
    ("心跳", "heartbeat"), ("嗖", "whoosh"), ("呼啸", "whoosh"), ("风声掠过", "whoosh"),
    ("耳光", "slap"), ("巴掌", "slap"), ("扇", "slap"), ("拳", "punch"), ("揍", "punch"), ("打斗", "punch"), ("击打", "punch"),
    ("倒地", "body_fall"), ("摔倒", "body_fall"), ("跌倒", "body_fall"), ("晕倒", "body_fall"),
    ("拐杖", "cane_tap"), ("手杖", "cane_tap"),
    ("碎纸机", "paper_shred"), ("翻书", "paper"), ("翻页", "paper"), ("撕纸", "paper"), ("纸张", "paper"), ("纸", "paper"),
    ("键盘", "typing"), ("打字", "typing"), ("人群", "crowd_murmur"), ("议论", "crowd_murmur"), ("嘈杂", "crowd_murmur"),
    ("窃窃私语", "crowd_murmur"), ("人声", "crowd_murmur"), ("掌声", "applause"), ("鼓掌", "applause"),
    ("鼓声", "drum_hit"), ("鼓", "drum_hit"), ("钹", "cymbal"), ("镲", "cymbal"), ("快门", "camera_shutter"), ("拍照", "camera_shutter"),
    ("警笛", "siren"), ("警车", "siren"), ("救护车", "siren"), ("消防车", "siren"), ("鸟叫", "birds"), ("鸟鸣", "birds"), ("鸟", "birds"),
    ("钟表", "clock_tick"), ("滴答", "clock_tick"), ("时钟", "clock_tick"), ("挂钟", "clock_tick"),
    ("枪声", "gunshot"), ("开枪", "gunshot"), ("枪响", "gunshot"), ("爆炸", "explosion"), ("炸", "explosion"),
)  # fmt: skip

_WRAPPER = re.compile(r"^\s*[【\[(（]?\s*(音效|效果音|SFX|SOUND)\s*[:：]?\s*|[】\])）]\s*$", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def stem(word: str) -> str:
    """A tiny suffix stripper, applied the same way to cue words and rule words, so both meet in the middle."""
    w = word.lower()
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    else:
        if w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith(("shes", "ches", "xes", "zes", "sses")):
            w = w[:-2]
        elif w.endswith("s") and not w.endswith("ss") and len(w) > 3:
            w = w[:-1]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def _rules() -> list[tuple[frozenset[str], str]]:
    from tasks.audio.sfx import EFFECTS

    rules = [(frozenset(stem(w) for w in words.split()), name) for words, name in ENGLISH]
    rules += [
        (frozenset(stem(w) for w in name.split("_")), name) for name in EFFECTS
    ]  # "door knock", "cup clink"…
    return sorted(rules, key=lambda r: -len(r[0]))  # stable: same size keeps table order


_RULES: list[tuple[frozenset[str], str]] | None = None
_CHINESE = sorted(CHINESE, key=lambda kv: -len(kv[0]))


def match_cue(text: str) -> str | None:
    """The effect a cue names, or None. ``"KNOCKS"`` → door_knock; ``"【音效：手机震动】"`` → phone_buzz."""
    global _RULES
    core = _WRAPPER.sub("", text.strip()).strip()
    if not core:
        return None
    if _CJK.search(core):
        for key, name in _CHINESE:
            if key in core:
                return name
    if _RULES is None:
        _RULES = _rules()
    words = {stem(w) for w in re.findall(r"[a-z]+", core.lower().replace("_", " "))}
    if not words:
        return None
    for needed, name in _RULES:
        if needed <= words:
            return name
    return None
