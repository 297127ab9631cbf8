"""Does the model keep sound and picture in sync? Detectors, metrics and the evaluation of a checkpoint.

Detectors (no model needed, plain numpy, used on generated *and* ground-truth clips alike):

* :func:`visual_events` — ball masks from the palette colours, one centroid track per ball, an impact wherever a
  track's vertical velocity turns from down to up near the floor, or its horizontal velocity flips near a wall.
  Times are at frame resolution (the midpoint of a flat bottom).
* :func:`audio_onsets` — log band-energy flux (the latent space's own filter bank) at the audio latent rate, peaks
  above a threshold that also rise clearly above the preceding level.
* :func:`dominant_colour` / :func:`ball_count` — colour and count adherence.

Metric: :func:`sync_f1` matches visual events and audio onsets one-to-one within ``±1`` video frame, after merging
events closer than one frame inside each list (two balls landing together are one event for both detectors).
Only events the visual detector *can* see count (not in the first frame, not in the last two).
The *shuffled* baseline pairs each clip's video with another clip's audio: what a model that ignores the other
stream would score.

:func:`evaluate` samples held-out prompts from a checkpoint and reports all of it, plus the same detectors on the
ground-truth clips of those prompts (F1 should be ≈ 1: the detectors work) and on their shuffled pairing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_core.toyworld import BACKGROUND, COLOURS, WorldSpec

# --------------------------------------------------------------------------------------------------------------
# Visual detectors
# --------------------------------------------------------------------------------------------------------------

_BALL_AREA = math.pi * WorldSpec().radius ** 2


def colour_weights(video: np.ndarray, floor_px: int = WorldSpec().floor_px) -> dict[str, np.ndarray]:
    """Per palette colour, ``(F, H, W)`` weights in [0, 1]: how much of each pixel that colour's ball covers.

    A pixel is written ``background + alpha * (colour - background)``; a pixel only counts for a colour when the
    remainder off that line is small (so yellow does not count as red). The floor strip is ignored.
    """
    v = np.asarray(video, np.float32)[..., :3]
    bg = np.asarray(BACKGROUND, np.float32)
    d = v - bg
    out = {}
    for name, rgb in COLOURS.items():
        axis = np.asarray(rgb, np.float32) - bg
        alpha = np.clip((d @ axis) / float(axis @ axis), 0.0, 1.0)
        resid = np.linalg.norm(d - alpha[..., None] * axis, axis=-1)
        w = np.where(resid < 45.0 + 40.0 * alpha, alpha, 0.0)
        if floor_px:
            w[:, -floor_px:, :] = 0.0
        out[name] = w
    return out


def dominant_colour(video: np.ndarray) -> tuple[str | None, dict[str, float]]:
    """The palette colour with the most ball mass (``None`` if the clip shows less than a third of a ball)."""
    weights = colour_weights(video)
    mass = {k: float(w.sum(axis=(1, 2)).mean()) for k, w in weights.items()}
    best = max(mass, key=mass.get)
    return (best if mass[best] > _BALL_AREA / 3 else None), mass


def _components(mask: np.ndarray, min_px: int = 4) -> list[tuple[float, float, float]]:
    """Connected components of a 2-D mask as ``(x, y, mass)`` centroids, largest first."""
    from scipy import ndimage

    labels, n = ndimage.label(mask)
    if n == 0:
        return []
    flat = labels.ravel()
    ys, xs = np.indices(mask.shape)
    size = np.bincount(flat, minlength=n + 1)[1:]
    sx = np.bincount(flat, weights=xs.ravel(), minlength=n + 1)[1:]
    sy = np.bincount(flat, weights=ys.ravel(), minlength=n + 1)[1:]
    keep = np.nonzero(size >= min_px)[0]
    comps = [(float(sx[i] / size[i]) + 0.5, float(sy[i] / size[i]) + 0.5, float(size[i])) for i in keep]
    return sorted(comps, key=lambda c: -c[2])


def ball_count(video: np.ndarray, colour: str | None = None) -> int:
    """Number of balls of ``colour`` (default: the dominant one): the median component count over frames."""
    colour = colour or dominant_colour(video)[0]
    if colour is None:
        return 0
    w = colour_weights(video)[colour]
    counts = [len(_components(frame > 0.5)) for frame in w]
    return int(np.median(counts))


def ball_tracks(video: np.ndarray, colour: str | None = None) -> np.ndarray:
    """``(n_balls, F, 2)`` centroid tracks (x, y in px, NaN where the ball is not seen) of the given colour.

    Balls of a toy clip stay in their own part of the box, so two balls are separated by the vertical line
    halfway between them (median over frames where both are visible).
    """
    colour = colour or dominant_colour(video)[0]
    frames = len(video)
    if colour is None:
        return np.zeros((0, frames, 2))
    w = colour_weights(video)[colour]
    n = max(1, min(2, ball_count(video, colour)))
    xs = np.arange(w.shape[2]) + 0.5
    ys = np.arange(w.shape[1]) + 0.5
    if n == 2:
        splits = [0.5 * (c[0][0] + c[1][0]) for c in (_components(f > 0.5) for f in w) if len(c) >= 2]
        split = float(np.median(splits)) if splits else w.shape[2] / 2
        parts = [xs < split, xs >= split]
    else:
        parts = [np.ones_like(xs, bool)]
    tracks = np.full((n, frames, 2), np.nan)
    for b, cols in enumerate(parts):
        wb = w * cols[None, None, :]
        mass = wb.sum(axis=(1, 2))
        ok = mass > _BALL_AREA / 4
        tracks[b, ok, 0] = (wb.sum(axis=1) @ xs)[ok] / mass[ok]
        tracks[b, ok, 1] = (wb.sum(axis=2) @ ys)[ok] / mass[ok]
    return tracks


def _turns(pos: np.ndarray, eps: float, *, down_to_up_only: bool) -> list[tuple[float, int]]:
    """Frames where the velocity of a 1-D track changes sign (ignoring still steps in between).

    Returns ``(frame, lowest_index)``: the turn time in frames (midpoint of a flat extremum) and an index to read
    the extremum's position at.
    """
    v = np.diff(pos)
    sign = np.where(v > eps, 1, np.where(v < -eps, -1, 0))
    sign[np.isnan(v)] = 0
    turns = []
    last, last_i = 0, -1
    for i, s in enumerate(sign):
        if s == 0:
            continue
        if last != 0 and s != last and (not down_to_up_only or (last == 1 and s == -1)):
            turns.append(((last_i + 1 + i) / 2.0, last_i + 1))
        last, last_i = s, i
    return turns


def visual_events(video: np.ndarray, fps: float, *, colour: str | None = None,
                  spec: WorldSpec = WorldSpec()) -> list[float]:  # fmt: skip
    """Impact times (s) seen in ``video (F, H, W, 3) uint8``: floor bounces and wall hits of every ball."""
    times: list[float] = []
    r = spec.radius
    for track in ball_tracks(video, colour):
        x, y = track[:, 0], track[:, 1]
        for frame, at in _turns(y, 0.2, down_to_up_only=True):  # y grows downwards: down→up is a bounce
            if y[at] > spec.floor_y - 4.0:
                times.append(frame / fps)
        for frame, at in _turns(x, 0.2, down_to_up_only=False):
            if x[at] < r + 3.0 or x[at] > spec.width - r - 3.0:
                times.append(frame / fps)
    return sorted(times)


# --------------------------------------------------------------------------------------------------------------
# Audio detector
# --------------------------------------------------------------------------------------------------------------


def audio_onsets(audio: np.ndarray, space, *, rise_threshold: float = 2.0, level: float = -4.6) -> list[float]:  # noqa: ANN001
    """Onset times (s) of impacts in a waveform at ``space.sample_rate`` (``space``: a ``ToyLatentSpace``).

    Log10 band energies per latent step (the latent space's own filter bank). The *rise* at step ``k`` is the sum
    over bands of how far ``k`` climbs above the loudest of steps ``k-4 … k-2`` (skipping ``k-1``, which an impact
    between two analysis frames already half fills). An onset is a local peak of the rise above
    ``rise_threshold`` whose loudest band reaches ``level``: the steady rolling noise, a decaying ring and
    Griffin-Lim hiss do neither. The onset time is half a step before the peak step (the analysis window reaches
    that far ahead).
    """
    energy = space.band_energies(np.asarray(audio, np.float64))  # (bands, N)
    logs = np.log10(energy + 1e-7)
    n = logs.shape[1]
    loud = logs.max(axis=0)
    rise = np.zeros(n)
    for k in range(2, n):
        before = logs[:, max(0, k - 4) : k - 1].max(axis=1)
        rise[k] = np.maximum(logs[:, k] - before, 0.0).sum()
    onsets: list[float] = []
    last = -10
    for k in range(2, n):
        if rise[k] < rise_threshold or loud[k] < level:
            continue
        if (k + 1 < n and rise[k + 1] > rise[k]) or rise[k - 1] >= rise[k] and k - 1 == last:
            continue
        if k - last <= 2:
            continue
        onsets.append((k - 0.5) / space.audio_rate)
        last = k
    return onsets


# --------------------------------------------------------------------------------------------------------------
# Matching and F1
# --------------------------------------------------------------------------------------------------------------


def merge_events(times: Sequence[float], within: float) -> list[float]:
    """Events closer than ``within`` seconds become one (their mean)."""
    out: list[list[float]] = []
    for t in sorted(times):
        if out and t - out[-1][-1] < within:
            out[-1].append(t)
        else:
            out.append([t])
    return [float(np.mean(g)) for g in out]


@dataclass(frozen=True, slots=True)
class Match:
    tp: int
    fp: int  # in ``b`` without a partner in ``a``
    fn: int  # in ``a`` without a partner in ``b``

    def __add__(self, other: Match) -> Match:
        return Match(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 1.0 if denom == 0 else 2 * self.tp / denom

    @property
    def precision(self) -> float:
        return 1.0 if self.tp + self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        return 1.0 if self.tp + self.fn == 0 else self.tp / (self.tp + self.fn)


def match_events(a: Sequence[float], b: Sequence[float], *, fps: float, frames: int) -> Match:
    """One-to-one matching of event times within ``±1`` frame (closest pairs first).

    Only events inside ``[1, frames - 2]`` frames count: outside it the visual detector cannot see an impact
    (it needs a frame on each side). A matched pair counts if either time is inside; a lone event if it is inside
    by at least half the tolerance (so an impact just outside is not held against the other detector).
    """
    tol = 1.0 / fps + 1e-9
    a = merge_events(a, 1.0 / fps)
    b = merge_events(b, 1.0 / fps)
    lo, hi = 1.0 / fps, (frames - 2) / fps
    pairs = sorted((abs(x - y), i, j) for i, x in enumerate(a) for j, y in enumerate(b) if abs(x - y) <= tol)
    used_a: set[int] = set()
    used_b: set[int] = set()
    tp = 0
    for _, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        if lo <= a[i] <= hi or lo <= b[j] <= hi:
            tp += 1
    inside = lambda t: lo + tol / 2 <= t <= hi - tol / 2  # noqa: E731
    fn = sum(1 for i, t in enumerate(a) if i not in used_a and inside(t))
    fp = sum(1 for j, t in enumerate(b) if j not in used_b and inside(t))
    return Match(tp, fp, fn)


def sync_f1(visual: Sequence[Sequence[float]], audio: Sequence[Sequence[float]], *, fps: float, frames: int
            ) -> Match:  # fmt: skip
    """Summed matching of per-clip visual events against per-clip audio onsets."""
    total = Match(0, 0, 0)
    for v, a in zip(visual, audio, strict=True):
        total = total + match_events(v, a, fps=fps, frames=frames)
    return total


def shuffled(items: Sequence, seed: int) -> list:
    """``items`` permuted so that no item stays in place (a derangement; identity for fewer than two)."""
    n = len(items)
    if n < 2:
        return list(items)
    perm = np.random.default_rng(seed).permutation(n)
    rolled = np.roll(perm, 1)  # perm[i] -> perm[i-1]: a single cycle, no fixed point
    order = np.empty(n, int)
    order[perm] = rolled
    return [items[k] for k in order]


# --------------------------------------------------------------------------------------------------------------
# Scoring a set of clips (generated or ground truth)
# --------------------------------------------------------------------------------------------------------------


def score_clips(videos: Sequence[np.ndarray], audios: Sequence[np.ndarray], scenes: Sequence, space,  # noqa: ANN001
                *, seed: int = 0) -> dict:  # fmt: skip
    """Sync F1 (and its shuffled baseline), colour and count adherence of decoded clips against their scenes."""
    fps, frames = space.fps, space.frames
    vis = [visual_events(v, fps) for v in videos]
    aud = [audio_onsets(a, space) for a in audios]
    sync = sync_f1(vis, aud, fps=fps, frames=frames)
    base = sync_f1(vis, shuffled(aud, seed), fps=fps, frames=frames)
    colours = [dominant_colour(v)[0] for v in videos]
    counts = [ball_count(v, c) if c else 0 for v, c in zip(videos, colours, strict=True)]
    return {
        "clips": len(videos),
        "sync_f1": round(sync.f1, 4),
        "sync_precision": round(sync.precision, 4),
        "sync_recall": round(sync.recall, 4),
        "sync_counts": {"tp": sync.tp, "fp": sync.fp, "fn": sync.fn},
        "shuffled_f1": round(base.f1, 4),
        "colour_adherence": round(float(np.mean([c == s.colour for c, s in zip(colours, scenes, strict=True)])), 4),
        "count_adherence": round(float(np.mean([n == s.count for n, s in zip(counts, scenes, strict=True)])), 4),
        "visual_events_per_clip": round(float(np.mean([len(v) for v in vis])), 3),
        "audio_onsets_per_clip": round(float(np.mean([len(a) for a in aud])), 3),
    }


def ground_truth_check(clips: Sequence, space) -> dict:  # noqa: ANN001
    """The detectors against the world's own event times, on raw clips and after a latent round trip."""
    fps, frames = space.fps, space.frames
    truth = [[e[0] for e in c.events] for c in clips]
    vis = [visual_events(c.video, fps) for c in clips]
    aud = [audio_onsets(c.audio, space) for c in clips]
    rt_aud = [audio_onsets(space.decode_audio(space.encode_audio(c.audio)), space) for c in clips]
    rt_vis = [visual_events(space.decode_video(space.encode_video(c.video)), fps) for c in clips]
    return {
        "visual_vs_truth_f1": round(sync_f1(truth, vis, fps=fps, frames=frames).f1, 4),
        "audio_vs_truth_f1": round(sync_f1(truth, aud, fps=fps, frames=frames).f1, 4),
        "latent_roundtrip_visual_vs_truth_f1": round(sync_f1(truth, rt_vis, fps=fps, frames=frames).f1, 4),
        "latent_roundtrip_audio_vs_truth_f1": round(sync_f1(truth, rt_aud, fps=fps, frames=frames).f1, 4),
        "events_per_clip": round(float(np.mean([len(t) for t in truth])), 3),
    }


# --------------------------------------------------------------------------------------------------------------
# Evaluating a checkpoint
# --------------------------------------------------------------------------------------------------------------

EVAL_WORLD_SEED = 1_000_003  # held out: training draws from ToyWorld(seed) with small seeds


def evaluate(ckpt: str | Path | None = None, *, n_prompts: int = 48, seed: int = 0, steps: int | None = None,
             cfg_text: float | None = None, cfg_audio: float | None = None, shift: float | None = None,
             batch_size: int = 16, audio_pass: bool | None = None, cfg_picture: float | None = None,
             ema: bool = True, out_dir: str | Path | None = None, world_picture: bool = False) -> dict:  # fmt: skip
    """Generate ``n_prompts`` held-out toy prompts with the sampler and score them (see the module docstring).

    ``ckpt`` is a checkpoint directory (default: the shipped ``model_core/checkpoints/tiny``). With ``out_dir``,
    the first six samples are written there as MP4s for viewing/listening, with ``samples.png``, a contact sheet
    of each beside the world's own clip of its prompt (:func:`model_core.sheet.contact_sheet`).
    With ``world_picture``, the report's ``audio_given_world_picture`` scores the sampler's audio pass alone,
    given the world's own clips of the prompts: the sync the sound part reaches on a perfect picture, apart
    from the picture the model draws.
    """
    import time

    from model_core.checkpoint import load_checkpoint
    from model_core.latents import latent_space
    from model_core.toyworld import ToyWorld

    loaded = load_checkpoint(ckpt, ema=ema)
    space = latent_space(loaded.config)
    world = ToyWorld(EVAL_WORLD_SEED + seed, space.world)
    truth = [world.clip(i) for i in range(n_prompts)]
    scenes = [c.scene for c in truth]
    t0 = time.perf_counter()
    videos, audios = loaded.generate(
        [c.caption for c in truth], seed=seed, steps=steps, cfg_text=cfg_text, cfg_audio=cfg_audio,
        shift=shift, batch_size=batch_size, audio_pass=audio_pass, cfg_picture=cfg_picture,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    report = {
        "checkpoint": str(loaded.path),
        "step": loaded.meta.get("step"),
        "weights": "ema" if loaded.is_ema else "raw",
        "n_prompts": n_prompts,
        "seed": seed,
        "sampler": loaded.sampling(steps=steps, cfg_text=cfg_text, cfg_audio=cfg_audio, shift=shift,
                                   audio_pass=audio_pass, cfg_picture=cfg_picture),
        "generated": score_clips(videos, audios, scenes, space, seed=seed),
        "ground_truth": {**score_clips([c.video for c in truth], [c.audio for c in truth], scenes, space, seed=seed),
                         **ground_truth_check(truth, space)},  # fmt: skip
        "sampling_seconds": round(seconds, 1),
    }
    if world_picture:
        pictures = [c.video for c in truth]
        sounds = loaded.sound_for([c.caption for c in truth], pictures, seed=seed, steps=steps, cfg_text=cfg_text,
                                  shift=shift, cfg_picture=cfg_picture, batch_size=batch_size)  # fmt: skip
        report["audio_given_world_picture"] = score_clips(pictures, sounds, scenes, space, seed=seed)
    if out_dir is not None:
        from model_core.sheet import contact_sheet
        from model_core.toyworld import write_mp4

        out = Path(out_dir)
        shown = range(min(6, n_prompts))
        for i in shown:
            name = f"{i:02d}_{truth[i].caption.replace(' ', '_')}.mp4"
            write_mp4(out / name, videos[i], audios[i], fps=space.fps, sample_rate=space.sample_rate)
        contact_sheet(out / "samples.png", [truth[i].caption for i in shown],
                      [(truth[i].video, truth[i].audio) for i in shown], [(videos[i], audios[i]) for i in shown])
        report["samples_dir"] = str(out)
    return report
