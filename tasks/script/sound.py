"""Sound cues in action lines.

Fountain writers put sounds in CAPS ("The door SLAMS. A phone BUZZES twice."), but caps are also used for
characters' first appearance ("An EXTREMELY HANDSOME MAN"), props ("the LASER PRINTER") and acronyms ("the
CEO"). A caps run counts as a sound when one of its words is a sound word (a known onomatopoeia or sound verb
in any inflection), a drawn-out noise (BZZZT, AAAAH), a caps word that is a sentence on its own ("KRUMF."),
or a single verb-like word right after a noun ("the copier WHIRS"). Chinese scripts mark sounds explicitly
with ``【音效：…】``, so CJK action yields nothing here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasks.script.text import CJK_ANY

SOUND_WORDS = frozenset(
    """
    SLAM KNOCK BANG BOOM CRASH SHATTER SMASH BUZZ RING BEEP BLEEP CLICK CLACK CLANG CLANK CLATTER CREAK SQUEAK
    THUD THUMP WHACK SLAP PUNCH SNAP CRACK POP HISS HUM WHIR WHIRR WHOOSH ROAR RUMBLE THUNDER ECHO SCREAM
    SHRIEK YELL SHOUT GASP SOB WAIL HOWL BARK GROWL SIREN HONK SCREECH SKID BLARE BLAST EXPLODE EXPLOSION
    GUNSHOT GUNFIRE CHIME DING DONG TICK TOCK TAP RATTLE JINGLE SPLASH DRIP SIZZLE CRUNCH STOMP FOOTSTEP
    FOOTSTEPS RUSTLE FLUTTER SWOOSH ZAP VIBRATE WHISTLE GROAN MOAN GRUNT CHIRP SCRAPE SCRATCH THWACK KABOOM
    BLAM BAM POW WHAM SMACK CLAP APPLAUSE LAUGHTER CHEER SNORE COUGH SNEEZE SPLAT SQUELCH SLURP GURGLE DRONE
    WHINE CLUNK POUND HAMMER DETONATE STATIC TOLL ALARM HORN REV SPUTTER SQUEAL CRACKLE FIZZ CRINKLE RIP
    SHUFFLE THUNDERCLAP BUZZER RINGTONE DOORBELL BELL WHIMPER SCRAPE CLINK TINKLE SWISH THROB PING BLIP SHOT
    SHOTS CREAK SQUEAL HOOT CAW SLOSH SCUFF KNOCKS HEARTBEAT STATIC CHATTER MURMUR SIGH HICCUP BURP SPIT SLASH
    STAB SCUFFLE GUNSHOTS
    """.split()
)
# Heading words, extensions and acronyms that are written in caps but are never sounds.
NEVER = frozenset(
    """
    INT EXT EST DAY NIGHT MORNING EVENING DAWN DUSK CONTINUOUS LATER SAME CONT'D CONT V.O. O.S. O.C. POV
    FADE CUT TO IN OUT DISSOLVE SMASH MATCH INSERT BACK FLASHBACK END THE A AN I OK TV CEO CFO CTO FBI CIA NSA
    USA UK NYC LA DNA ID PC CCTV SMS ATM GPS AI CPR ER ICU DJ VIP MRI HR PR IT SUV USB LED CD DVD GPS PIN NDA
    """.split()
)
DETERMINERS = frozenset(
    "A AN THE HIS HER THEIR ITS MY OUR YOUR THIS THAT SOME TWO THREE ANOTHER EVERY NO".split()
)
CAPS_RUN = re.compile(r"(?<![\w'’])([A-Z][A-Z'’\-]*[A-Z](?:[ \-][A-Z][A-Z'’\-]*[A-Z])*)(?![\w'’])")
STRETCHED = re.compile(r"([A-Z])\1\1")


def _stems(word: str) -> set[str]:
    """The word and its likely base forms: BUZZES → BUZZ, SLAPPED → SLAP, RUMBLING → RUMBLE."""
    w = word.replace("’", "'").strip("-'")
    out = {w}
    for suffix in ("ING", "ED", "ES", "S"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            base = w[: -len(suffix)]
            out |= {base, base + "E"}
            if len(base) >= 3 and base[-1] == base[-2]:
                out.add(base[:-1])
    return out


def _is_sound_word(word: str) -> bool:
    return bool(_stems(word) & SOUND_WORDS) or bool(STRETCHED.search(word)) and len(word) >= 4


def sound_cues(text: str, known_characters: Iterable[str]) -> list[str]:
    """The sound effects written in CAPS in one action line, in order (``["SLAMS", "GLASS SHATTERS"]``)."""
    if CJK_ANY.search(text):
        return []
    names = {n.upper() for n in known_characters if n}
    name_words = {w for n in names for w in n.split()}
    cues: list[str] = []
    for m in CAPS_RUN.finditer(text):
        run = m.group(1)
        if run.upper() in names:
            continue
        words = [w for w in re.split(r"\s+", run) if w.upper() not in name_words and w.upper() not in NEVER]
        if not words:
            continue
        after = text[m.end() :].lstrip()
        if re.match(r"^[(（]\s*\d", after) or re.match(r"^,\s*\d{1,2}s?\b", after):
            continue  # JOHN (40s) — a character being introduced
        if any(_is_sound_word(w) for w in words):
            cues.append(" ".join(words))
            continue
        if len(words) != 1 or len(words[0]) < 3:
            continue
        word = words[0]
        alone = re.search(r"(^|[.!?…]\s+)$", text[: m.start()]) and re.match(r"^[!?.…]", text[m.end() :])
        if alone and len(word) >= 3:
            cues.append(word)  # "KRUMF." — a caps word that is a sentence on its own is a noise
            continue
        before = re.findall(r"[A-Za-z']+", text[: m.start()])
        verb_like = len(word) >= 4 and re.search(r"[^SIU]S$", word) is not None
        if verb_like and before and before[-1].islower() and before[-1].upper() not in DETERMINERS:
            cues.append(word)  # "the copier WHIRS": a noun, then a caps verb
    return cues
