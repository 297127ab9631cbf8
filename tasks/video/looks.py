"""Stable identity from names: the same character or location looks the same in every shot and every episode.

Python's ``hash()`` is salted per process, so identity comes from SHA-256 of the name instead.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]


def stable_rng(*parts: object) -> np.random.Generator:
    """A generator seeded by the SHA-256 of ``parts``: identical across processes, machines and runs."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


SKIN_TONES: tuple[RGB, ...] = (
    (247, 215, 190),
    (236, 196, 164),
    (224, 180, 145),
    (203, 153, 115),
    (168, 117, 84),
    (120, 82, 60),
)
HAIR_COLOURS: tuple[RGB, ...] = (
    (22, 20, 24),
    (40, 30, 26),
    (70, 48, 34),
    (110, 66, 40),
    (150, 150, 155),
    (120, 36, 48),
    (196, 160, 96),
)
HAIRSTYLES = ("short", "long", "bob", "bun", "ponytail", "buzz", "side_part")
OUTFITS = ("suit", "dress", "hoodie", "shirt_tie", "coat")


@dataclass(frozen=True, slots=True)
class CharacterLook:
    """How a character is drawn; a pure function of the name."""

    name: str
    skin: RGB
    hair: RGB
    hairstyle: str
    outfit: str
    clothing: RGB
    accent: RGB
    build: float  # shoulder-width factor
    glasses: bool


def character_look(name: str) -> CharacterLook:
    rng = stable_rng("character", name.strip().casefold())
    hue = float(rng.random())
    return CharacterLook(
        name=name,
        skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
        hair=HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))],
        hairstyle=HAIRSTYLES[int(rng.integers(len(HAIRSTYLES)))],
        outfit=OUTFITS[int(rng.integers(len(OUTFITS)))],
        clothing=hsv(hue, 0.45 + 0.35 * float(rng.random()), 0.45 + 0.35 * float(rng.random())),
        accent=hsv(hue + 0.45, 0.55, 0.9),
        build=0.9 + 0.25 * float(rng.random()),
        glasses=bool(rng.random() < 0.25),
    )
