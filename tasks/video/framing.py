"""Framing: where figures stand and how big they are for each shot type, on the oversize canvas.

EWS: tiny figures in a big set. WS: full bodies. MS: waist up. CU: head and shoulders of the speaker. ECU:
the speaker's face filling the frame (eyes and mouth). Sizes are in head heights ``h``; a full figure
is 7h.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.video.camera import canvas_size
from tasks.video.figures import Figure
from tasks.video.looks import character_look

TAGS = {"CU": "chest", "ECU": "none"}


def _xs(n: int, width: int, spacing: float) -> list[float]:
    return [width / 2.0 + (i - (n - 1) / 2.0) * spacing for i in range(n)]


def frame_figures(
    shot_type: str, on_screen: Sequence[str], speaker: str | None, width: int, height: int
) -> list[Figure]:
    """Figures for a shot, in canvas pixels. CU/ECU keep only the speaker (else the first on-screen
    character).
    """
    names = list(dict.fromkeys(n for n in on_screen if n.strip()))
    if speaker and speaker not in names and shot_type in ("CU", "ECU"):
        names = [speaker]
    if not names:
        return []
    cw, ch = canvas_size(width, height)
    ox, oy = (cw - width) / 2.0, (ch - height) / 2.0
    n = len(names)
    if shot_type in ("CU", "ECU"):
        names = [speaker if speaker in names else names[0]]
        n = 1
    if shot_type == "EWS":
        h = 0.021 * height
        feet = 0.8 * height
        tops, xs = [feet - 7 * h] * n, _xs(n, width, min(0.13 * width, 0.7 * width / n))
    elif shot_type == "WS":
        h = min(0.075 * height, 0.8 * width / (2.4 * n))
        feet = 0.9 * height
        tops, xs = [feet - 7 * h] * n, _xs(n, width, min(0.3 * width, 0.84 * width / n))
    elif shot_type == "CU":
        h = 0.34 * height
        tops, xs = [0.2 * height], [width / 2.0]
    elif shot_type == "ECU":
        h = 1.3 * width / 0.76  # the face (0.76 h wide) overfills the width
        tops, xs = [0.45 * height - 0.52 * h], [width / 2.0]
    else:  # MS
        h = min(0.2 * height, 0.86 * width / (1.35 * n))
        tops, xs = [0.38 * height - 0.5 * h] * n, _xs(n, width, min(0.44 * width, 0.86 * width / n))
    breath = int(round(0.008 * h)) if shot_type != "ECU" else 0
    return [
        Figure(
            character_look(name),
            cx=ox + x,
            top=oy + top,
            h=h,
            tag=TAGS.get(shot_type, "above"),
            breath=breath,
        )
        for name, x, top in zip(names, xs, tops, strict=True)
    ]
