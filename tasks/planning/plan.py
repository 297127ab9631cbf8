"""Scenes → shots.

The grammar is the one short-drama editors cut by: an establishing shot per scene, one shot per dialogue line
(shot/reverse-shot), close-ups for strong emotion, action beats as wide or medium shots, captions and sound cues on
the shot where they happen, a stinger on the final shot (the cliffhanger). Everything is a pure function of the
script, so the same script always gives the same plan and the same seeds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from schemas.plan import CameraMove, Cue, Mood, PlannedLine, PlannedScene, Shot, ShotPlan, ShotType
from schemas.script import Element, ElementKind, Scene, Script
from tasks.planning.mood import scene_mood

# Seconds of speech per unit: English words at ~160 wpm, Chinese characters at ~4.3 per second.
SECONDS_PER_WORD = {"en": 60 / 160}
SECONDS_PER_CJK_CHAR = 1 / 4.3
LINE_LEAD = 0.25  # breath before a line starts, seconds
LINE_TAIL = 0.35  # hold after a line ends, before the cut
ESTABLISHING = 2.5
MIN_ACTION, MAX_ACTION = 1.8, 4.0  # short-drama action beats are brisk

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
STRONG_EMOTION = re.compile(
    r"angry|shout|scream|cry|crying|sob|trembl|furious|whisper|shock|tears|yell|break|"
    r"愤怒|大喊|哭|颤抖|哽咽|冷笑|怒|崩溃|惊|低声|吼",
    re.IGNORECASE,
)
NARRATORS = {"旁白", "NARRATOR", "NARRATION"}


def speech_seconds(text: str, lang: str) -> float:
    """Estimated spoken length of ``text``: CJK by characters, everything else by words."""
    cjk = len(CJK.findall(text))
    words = len(re.findall(r"[A-Za-z0-9']+", text))
    return cjk * SECONDS_PER_CJK_CHAR + words * SECONDS_PER_WORD["en"] + 0.15 * len(re.findall(r"[,.;!?，。！？；…]", text))


def action_seconds(text: str) -> float:
    words = len(re.findall(r"[A-Za-z0-9']+", text)) + len(CJK.findall(text)) / 2.5
    return min(MAX_ACTION, max(MIN_ACTION, 1.2 + 0.12 * words))


def shot_seed(title: str, shot_id: str, take: int = 0) -> int:
    """A 31-bit seed from the script title, the shot id and the take number (retakes get new seeds)."""
    digest = hashlib.sha256(f"{title}\x1f{shot_id}\x1f{take}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _round(x: float) -> float:
    return round(x, 3)


class _SceneBuilder:
    """Accumulates the shots of one scene while walking its elements in order."""

    def __init__(self, script: Script, scene: Scene, index: int, sound_cues) -> None:
        self.script, self.scene, self.index = script, scene, index
        self.sound_cues = sound_cues
        self.shots: list[dict] = []
        self.pending_sfx: list[Cue] = []
        self.pending_captions: list[Cue] = []
        self.last_speaker: str | None = None
        self.cast = [c for c in scene.characters if c.upper() not in NARRATORS and c not in NARRATORS]

    # -- shot construction ------------------------------------------------------------------------------------
    def _new(self, **fields) -> dict:
        shot = {"sfx": [], "captions": [], "dialogue": [], "action": "", "on_screen": (), "speaker": None, **fields}
        shot["sfx"].extend(self.pending_sfx)
        shot["captions"].extend(self.pending_captions)
        self.pending_sfx, self.pending_captions = [], []
        self.shots.append(shot)
        return shot

    def establishing(self, text: str = "", line: int = 0) -> None:
        exterior = (self.scene.interior or "").upper().startswith("EXT")
        shot_type = ShotType.EWS if exterior else ShotType.WS
        camera = CameraMove.pan_right if exterior else CameraMove.push_in
        cues = self._cues_from_action(text, line, at=0.6)
        duration = max(ESTABLISHING, action_seconds(text) if text else ESTABLISHING)
        shot = self._new(shot_type=shot_type, camera=camera, duration=duration, on_screen=tuple(self.cast[:4]), action=text)
        shot["sfx"].extend(cues)

    def action(self, el: Element) -> None:
        text = el.text.strip()
        if not text:
            return
        if not self.shots:
            self.establishing(text, el.line)
            return
        named = [c for c in self.cast if c and c in text]
        mood_tense = STRONG_EMOTION.search(text) is not None
        shot_type = ShotType.MS if named else ShotType.WS
        camera = CameraMove.handheld if mood_tense else (CameraMove.pan_left if len(self.shots) % 2 else CameraMove.static)
        shot = self._new(
            shot_type=shot_type, camera=camera, duration=action_seconds(text),
            on_screen=tuple(named[:3] or self.cast[:3]), action=text,
        )  # fmt: skip
        shot["sfx"].extend(self._cues_from_action(text, el.line, at=0.5))

    def dialogue(self, speaker: str, text: str, parenthetical: str | None, el: Element, dual_with: Element | None) -> None:
        if not self.shots:
            self.establishing()
        lang = el.lang or ("zh" if CJK.search(text) else self.script.language)
        extension = (el.extension or "").upper() or None
        heard_only = extension in {"V.O.", "VO", "O.S.", "OS", "O.C."} or speaker in NARRATORS or speaker.upper() in NARRATORS
        spoken = speech_seconds(text, lang)
        lines = [
            PlannedLine(
                character=speaker, text=text, parenthetical=parenthetical, extension=extension, lang=lang,
                start=LINE_LEAD, duration=_round(spoken), line=el.line, translations=dict(el.translations),
            )
        ]  # fmt: skip
        on_screen: tuple[str, ...]
        if dual_with is not None:
            other = dual_with.character or ""
            lines.append(
                PlannedLine(
                    character=other, text=dual_with.text, lang=dual_with.lang or lang, start=LINE_LEAD,
                    duration=_round(speech_seconds(dual_with.text, lang)), line=dual_with.line,
                    translations=dict(dual_with.translations),
                )
            )  # fmt: skip
            shot_type, on_screen, camera = ShotType.WS, (speaker, other), CameraMove.static
            spoken = max(spoken, lines[1].duration)
        else:
            emotional = parenthetical is not None and STRONG_EMOTION.search(parenthetical) is not None
            if heard_only:
                shot_type = ShotType.WS
                on_screen = tuple(c for c in self.cast if c != speaker)[:3]
                camera = CameraMove.pan_left
            elif emotional:
                shot_type, on_screen, camera = ShotType.CU, (speaker,), CameraMove.push_in
            elif self.last_speaker and self.last_speaker != speaker and len(text) > 40:
                shot_type, on_screen, camera = ShotType.MS, (speaker, self.last_speaker), CameraMove.static
            else:
                shot_type = ShotType.MS if len(self.shots) % 3 else ShotType.CU
                on_screen, camera = (speaker,), CameraMove.static
        self._new(
            shot_type=shot_type, camera=camera, duration=LINE_LEAD + spoken + LINE_TAIL,
            on_screen=on_screen, speaker=None if heard_only else speaker, dialogue=lines,
        )  # fmt: skip
        if not heard_only:
            self.last_speaker = speaker

    def sfx(self, el: Element) -> None:
        cue = Cue(kind="sfx", text=el.text.strip(), at=0.2, line=el.line)
        if self.shots and not self.shots[-1]["dialogue"]:
            self.shots[-1]["sfx"].append(cue.model_copy(update={"at": min(0.5, self.shots[-1]["duration"] / 2)}))
        else:
            self.pending_sfx.append(cue)

    def caption(self, el: Element) -> None:
        self.pending_captions.append(Cue(kind="caption", text=el.text.strip(), at=0.0, duration=2.5, line=el.line))

    def _cues_from_action(self, text: str, line: int, at: float) -> list[Cue]:
        if not text:
            return []
        names = set(self.script.speakers()) | {c.name for c in self.script.characters}
        return [Cue(kind="sfx", text=_with_subject(text, c), at=at, line=line) for c in self.sound_cues(text, names)]

    # -- finishing ----------------------------------------------------------------------------------------------
    def finish(self, mood: Mood, title: str, retakes: dict[str, int]) -> PlannedScene:
        if not self.shots:
            self.establishing(self.scene.heading)
        if self.pending_sfx or self.pending_captions:
            self.shots[-1]["sfx"].extend(self.pending_sfx)
            self.shots[-1]["captions"].extend(self.pending_captions)
        shots = []
        for i, raw in enumerate(self.shots, start=1):
            shot_id = f"sc{self.index:02d}-sh{i:02d}"
            dur = raw["duration"]
            # Captions stay on screen long enough to read; cues never fall past the shot's end.
            for cap in raw["captions"]:
                dur = max(dur, cap.at + cap.duration)
            sfx = tuple(c.model_copy(update={"at": _round(min(c.at, max(0.0, dur - 0.3)))}) for c in raw["sfx"])
            shots.append(
                Shot(
                    id=shot_id, shot_type=raw["shot_type"], camera=raw["camera"], duration=_round(dur),
                    on_screen=tuple(raw["on_screen"]), speaker=raw["speaker"], action=raw["action"],
                    dialogue=tuple(raw["dialogue"]), sfx=sfx, captions=tuple(raw["captions"]),
                    seed=shot_seed(title, shot_id, retakes.get(shot_id, 0)),
                )
            )  # fmt: skip
        return PlannedScene(
            index=self.index, heading=self.scene.heading, location=self.scene.location,
            interior=self.scene.interior, time_of_day=str(self.scene.time_of_day), mood=mood,
            characters=tuple(self.cast), shots=tuple(shots),
        )  # fmt: skip


def _with_subject(text: str, cue: str) -> str:
    """The CAPS sound with the up-to-two words before it in its clause: "footsteps ECHO", "heavy lock CLANKS".

    The sound word alone is often ambiguous (ECHO of what?); its subject names the effect.
    """
    at = text.find(cue)
    if at < 0:
        return cue
    clause = re.split(r"[.,;:!?—–()\[\]]", text[:at])[-1]
    before = [w for w in re.findall(r"[A-Za-z']+", clause) if w.lower() not in {"a", "an", "the", "her", "his", "its", "their", "and"}]
    return " ".join([*before[-2:], cue])


def _scene_text(scene: Scene) -> str:
    return " ".join(el.text for el in scene.elements)


def _walk(builder: _SceneBuilder, elements: Iterable[Element]) -> None:
    els = list(elements)
    parenthetical: str | None = None
    i = 0
    while i < len(els):
        el = els[i]
        kind = el.kind
        if kind is ElementKind.action:
            builder.action(el)
        elif kind is ElementKind.parenthetical:
            parenthetical = el.text.strip("()（） ")
        elif kind is ElementKind.dialogue and el.character:
            dual = None
            j = i + 1
            # A dual-dialogue partner follows as (character, parenthetical?, dialogue) with dual=True.
            while j < len(els) and els[j].kind in (ElementKind.character, ElementKind.parenthetical):
                j += 1
            if not el.dual and j < len(els) and els[j].kind is ElementKind.dialogue and els[j].dual:
                dual = els[j]
                i = j
            builder.dialogue(el.character, el.text.strip(), parenthetical, el, dual)
            parenthetical = None
        elif kind is ElementKind.sfx:
            builder.sfx(el)
        elif kind is ElementKind.caption:
            builder.caption(el)
        elif kind is ElementKind.centered:
            builder.caption(el)
        i += 1


def plan_script(
    script: Script,
    *,
    fps: int = 30,
    width: int = 1080,
    height: int = 1920,
    retakes: dict[str, int] | None = None,
) -> ShotPlan:
    """The shot plan of ``script``. ``retakes`` maps shot ids to take numbers (a new seed per take)."""
    from tasks.script import sound_cues

    retakes = retakes or {}
    scenes: list[PlannedScene] = []
    n = len(script.scenes)
    for index, scene in enumerate(script.scenes, start=1):
        builder = _SceneBuilder(script, scene, index, sound_cues)
        _walk(builder, scene.elements)
        mood = scene_mood(_scene_text(scene))
        if index == n and mood in (Mood.calm, Mood.comedic, Mood.romantic):
            mood = Mood.suspense  # the episode ends on a cliffhanger
        scenes.append(builder.finish(mood, script.title, retakes))
    if scenes:
        last = scenes[-1]
        final = last.shots[-1].model_copy(update={"stinger": True, "duration": _round(last.shots[-1].duration + 1.0)})
        scenes[-1] = last.model_copy(update={"shots": (*last.shots[:-1], final)})
    characters = tuple(dict.fromkeys([*script.speakers(), *(c.name for c in script.characters)]))
    return ShotPlan(
        title=script.title, language=script.language, episode=script.episode, fps=fps, width=width, height=height,
        characters=characters, scenes=tuple(scenes), source=script.source,
    )  # fmt: skip
