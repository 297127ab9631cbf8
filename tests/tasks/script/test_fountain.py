"""Fountain features, each from a small inline script (no shared fixtures needed)."""

from __future__ import annotations

from schemas.script import ElementKind, TimeOfDay
from tasks.script import parse_text

K = ElementKind


def els(text: str):
    return parse_text(text, format="fountain").elements()


def seq(text: str) -> list[tuple[ElementKind, str]]:
    return [(e.kind, e.text) for e in els(text)]


def test_title_page_with_indented_multiline_values() -> None:
    script = parse_text(
        "Title:\n    _**THE LAST**_\n    _**DELIVERY**_\nCredit: written by\nAuthor: Ana Ruiz\n"
        "Contact:\n    ana@example.com\n    555-0100\nEpisode: 3\n\nINT. HALL - DAY\n\nRain.\n"
    )
    assert script.title == "THE LAST DELIVERY"
    assert dict(script.title_page)["Contact"] == "ana@example.com\n555-0100"
    assert script.episode == 3
    assert [e.kind for e in script.elements()] == [K.scene_heading, K.action]


def test_fade_in_is_not_a_title_page() -> None:
    assert seq("FADE IN:\n\nINT. ROOM - DAY\n\nA chair.") == [
        (K.transition, "FADE IN:"),
        (K.scene_heading, "INT. ROOM - DAY"),
        (K.action, "A chair."),
    ]


def test_scene_headings_interior_location_time() -> None:
    script = parse_text(
        "INT. KITCHEN - NIGHT\n\nA.\n\nEXT. ROOF - DUSK\n\nB.\n\nINT./EXT. CAR - MORNING\n\nC.\n\n"
        "EST. CITY - SUNSET #4A#\n\nD.\n\nEXT. ALLEY - CONTINUOUS\n\nE.\n\n"
        ".FLASHBACK\n\nF.\n\nI/E VAN EVENING\n\nG.\n"
    )
    got = [(s.interior, s.location, s.time_of_day, s.number) for s in script.scenes]
    assert got == [
        ("INT", "KITCHEN", TimeOfDay.night, None),
        ("EXT", "ROOF", TimeOfDay.dusk, None),
        ("INT/EXT", "CAR", TimeOfDay.dawn, None),
        ("EXT", "CITY", TimeOfDay.dusk, "4A"),
        ("EXT", "ALLEY", TimeOfDay.dusk, None),  # CONTINUOUS keeps the previous scene's time
        (None, "FLASHBACK", TimeOfDay.unspecified, None),
        ("INT/EXT", "VAN", TimeOfDay.dusk, None),
    ]
    assert script.scenes[3].heading == "EST. CITY - SUNSET"


def test_heading_needs_a_blank_line_before_it() -> None:
    assert seq("He walks.\nINT. HOUSE - DAY\n") == [(K.action, "He walks.\nINT. HOUSE - DAY")]


def test_uppercase_heading_directly_followed_by_action() -> None:
    assert seq("INT. HOUSE - DAY\nShe enters.") == [
        (K.scene_heading, "INT. HOUSE - DAY"),
        (K.action, "She enters."),
    ]


def test_characters_extensions_forced_and_dual() -> None:
    out = [
        (e.kind, e.text, e.extension, e.dual, e.forced)
        for e in els(
            "MIA (V.O.)\nHello.\n\nMIA (V.O.) (CONT'D)\nStill me.\n\n"
            "@McCLANE\nYippee.\n\nBO (O.S.)\nHi.\n\nJO ^\nHey.\n"
        )
    ]
    assert out == [
        (K.character, "MIA", "V.O.", False, False),
        (K.dialogue, "Hello.", "V.O.", False, False),
        (K.character, "MIA", "V.O.", False, False),
        (K.dialogue, "Still me.", "V.O.", False, False),
        (K.character, "McCLANE", None, False, True),
        (K.dialogue, "Yippee.", None, False, False),
        (K.character, "BO", "O.S.", False, False),
        (K.dialogue, "Hi.", "O.S.", False, False),
        (K.character, "JO", None, True, False),
        (K.dialogue, "Hey.", None, True, False),
    ]


def test_mixed_case_name_needs_the_at_sign() -> None:
    assert seq("McCLANE\nYippee.") == [(K.action, "McCLANE\nYippee.")]


def test_parentheticals_and_multiline_dialogue() -> None:
    got = seq(
        "LENA\n(cold)\nYou came back.\nAfter all this time.\n(whispering,\nalmost gone)\nWhy?\n  \nTell me."
    )
    assert got == [
        (K.character, "LENA"),
        (K.parenthetical, "(cold)"),
        (K.dialogue, "You came back.\nAfter all this time."),
        (K.parenthetical, "(whispering, almost gone)"),
        (K.dialogue, "Why?\n\nTell me."),
    ]
    assert all(e.character == "LENA" for e in els("LENA\n(cold)\nHi."))


def test_lyrics_transitions_centered() -> None:
    assert seq("~Happy birthday\n~to you\n\nCUT TO:\n\n> smash to black\n\n> THE END <\n\nFADE OUT.") == [
        (K.lyrics, "Happy birthday\nto you"),
        (K.transition, "CUT TO:"),
        (K.transition, "SMASH TO BLACK"),
        (K.centered, "THE END"),
        (K.transition, "FADE OUT."),
    ]


