from fractions import Fraction

import pytest

from schemas.plan import CameraMove, Mood, ShotPlan, ShotType
from schemas.script import Character, Element, ElementKind, Scene, Script, TimeOfDay
from tasks.planning import fit_shot, plan_script
from tasks.planning.mood import scene_mood
from tasks.planning.plan import shot_seed, speech_seconds


def _dialogue(name, text, line, paren=None, **kw):
    els = [Element(kind=ElementKind.character, text=name, line=line, character=name)]
    if paren:
        els.append(Element(kind=ElementKind.parenthetical, text=f"({paren})", line=line + 1, character=name))
    els.append(Element(kind=ElementKind.dialogue, text=text, line=line + 2, character=name, **kw))
    return els


def _script() -> Script:
    s1 = Scene(
        heading="INT. KITCHEN - NIGHT", line=3, interior="INT", location="KITCHEN", time_of_day=TimeOfDay.night,
        characters=("MAYA", "LEO"),
        elements=(
            Element(kind=ElementKind.action, text="Rain on the window. A door SLAMS upstairs.", line=5),
            *_dialogue("MAYA", "You said you would be home by nine.", 7, paren="cold"),
            *_dialogue("LEO", "I know. I know what I said.", 11),
            Element(kind=ElementKind.caption, text="Three days later", line=14),
            *_dialogue("MAYA", "Then why are there two cups on the table, Leo?", 16, paren="shouting"),
        ),
    )
    s2 = Scene(
        heading="EXT. ROOFTOP - DAY", line=20, interior="EXT", location="ROOFTOP", time_of_day=TimeOfDay.day,
        characters=("LEO",),
        elements=(
            Element(kind=ElementKind.action, text="Leo looks down at the street.", line=22),
            *_dialogue("LEO", "She knows.", 24, extension="V.O."),
        ),
    )
    return Script(
        title="Two Cups", characters=(Character(name="MAYA"), Character(name="LEO")), scenes=(s1, s2),
    )


def test_plan_is_deterministic_and_shaped():
    a, b = plan_script(_script()), plan_script(_script())
    assert a == b
    assert [len(s.shots) for s in a.scenes] == [4, 2]  # establishing + 3 lines; establishing + 1 line
    ids = [shot.id for shot in a.shots()]
    assert len(set(ids)) == len(ids) and ids[0] == "sc01-sh01"
    # JSON round trip is what `plan --out` / `render --plan` rely on.
    assert ShotPlan.model_validate_json(a.model_dump_json()) == a


def test_establishing_then_one_shot_per_line():
    plan = plan_script(_script())
    first, *rest = plan.scenes[0].shots
    assert first.shot_type in (ShotType.WS, ShotType.EWS) and not first.dialogue
    assert [len(s.dialogue) for s in rest] == [1, 1, 1]
    assert [s.dialogue[0].character for s in rest] == ["MAYA", "LEO", "MAYA"]
    assert plan.scenes[1].shots[0].shot_type is ShotType.EWS  # exterior establishing


def test_emotion_gets_a_close_up_and_caption_lands_on_next_shot():
    plan = plan_script(_script())
    shouting = next(s for s in plan.shots() if s.dialogue and "two cups" in s.dialogue[0].text)
    assert shouting.shot_type is ShotType.CU and shouting.camera is CameraMove.push_in
    assert shouting.captions and shouting.captions[0].text == "Three days later"
    assert shouting.duration >= shouting.captions[0].duration


def test_sfx_cue_from_caps_in_action():
    plan = plan_script(_script())
    first = plan.scenes[0].shots[0]
    assert [c.text for c in first.sfx] == ["door SLAMS"]  # the sound with its subject
    assert 0 <= first.sfx[0].at < first.duration


def test_voice_over_is_heard_not_seen_and_last_shot_stings():
    plan = plan_script(_script())
    vo = plan.scenes[1].shots[-1]
    assert vo.dialogue[0].extension == "V.O." and vo.speaker is None and "LEO" not in vo.on_screen
    assert vo.stinger and not any(s.stinger for s in plan.shots()[:-1])
    assert plan.scenes[-1].mood in (Mood.suspense, Mood.tense)


def test_retake_changes_only_that_shot_seed():
    base = plan_script(_script())
    retake = plan_script(_script(), retakes={"sc01-sh02": 1})
    changed = [a.id for a, b in zip(base.shots(), retake.shots(), strict=True) if a.seed != b.seed]
    assert changed == ["sc01-sh02"]
    assert shot_seed("Two Cups", "sc01-sh02", 1) == retake.shots()[1].seed


def test_speech_estimate_by_language():
    assert speech_seconds("one two three four five six seven eight", "en") == pytest.approx(3.0, abs=0.01)
    assert speech_seconds("工商的人下午来封门", "zh") == pytest.approx(9 / 4.3, abs=0.01)


def test_mood_keywords():
    assert scene_mood("She is crying, tears on the letter") is Mood.sad
    assert scene_mood("他愤怒地摔门，一记耳光") is Mood.tense
    assert scene_mood("The kettle hums.") is Mood.calm


def test_fit_shot_grows_for_long_speech_and_keeps_planned_minimum():
    plan = plan_script(_script())
    shot = next(s for s in plan.shots() if s.dialogue)
    planned = shot.frames(Fraction(30))
    short = fit_shot(shot, [48_000])  # one second of speech
    assert short.frames == planned and not short.extended and short.samples == planned * 1600
    long = fit_shot(shot, [48_000 * 10])
    assert long.extended and long.frames * 1600 >= long.line_starts[0] + 480_000
    with pytest.raises(ValueError):
        fit_shot(shot, [])
