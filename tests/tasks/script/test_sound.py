"""Sound cues from CAPS in action lines."""

from __future__ import annotations

import pytest

from tasks.script import sound_cues


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("The door SLAMS. A phone BUZZES twice.", ["SLAMS", "BUZZES"]),
        ("Somewhere, GLASS SHATTERS.", ["GLASS SHATTERS"]),
        ("Thunder RUMBLES. Footsteps ECHO down the hall.", ["RUMBLES", "ECHO"]),
        ("A sharp SLAP. Then a KNOCK at the door.", ["SLAP", "KNOCK"]),
        ("The kettle WHISTLES. The radio CRACKLES.", ["WHISTLES", "CRACKLES"]),
        ("Tires SCREECHING, then a CRASH.", ["SCREECHING", "CRASH"]),
        ("BZZZT. The lights die.", ["BZZZT"]),
        ("The copier WHIRS awake.", ["WHIRS"]),
        (
            "PTEW! The printer spits out the cable. KRUMF.",
            ["PTEW", "KRUMF"],
        ),  # a caps sentence of its own  # not in the lexicon: a caps verb right after a noun
    ],
)
def test_sounds(text: str, want: list[str]) -> None:
    assert sound_cues(text, []) == want


@pytest.mark.parametrize(
    "text",
    [
        "MIA enters, soaked.",  # a known character
        "An EXTREMELY HANDSOME MAN drinks a beer.",  # a character being introduced
        "RAY (40s), tired eyes, counts cash.",
        "The CEO watches TV. OK.",  # acronyms
        "MIA. Just MIA.",  # a name alone is not a noise
        "INT. HOUSE - DAY",  # heading words
        "The button reads STANDBY. A LASER PRINTER sits there.",  # emphasis and props
        "门外传来敲门声，BANG。",  # Chinese action: cues come as 【音效：…】
    ],
)
def test_not_sounds(text: str) -> None:
    assert sound_cues(text, ["MIA"]) == []


def test_character_name_inside_a_sound_run_is_dropped() -> None:
    assert sound_cues("MIA SLAMS the door.", ["Mia"]) == ["SLAMS"]