def test_forced_action_keeps_caps_line() -> None:
    got = els("!SCREAMS\nfrom the hall")
    assert [(e.kind, e.text, e.forced) for e in got] == [(K.action, "SCREAMS\nfrom the hall", True)]


def test_notes_inline_and_multiline() -> None:
    got = seq(
        "She waits. [[check the clock prop]] Nothing.\n\n[[a note\nover two lines]]\n\nINT. X - DAY\n\nGo."
    )
    assert got == [
        (K.action, "She waits. Nothing."),
        (K.note, "check the clock prop"),
        (K.note, "a note\nover two lines"),
        (K.scene_heading, "INT. X - DAY"),
        (K.action, "Go."),
    ]


def test_boneyard_multiline_keeps_line_numbers() -> None:
    got = els("A.\n\n/*\nINT. CUT SCENE - DAY\n\nBOB\nGone.\n*/\n\nINT. KEPT - DAY\n\nB.")
    assert [(e.kind, e.line) for e in got] == [
        (K.action, 1),
        (K.boneyard, 3),
        (K.scene_heading, 10),
        (K.action, 12),
    ]
    assert "BOB" not in [e.character for e in got]


def test_sections_synopses_page_breaks() -> None:
    got = [
        (e.kind, e.text, e.depth)
        for e in els("# ACT ONE\n= The fall.\n\n## Teaser\n\n===\n\nEXT. SEA - DAY\n\nWaves.")
    ]
    assert got == [
        (K.section, "ACT ONE", 1),
        (K.synopsis, "The fall.", 0),
        (K.section, "Teaser", 2),
        (K.page_break, "", 0),
        (K.scene_heading, "EXT. SEA - DAY", 0),
        (K.action, "Waves.", 0),
    ]


def test_bom_and_crlf() -> None:
    script = parse_text("\ufeffINT. A - DAY\r\n\r\nBOB\r\nHi.\r\n", format="fountain")
    assert script.scenes[0].heading == "INT. A - DAY"
    assert [(e.kind, e.text, e.line) for e in script.scenes[0].elements] == [
        (K.character, "BOB", 3),
        (K.dialogue, "Hi.", 4),
    ]


def test_emphasis_markers_are_stripped() -> None:
    got = seq("BOB\nI *really* mean it, **now**. Not \\*this\\*.\n\nThe _red_ door.")
    assert got[1:] == [(K.dialogue, "I really mean it, now. Not *this*."), (K.action, "The red door.")]


def test_language_per_line_and_script() -> None:
    script = parse_text("INT. A - DAY\n\nBOB\nHello.\n\nMEI\n你好。\n\nBOB\nBye.")
    assert script.language == "en"
    assert [(e.character, e.lang) for e in script.elements() if e.kind is K.dialogue] == [
        ("BOB", "en"),
        ("MEI", "zh"),
        ("BOB", "en"),
    ]
    assert parse_text("Title: X\nLanguage: de\n\nINT. A - DAY\n\nBOB\nHallo.").language == "de"


def test_characters_are_speakers_in_order() -> None:
    script = parse_text("INT. A - DAY\n\nZED\nA.\n\nAMY\nB.\n\nZED (CONT'D)\nC.")
    assert [c.name for c in script.characters] == ["ZED", "AMY"]
    assert script.scenes[0].characters == ("ZED", "AMY")


def test_untitled_from_string_and_title_from_file_name(tmp_path) -> None:
    assert parse_text("INT. A - DAY\n\nGo.").title == "Untitled"
    from tasks.script import parse_script

    path = tmp_path / "night_shift.fountain"
    path.write_text("INT. A - DAY\n\nGo.", encoding="utf-8")
    assert parse_script(path).title == "Night Shift"


def test_declared_cast_on_the_title_page() -> None:
    script = parse_text(
        "Title: T\nCharacters:\n    Mia (30, female): a pilot\n    RAY (61): her father, retired\n"
        "    OWEN: a quiet man\n\nINT. A - DAY\n\nMIA\nHi, Dad.\n\nRAY\nHi.\n"
    )
    cast = {c.name: (c.age, c.gender, c.description) for c in script.characters}
    assert cast == {
        "MIA": (30, "female", "a pilot"),
        "RAY": (61, "male", "her father, retired"),
        "OWEN": (None, "male", "a quiet man"),
    }
    from tasks.script import lint

    assert [i.message for i in lint(script)] == [
        "OWEN is declared but never speaks (remove them or give them a line)"
    ]


def test_dialogue_lines_group_cue_and_words() -> None:
    script = parse_text("INT. A - DAY\n\nMIA\n(cold)\nNo.\n\nThe door SLAMS.\n\nRAY ^\nYes.\n")
    got = [(d.character, d.text, d.parenthetical, d.dual) for d in script.dialogue_lines()]
    assert got == [("MIA", "No.", "cold", False), ("RAY", "Yes.", None, True)]


def test_brackets_inside_dialogue_that_are_not_parentheticals() -> None:
    got = seq("BOB\n(smiles) I know.\n  \nthen (beat) more\n(never closed\nstill talking")
    assert got == [
        (K.character, "BOB"),
        (K.dialogue, "(smiles) I know.\n\nthen (beat) more\n(never closed\nstill talking"),
    ]
