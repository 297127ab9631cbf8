"""An automatic producer for toy-world takes, built on the evaluation detectors (``model_core.eval``).

It watches one decoded take (video ``(F, H, W, 3) uint8``, audio at the latent space's sample rate) against
the prompt it was made for and says what a producer would:

* **sync** — the take's own visual impacts (:func:`visual_events`) against its own audio onsets
  (:func:`audio_onsets`), one-to-one within ±1 frame (:func:`match_events`): the per-take sync F1. A take with
  no impact in either stream is in sync only if the prompt asked for rolling; a bouncing prompt with no impact
  at all scores 0.5 (nothing is out of sync, but nothing happens either).
* **colour** — the dominant ball colour (:func:`dominant_colour`) is the prompt's (1 or 0).
* **count** — the number of balls (:func:`ball_count`) is the prompt's (1 or 0).

``score = 0.6·sync + 0.25·colour + 0.15·count`` in [0, 1] maps to a 1–5 rating (``1 + round(4·score)``). Tags:
``great_take`` at 5, ``lip_sync_off`` (the taxonomy's sync tag) when sync < 0.5, ``off_script`` for a wrong
colour or count. The unmatched events become annotations: a time range from the first to the last of them and
a region box around the ball at the first one, so the dataset builder sees masks as a producer would draw
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_core.eval import (
    _components,
    audio_onsets,
    ball_count,
    colour_weights,
    dominant_colour,
    match_events,
    merge_events,
    visual_events,
)
from model_core.toyworld import Scene, parse_prompt

SYNC_WEIGHT, COLOUR_WEIGHT, COUNT_WEIGHT = 0.6, 0.25, 0.15


@dataclass(frozen=True)
class Verdict:
    """What the judge says about one take (the body of a feedback note, plus the measurements behind it)."""

    rating: int
    score: float
    sync_f1: float
    colour_ok: bool
    count_ok: bool
    tags: list[str]
    comment: str
    t_start: float | None = None
    t_end: float | None = None
    regions: list[dict[str, Any]] = field(default_factory=list)
    visual_events: list[float] = field(default_factory=list)
    audio_onsets: list[float] = field(default_factory=list)

    def feedback_body(self, take_id: int) -> dict[str, Any]:
        """The ``POST /api/feedback`` body for this verdict on take ``take_id``."""
        body: dict[str, Any] = {
            "take_id": take_id,
            "rating": self.rating,
            "tags": self.tags,
            "comment": self.comment,
        }
        if self.t_start is not None:
            body["t_start"], body["t_end"] = self.t_start, self.t_end
        if self.regions:
            body["regions"] = self.regions
        return body


def _unmatched(a: list[float], b: list[float], fps: float) -> tuple[list[float], list[float]]:
    """Events of ``a`` and of ``b`` without a partner within ±1 frame (greedy, closest first)."""
    tol = 1.0 / fps + 1e-9
    a, b = merge_events(a, 1.0 / fps), merge_events(b, 1.0 / fps)
    pairs = sorted((abs(x - y), i, j) for i, x in enumerate(a) for j, y in enumerate(b) if abs(x - y) <= tol)
    ua, ub = set(), set()
    for _, i, j in pairs:
        if i not in ua and j not in ub:
            ua.add(i)
            ub.add(j)
    return [t for i, t in enumerate(a) if i not in ua], [t for j, t in enumerate(b) if j not in ub]


def _ball_box(video: np.ndarray, colour: str | None, frame: int) -> dict[str, float] | None:
    """Fractional box around the largest ball of ``colour`` in ``frame`` (padded by a radius), if seen."""
    if colour is None:
        return None
    w = colour_weights(video[frame : frame + 1])[colour][0]  # (H, W)
    comps = _components(w > 0.5)
    if not comps:
        return None
    height, width = w.shape
    ys, xs = np.nonzero(w > 0.5)
    x0, x1 = max(0, xs.min() - 1), min(width, xs.max() + 2)
    y0, y1 = max(0, ys.min() - 1), min(height, ys.max() + 2)
    return {
        "x": float(x0 / width),
        "y": float(y0 / height),
        "w": float((x1 - x0) / width),
        "h": float((y1 - y0) / height),
    }


def judge_take(video: np.ndarray, audio: np.ndarray, prompt: str | Scene, space) -> Verdict:  # noqa: ANN001
    """Rate one decoded take against its prompt (``space``: the model's ``ToyLatentSpace``)."""
    scene = prompt if isinstance(prompt, Scene) else parse_prompt(prompt)
    fps, frames = space.fps, space.frames
    vis = visual_events(video, fps)
    aud = audio_onsets(audio, space)
    m = match_events(vis, aud, fps=fps, frames=frames)
    if m.tp + m.fp + m.fn == 0:
        sync = 1.0 if scene.motion == "rolling" else 0.5
    else:
        sync = m.f1
    colour = dominant_colour(video)[0]
    colour_ok = colour == scene.colour
    count_ok = colour is not None and ball_count(video, colour) == scene.count
    score = SYNC_WEIGHT * sync + COLOUR_WEIGHT * float(colour_ok) + COUNT_WEIGHT * float(count_ok)
    rating = int(min(5, max(1, 1 + round(4 * score))))
    tags = []
    if rating == 5:
        tags.append("great_take")
    if sync < 0.5:
        tags.append("lip_sync_off")
    if not colour_ok or not count_ok:
        tags.append("off_script")
    lone_v, lone_a = _unmatched(vis, aud, fps)
    lo, hi = 1.0 / fps, (frames - 2) / fps
    lone = sorted(t for t in lone_v + lone_a if lo <= t <= hi)
    notes = [f"sync F1 {sync:.2f} ({len(vis)} impacts seen, {len(aud)} heard)"]
    if not colour_ok:
        notes.append(f"ball is {colour or 'not visible'}, prompt says {scene.colour}")
    if not count_ok and colour_ok:
        notes.append(f"prompt says {scene.count} ball(s)")
    t_start = t_end = None
    regions = []
    if lone:
        t_start, t_end = round(lone[0], 4), round(lone[-1], 4)
        box = _ball_box(video, colour, min(frames - 1, int(round(lone[0] * fps))))
        if box is not None:
            regions.append({"t": t_start, **box, "label": "impact out of sync"})  # exact k/W fractions
        notes.append(f"{len(lone)} unmatched event(s) from {t_start:.2f} s")
    return Verdict(
        rating=rating,
        score=round(score, 4),
        sync_f1=round(sync, 4),
        colour_ok=colour_ok,
        count_ok=count_ok,
        tags=tags,
        comment="; ".join(notes),
        t_start=t_start,
        t_end=t_end,
        regions=regions,
        visual_events=vis,
        audio_onsets=aud,
    )
