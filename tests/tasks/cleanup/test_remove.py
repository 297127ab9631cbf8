"""Removal alone, given the masks: crops, bounded window, temporal vs spatial fill, the Inpainter seam.

Clips are generated here with ffmpeg lavfi, decoded once, and overlaid in memory with exact masks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.cleanup.remove import (
    QUEUED,
    HarmonicInpainter,
    Inpainter,
    OpenCVInpainter,
    RemovalSettings,
    _median_first,
    regions,
    remove_overlays,
)
from tasks.cleanup.video_io import iter_frames
from tasks.media.ffmpeg import run_ffmpeg

W, H, N = 192, 108, 40


def _picture(tmp: Path, width: int) -> np.ndarray:
    """A frame of ffmpeg's lavfi mandelbrot source, drawn at half size and enlarged (footage-like detail)."""
    out = tmp / "picture.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", f"mandelbrot=size={width // 2}x{H // 2}:rate=24:start_scale=0.6",
                "-frames:v", "1", "-vf", f"scale={width}:{H}:flags=bicubic", "-c:v", "libx264", "-crf", "6",
                "-pix_fmt", "yuv444p", out])  # fmt: skip
    return next(iter_frames(out))[1]


@pytest.fixture(scope="module")
def panning(tmp_path_factory) -> list[np.ndarray]:
    """The picture panning left 2 px a frame: what a static box hides now, other frames show."""
    big = _picture(tmp_path_factory.mktemp("panning"), W + 2 * N)
    return [np.ascontiguousarray(big[:, 2 * i : 2 * i + W]) for i in range(N)]


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> list[np.ndarray]:
    """A still shot with a little sensor noise: only masks that change reveal what is under them."""
    pic = _picture(tmp_path_factory.mktemp("still"), W).astype(np.int16)
    rng = np.random.default_rng(3)
    return [np.clip(pic + rng.integers(-3, 4, pic.shape), 0, 255).astype(np.uint8) for _ in range(N)]


def _box_mask(x: int, y: int, w: int, h: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y : y + h, x : x + w] = True
    return m


def _psnr(a: list[np.ndarray], b: list[np.ndarray], masks: list[np.ndarray]) -> float:
    err = np.concatenate([(x.astype(np.float64) - y)[m].ravel() for x, y, m in zip(a, b, masks, strict=True)])
    return float(10 * np.log10(255**2 / max(np.mean(err**2), 1e-9)))


def _paint(frames: list[np.ndarray], masks: list[np.ndarray], colour=(230, 20, 40)) -> list[np.ndarray]:
    out = []
    for f, m in zip(frames, masks, strict=True):
        g = f.copy()
        g[m] = colour
        out.append(g)
    return out


def _telea(frames: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
    return [
        cv2.inpaint(f, m.astype(np.uint8), 5, cv2.INPAINT_TELEA) for f, m in zip(frames, masks, strict=True)
    ]


def test_pixels_outside_the_holes_are_bit_identical_to_the_input(panning):
    masks = [_box_mask(10, 8, 40, 16) | _box_mask(30 + i, 80, 90, 12) for i in range(N)]
    painted = _paint(panning, masks)
    out = list(remove_overlays(iter(painted), lambda i: masks[i]))
    assert len(out) == N
    for o, p, m in zip(out, painted, masks, strict=True):
        assert np.array_equal(o[~m], p[~m])
        assert not np.array_equal(o[m], p[m])  # and the holes were filled


def test_regions_filled_in_parallel_give_exactly_the_serial_result(panning):
    """Three regions a frame (a static box, a moving bar, a small mark), and three frames with none: two threads,
    which fill the next frame's regions while this frame's still run, give the same bytes as one."""
    masks = [_box_mask(10, 8, 40, 16) | _box_mask(30 + i, 80, 90, 12) | _box_mask(150, 10, 20, 20)
             if not 20 <= i < 23 else np.zeros((H, W), bool) for i in range(N)]
    painted = _paint(panning, masks)
    assert len(regions(masks[0], 8)) == 3  # with an 8 px margin the three stay apart
    runs = []
    for workers in (1, 2):
        stats: list = []
        cfg = RemovalSettings(workers=workers, margin=8)
        out = list(remove_overlays(iter(painted), lambda i: masks[i], settings=cfg, stats_out=stats))
        runs.append((out, stats[0]))
    assert runs[0][1] == runs[1][1] and runs[0][1].hole_pixels == sum(int(m.sum()) for m in masks)
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][0], runs[1][0], strict=True))


def test_a_static_box_over_a_pan_is_filled_from_other_frames_far_better_than_inpainting(panning):
    masks = [_box_mask(70, 30, 36, 30)] * N
    painted = _paint(panning, masks)
    stats: list = []
    out = list(remove_overlays(iter(painted), lambda i: masks[i], stats_out=stats))
    ours, telea = _psnr(out, panning, masks), _psnr(_telea(painted, masks), panning, masks)
    assert ours > telea + 8, (ours, telea)
    assert stats[0].from_neighbours > 0.8 * stats[0].hole_pixels


