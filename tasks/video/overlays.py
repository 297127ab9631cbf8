"""Screen-space storyboard text: the shot slug and action at the top, 【字幕】 title cards at their times.

These sit on top of the camera move (they do not zoom or pan) and are rendered once per shot as sprites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from schemas.plan import Cue
from tasks.video.text import Sprite, load_font, text_rgba, wrap_to_width

CARD_FADE_FRAMES = 6
CARD_DEFAULT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class TitleCard:
    sprite: Sprite
    start: int  # first frame
    end: int  # exclusive

    def opacity(self, k: int) -> float:
        if not self.start <= k < self.end:
            return 0.0
        fade = min(CARD_FADE_FRAMES, max(1, (self.end - self.start) // 3))
        return float(min(1.0, (k - self.start + 1) / fade, (self.end - k) / fade))


def action_sprite(slug: str, action: str, width: int, height: int, font: str | None = None) -> Sprite:
    """The muted storyboard caption: a slug line (scene, shot, framing, move) and the action, top centre."""
    size = max(14, int(round(height * 0.0145)))
    small = load_font(font, max(12, int(size * 0.85)))
    body = load_font(font, size)
    max_w = width * 0.84
    slug_lines = wrap_to_width(slug, small, max_w, 1)
    body_lines = wrap_to_width(action, body, max_w, 3) if action.strip() else []
    slug_rgba = text_rgba(slug_lines, small, fill=(190, 196, 204), align="left")
    parts = [slug_rgba]
    if body_lines:
        parts.append(text_rgba(body_lines, body, fill=(228, 228, 228), align="left", line_gap=0.2))
    pad = max(6, size // 2)
    w = int(max(p.shape[1] for p in parts)) + 2 * pad
    h = int(sum(p.shape[0] for p in parts)) + 2 * pad + (pad // 2) * (len(parts) - 1)
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = 120  # translucent dark band
    y = pad
    for p in parts:
        region = rgba[y : y + p.shape[0], pad : pad + p.shape[1]]
        a = p[..., 3:4].astype(np.float32) / 255.0
        region[..., :3] = (p[..., :3] * a + region[..., :3] * (1 - a)).astype(np.uint8)
        region[..., 3:4] = np.maximum(region[..., 3:4], p[..., 3:4])
        y += p.shape[0] + pad // 2
    return Sprite.from_rgba(rgba, int((width - w) / 2), int(height * 0.035))


def title_cards(
    captions: Sequence[Cue], frames: int, fps: int, width: int, height: int, font: str | None = None
) -> list[TitleCard]:
    """On-screen caption cards (e.g. 三天后, a location/time card) centred above the middle, with fades."""
    cards = []
    size = max(20, int(round(height * 0.034)))
    face = load_font(font, size)
    for cue in captions:
        lines = wrap_to_width(cue.text, face, width * 0.76, 3)
        if not lines:
            continue
        rgba = text_rgba(
            lines,
            face,
            fill=(255, 255, 255),
            outline=(0, 0, 0),
            outline_width=max(1, size // 18),
            shadow=max(2, size // 12),
            box=(10, 10, 14, 150),
            padding=size // 2,
        )
        start = min(max(int(round(cue.at * fps)), 0), frames)
        seconds = cue.duration if cue.duration > 0 else CARD_DEFAULT_SECONDS
        end = min(frames, start + max(1, int(round(seconds * fps))))
        # Centred below the faces of every framing and above the subtitle band (which starts near 72 %).
        y = int(height * 0.6 - rgba.shape[0] / 2)
        sprite = Sprite.from_rgba(rgba, int((width - rgba.shape[1]) / 2), y)
        cards.append(TitleCard(sprite, start, end))
    return cards