def test_subtitle_like_text_over_a_still_shot_is_taken_from_frames_between_cues(still):
    """Cues of 12 frames with 2-frame gaps (like burned-in subtitles): gaps and other cues show the shot."""
    masks = []
    for i in range(N):
        m = np.zeros((H, W), bool)
        if i % 12 < 10:
            x = 20 + 17 * ((i // 12) % 3)
            for k in range(6):  # six "glyphs" of a line
                m[84:98, x + 22 * k : x + 22 * k + 12] = True
        masks.append(m)
    painted = _paint(still, masks, colour=(250, 250, 250))
    out = list(remove_overlays(iter(painted), lambda i: masks[i] if masks[i].any() else None))
    ours, telea = _psnr(out, still, masks), _psnr(_telea(painted, masks), still, masks)
    assert ours > telea + 6, (ours, telea)


def test_gap_frames_are_sources_even_when_each_frames_mask_differs_at_the_edges(still):
    """Detected subtitle masks differ from frame to frame at the strokes' edges: the neighbours in the same cue
    then each show a few edge pixels. They must not use up the sources before the frames between cues, which
    show the whole line (``reveal``); without that first pass the fill is far worse."""
    rng = np.random.default_rng(5)
    ring = np.ones((3, 3), np.uint8)
    masks = []
    for i in range(N):
        m = np.zeros((H, W), bool)
        if i % 20 < 17:
            x = 20 + 17 * ((i // 20) % 3)
            for k in range(6):
                m[84:98, x + 22 * k : x + 22 * k + 12] = True
            edge = cv2.dilate(m.astype(np.uint8), ring).astype(bool) & ~m
            m |= edge & (rng.random((H, W)) < 0.5)  # this frame's strokes: half the edge pixels, at random
        masks.append(m)
    painted = _paint(still, masks, colour=(250, 250, 250))
    scores = {}
    for reveal in (0.5, 2.0):  # 2.0: no frame can show twice what is uncovered, the first pass takes none
        out = list(remove_overlays(iter(painted), lambda i: masks[i] if masks[i].any() else None,
                                   settings=RemovalSettings(reveal=reveal)))  # fmt: skip
        scores[reveal] = _psnr(out, still, masks)
    assert scores[0.5] > scores[2.0] + 3, scores


def test_the_window_is_bounded_and_holes_are_asked_once_in_order(panning):
    reach = 5
    drawn: list[int] = []
    asked: list[int] = []

    def frames():
        for i, f in enumerate(panning):
            drawn.append(i)
            yield f

    def holes(i: int) -> np.ndarray:
        assert drawn and drawn[-1] == i  # asked right after frame i was drawn (edit ops rely on it)
        asked.append(i)
        return _box_mask(60, 40, 30, 20)

    gen = remove_overlays(frames(), holes, settings=RemovalSettings(reach=reach))
    for k, _ in enumerate(gen):
        # frame k is out; QUEUED frames (k and the next ones) were queued with the frames they may take from
        assert len(drawn) <= k + reach + QUEUED
    assert asked == list(range(N))


def test_harmonic_fill_reproduces_a_smooth_ramp_and_touches_only_the_hole():
    ys, xs = np.mgrid[0:80, 0:120]
    ramp = np.dstack([xs * 2, ys * 3, 100 + xs + ys]).astype(np.uint8)
    hole = np.zeros((80, 120), bool)
    hole[20:60, 30:90] = True
    damaged = ramp.copy()
    damaged[hole] = 0
    filled = HarmonicInpainter().fill(damaged, hole)
    assert np.array_equal(filled[~hole], damaged[~hole])
    err = np.abs(filled.astype(int) - ramp)[hole]
    assert err.mean() < 1.5 and err.max() <= 6, (err.mean(), err.max())
    telea = OpenCVInpainter().fill(damaged, hole)
    assert err.mean() < np.abs(telea.astype(int) - ramp)[hole].mean()


def test_a_custom_inpainter_gets_a_crop_and_its_fill_is_used(panning):
    calls: list[tuple[tuple[int, ...], int]] = []

    class Grey:
        name = "grey"

        def fill(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
            calls.append((frame.shape, int(hole.sum())))
            out = frame.copy()
            out[hole] = 128
            return out

    assert isinstance(Grey(), Inpainter) and isinstance(HarmonicInpainter(), Inpainter)
    masks = [_box_mask(4, 4, 20, 12)] * 6  # nothing moves under it within 6 frames of a pan at the edge
    frames = [np.full((H, W, 3), 60, np.uint8) for _ in range(6)]
    out = list(remove_overlays(iter(frames), lambda i: masks[i], inpainter=Grey()))
    assert calls and all(shape[0] < H and shape[1] < W for shape, _ in calls)  # a crop, not the frame
    inner = cv2.erode(masks[0].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # inside the feather
    assert (out[0][inner] == 128).all()


def test_regions_pad_and_merge_nearby_groups():
    hole = np.zeros((100, 200), bool)
    hole[10:20, 10:30] = True
    hole[10:20, 40:60] = True  # 10 px from the first: same region
    hole[80:90, 150:190] = True
    boxes = regions(hole, margin=16)  # then snapped outward to multiples of 16 px
    assert boxes == ((0, 48, 0, 80), (64, 100, 128, 200))


def test_median_of_the_first_valid_candidates():
    values = np.array([[[1.0] * 3, [5.0] * 3], [[3.0] * 3, [7.0] * 3], [[100.0] * 3, [9.0] * 3]], np.float32)
    valid = np.array([[True, False], [True, True], [True, False]])
    med, got = _median_first(values, valid, keep=2)  # pixel 0: first two valid (1, 3); pixel 1: only 7
    assert got.tolist() == [True, True]
    assert med[:, 0].tolist() == [2.0, 7.0]
