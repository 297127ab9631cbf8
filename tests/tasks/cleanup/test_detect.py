"""Detection quality on clips generated here (ffmpeg lavfi + overlays with exact truth) and on the shared
real clips.

IoU is pixel IoU against the overlay's true mask (alpha > 0.02); false-positive area is the fraction of the
frame flagged outside the truth (grown by 2 px: the dark outline a removal mask must cover) or, on a clean
clip, anywhere.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.cleanup.detect import (
    _text_lines,
    detect,
    detect_moving_marks,
    detect_static_marks,
    detect_subtitles,
    estimate_blend,
)
from tasks.cleanup.errors import CleanupError
from tasks.cleanup.remove import invert_blend
from tasks.cleanup.synthetic import (
    CJK_LINES,
    LATIN_LINES,
    Layer,
    SubtitleTrackSpec,
    composite,
    logo_layer,
    overlay_frames,
)
from tasks.cleanup.video_io import iter_frames, open_source
from tasks.media.ffmpeg import FrameWriter, VideoEncoding, run_ffmpeg
from tests.conftest import shared_fixture

W, H, FPS, N = 256, 144, Fraction(24), 72
LOSSLESS = VideoEncoding(crf=8)
K5 = np.ones((5, 5), np.uint8)

# Every lavfi source is pinned: `gradients` draws random colours (even with `seed`) unless they are given, and
# `life` a random board unless seeded — an unpinned source made the old static-mark test pass or fail by the
# draw.
MOVING = {
    "fractal_and_pattern": [
        f"mandelbrot=size={W}x{H}:rate=24:start_scale=0.5",
        f"testsrc2=size={W}x{H}:rate=24,scroll=horizontal=0.02:vertical=0.01",
    ],
    "gradients": [
        f"gradients=size={W}x{H}:rate=24:speed=0.08:n=4:seed=3:c0=#f0f0f0:c1=#202020:c2=#ff8000:c3=#0040ff",
        f"cellauto=size={W}x{H}:rate=24:rule=110:seed=5,format=rgb24,"
        f"colorchannelmixer=rr=0.7:gg=0.5:bb=0.9",
    ],
}
def _encode(path: Path, frames: list[np.ndarray]) -> Path:
    with FrameWriter(path, width=W, height=H, fps=FPS, encoding=LOSSLESS) as wr:
        for f in frames:
            wr.write(f)
    return path


def _lavfi(tmp: Path, name: str, sources: list[str]) -> list[np.ndarray]:
    """``N`` frames: the sources one after another (equal shares), or one filter graph."""
    out = tmp / f"{name}.mp4"
    n = N // len(sources)
    args: list[str] = []
    for src in sources:
        args += ["-f", "lavfi", "-i", src]
    chains = ";".join(
        f"[{i}:v]trim=end_frame={n},setpts=PTS-STARTPTS,scale={W}:{H},format=yuv420p[v{i}]"
        for i in range(len(sources))
    )
    inputs = "".join(f"[v{i}]" for i in range(len(sources)))
    graph = f"{chains};{inputs}concat=n={len(sources)}:v=1:a=0[out]"
    run_ffmpeg([*args, "-filter_complex", graph, "-map", "[out]", "-frames:v", str(N), "-c:v", "libx264",
                "-crf", "8", "-pix_fmt", "yuv420p", out])  # fmt: skip
    return [f for _, f in iter_frames(out)]


def _static_shot(tmp: Path) -> list[np.ndarray]:
    """A static camera (the carphone case): a frozen fractal with sharp edges, a frozen test card pinned near
    the bottom-right corner (static text and edges where marks sit), a subject moving across the middle, and
    seeded sensor noise."""
    out = tmp / "static_shot.mp4"
    freeze = f"trim=end_frame=1,loop=loop={N}:size=1,setpts=N/24/TB"
    graph = (f"[0:v]{freeze}[bg];[1:v]{freeze}[poster];[bg][poster]overlay=x={W - 70}:y={H - 42}[scene];"
             "[scene][2:v]overlay=x='90+40*sin(t*2)':y=60:shortest=1,noise=alls=8:allf=t:all_seed=17,"
             "format=yuv420p[out]")  # fmt: skip
    run_ffmpeg(["-f", "lavfi", "-i", f"mandelbrot=size={W}x{H}:rate=24",
                "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=24",
                "-f", "lavfi", "-i", "mandelbrot=size=80x56:rate=24:start_scale=0.3",
                "-filter_complex", graph, "-map", "[out]", "-frames:v", str(N),
                "-c:v", "libx264", "-crf", "8", "-pix_fmt", "yuv420p", out])  # fmt: skip
    return [f for _, f in iter_frames(out)]


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    union = (pred | truth).sum()
    return float((pred & truth).sum() / union) if union else 1.0


def _outside(pred: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of the frame flagged farther than 2 px from the truth."""
    return float((pred & ~cv2.dilate(truth.astype(np.uint8), K5).astype(bool)).mean())


def _logos() -> tuple[Layer, Layer]:
    semi = logo_layer(
        H, W, box=(W - 92, 8, 84, 30), opacity=0.45, colour=(255, 255, 255), text_colour=(30, 30, 30)
    )
    opaque = logo_layer(H, W, box=(8, 8, 70, 26), opacity=1.0, colour=(200, 30, 40))
    return semi, opaque


# ---------------------------------------------------------------------------------------------- determinism


def test_generated_clips_are_identical_run_to_run(tmp_path):
    """The flaky static-mark tests came from a lavfi source drawing new random colours per run."""
    digests = []
    for run in range(2):
        d = tmp_path / str(run)
        d.mkdir()
        frames = _lavfi(d, "g", MOVING["gradients"])
        digests.append(hashlib.sha256(np.stack(frames).tobytes()).hexdigest())
    assert digests[0] == digests[1]


# ---------------------------------------------------------------------------------------------- static marks


def _logo_clip(tmp: Path, background: str) -> dict:
    clean = _lavfi(tmp, "clean", MOVING[background])
    semi, opaque = _logos()
    frames = [f for f, _ in overlay_frames(iter(clean), FPS, layers=(semi, opaque))]
    return {"src": _encode(tmp / "logos.mp4", frames), "semi": semi, "opaque": opaque}


@pytest.fixture(scope="module")
def logo_clip(tmp_path_factory):
    return _logo_clip(tmp_path_factory.mktemp("logos"), "fractal_and_pattern")


def test_an_opaque_marks_anti_aliased_rim_is_filled_not_inverted(logo_clip):
    """The opaque badge given its true mask: its edge pixels (α < 1, anti-aliased) go to the fill with it.
    Inverted from their own noisy ratio (17 of its 35 were), they left specks round a real caption's emoji."""
    opaque = logo_clip["opaque"]
    est = estimate_blend(logo_clip["src"], opaque.mask)
    rim = opaque.mask & (opaque.alpha < 0.99)
    assert rim.any()
    assert est.opaque[est.mask].all(), est.opaque[est.mask].mean()


@pytest.mark.slow
def test_static_marks_over_moving_pictures_have_high_iou_and_little_else(logo_clip):
    truth = logo_clip["semi"].mask | logo_clip["opaque"].mask
    found = detect_static_marks(logo_clip["src"])
    # measured 0.92; 0.76 before the damping refinement (a scene edge stuck to the opaque badge's outline
    # pulled in a wedge of fractal, and its left cap was cut off)
    assert _iou(found, truth) >= 0.85, _iou(found, truth)
    assert _outside(found, truth) < 0.005
    for layer in (logo_clip["semi"], logo_clip["opaque"]):
        assert _iou(found & layer.mask, layer.mask) >= 0.8  # each mark on its own, not one carrying the other


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known miss: a white see-through badge over near-white gradients then a high-contrast cellular "
    "texture; its outline is too incoherent (median 0.84) to form a blob",
)
def test_see_through_badge_over_bright_texture(tmp_path):
    clip = _logo_clip(tmp_path, "gradients")
    found = detect_static_marks(clip["src"])
    assert _iou(found & clip["opaque"].mask, clip["opaque"].mask) >= 0.8  # the opaque one is found (0.98)
    assert _iou(found & clip["semi"].mask, clip["semi"].mask) >= 0.8  # measured 0.0


@pytest.mark.slow
def test_detection_is_deterministic_and_the_estimate_covers_the_mark(logo_clip):
    a = detect(logo_clip["src"], watermark="auto", subtitles="none")
    b = detect(logo_clip["src"], watermark="auto", subtitles="none")
    assert a.static is not None and np.array_equal(a.static.mask, b.static.mask)
    truth = logo_clip["semi"].mask | logo_clip["opaque"].mask
    # the estimate (the removal region) is the mark plus a 1 px margin for anti-aliased edges
    assert (a.static.mask & truth).sum() >= 0.95 * truth.sum()  # measured 0.97
    assert _outside(a.static.mask, truth) < 0.005
    # the see-through badge is inverted, the opaque one filled
    assert a.static.opaque[logo_clip["opaque"].mask].mean() > 0.8
    assert a.static.opaque[cv2.erode(logo_clip["semi"].mask.astype(np.uint8), K5).astype(bool)].mean() < 0.2


def test_detect_decodes_once_and_agrees_with_its_parts(logo_clip, monkeypatch):
    """detect() feeds persistence, the held frames of the blend estimate and the subtitle scan from one
    decode (three before: ~3 s of a 720p clip's ~10 s detection), with the same result as the parts."""
    import tasks.cleanup.detect as detect_module

    steps: list[int] = []
    real = detect_module.iter_frames

    def counting(path, *, step=1):  # noqa: ANN001, ANN202
        steps.append(step)
        return real(path, step=step)

    monkeypatch.setattr(detect_module, "iter_frames", counting)
    det = detect(logo_clip["src"], watermark="auto", subtitles="auto")
    assert steps == [1]
    monkeypatch.undo()
    ref = estimate_blend(logo_clip["src"], detect_static_marks(logo_clip["src"]))
    assert det.static is not None and np.array_equal(det.static.mask, ref.mask)
    assert np.array_equal(det.static.slope, ref.slope) and np.array_equal(det.static.offset, ref.offset)
    assert det.subtitles is not None
    assert det.subtitles.packed == detect_subtitles(open_source(logo_clip["src"])).packed


def test_far_apart_marks_are_estimated_in_their_own_crops():
    from tasks.cleanup.detect import _mark_crops

    mask = np.zeros((720, 1280), bool)
    mask[30:100, 30:250] = True  # a logo in each top corner: one crop would span the frame's width
    mask[30:110, 980:1250] = True
    assert _mark_crops(mask, pad=6) == [(24, 24, 256, 106), (974, 24, 1256, 116)]
    mask[30:100, 250:990] = True  # joined: one piece, one crop
    assert _mark_crops(mask, pad=6) == [(24, 24, 1256, 116)]
    near = np.zeros((100, 100), bool)
    near[10:20, 10:20] = near[10:20, 28:40] = True  # 8 px apart: their padded crops meet and merge
    assert _mark_crops(near, pad=6) == [(4, 4, 46, 26)]


@pytest.fixture(scope="module")
def static_shot(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("static")
    clean = _static_shot(tmp)
    _, opaque = _logos()
    frames = [composite(f, opaque) for f in clean]
    return {"clean": _encode(tmp / "clean.mp4", clean), "logo": _encode(tmp / "logo.mp4", frames),
            "opaque": opaque}  # fmt: skip


@pytest.mark.slow
def test_static_shot_scene_is_not_a_mark(static_shot):
    found = detect_static_marks(static_shot["clean"])
    assert found.mean() < 0.005, found.mean()


@pytest.mark.slow
def test_opaque_badge_over_a_static_shot_is_found(static_shot):
    truth = static_shot["opaque"].mask
    found = detect_static_marks(static_shot["logo"])
    assert _iou(found, truth) >= 0.8, _iou(found, truth)
    assert _outside(found, truth) < 0.005


def test_user_mask_overrides_detection(tmp_path):
    clean = _lavfi(tmp_path, "clean", MOVING["fractal_and_pattern"])
    semi, opaque = _logos()
    frames = [f for f, _ in overlay_frames(iter(clean), FPS, layers=(semi, opaque))]
    src = _encode(tmp_path / "logos.mp4", frames)
    user = np.zeros((H, W), bool)
    user[100:130, 20:80] = True  # a region the user wants gone, nowhere near the marks
    det = detect(src, watermark=user, subtitles="none")
    grown = cv2.dilate(user.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert det.static is not None and (det.static.mask >= user).all() and not (det.static.mask & ~grown).any()
    with pytest.raises(CleanupError, match="10x10"):
        detect(src, watermark=np.ones((10, 10), bool))


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known weakness of --moving (off by default): per 1 s segment IoU measured 0.87, 0.55 and 0.0 "
    "(a near-static stretch of fractal zoom taken); 0.0 on every segment before the coherence/damping "
    "scoring",
)
def test_a_mark_that_jumps_is_found_per_segment(tmp_path):
    """An AI-generator style mark: small, in one corner for three seconds, then in the opposite one."""
    shots = MOVING["fractal_and_pattern"]
    clean = [*_lavfi(tmp_path, "a", shots), *_lavfi(tmp_path, "b", shots)]
    first = logo_layer(H, W, box=(8, 8, 44, 16), opacity=1.0, colour=(200, 30, 40), text="AI")
    second = logo_layer(H, W, box=(W - 52, H - 24, 44, 16), opacity=1.0, colour=(200, 30, 40), text="AI")
    frames = [composite(f, first if i < N else second) for i, f in enumerate(clean)]
    src = _encode(tmp_path / "jump.mp4", frames)
    found = detect_moving_marks(open_source(src), np.zeros((H, W), bool), segment_seconds=1.0)
    assert found, "the jumping mark was not found"
    covered = np.zeros(2 * N, bool)
    for start, end, mask in found:
        truth = first.mask if end < N else second.mask
        assert start >= N or end < N, (start, end)  # a segment does not straddle the jump
        assert _iou(mask, truth) >= 0.7, (start, end, _iou(mask, truth))
        covered[start : end + 1] = True
    assert covered.mean() >= 0.6


# ------------------------------------------------------------------------------------------------- subtitles


@pytest.fixture(scope="module", params=["latin", "cjk"])
def subtitle_clip(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"subs-{request.param}")
    clean = _lavfi(tmp, "clean", MOVING["fractal_and_pattern"])
    lines = LATIN_LINES if request.param == "latin" else CJK_LINES
    pairs = list(overlay_frames(iter(clean), FPS, subtitles=SubtitleTrackSpec(lines, cue_seconds=1.0)))
    return {"src": _encode(tmp / "subs.mp4", [f for f, _ in pairs]), "masks": [m for _, m in pairs],
            "clean": _encode(tmp / "clean.mp4", clean)}  # fmt: skip


def test_subtitle_masks_cover_glyphs_and_outline_but_not_the_band(subtitle_clip):
    track = detect_subtitles(open_source(subtitle_clip["src"]))
    bands = detect_subtitles(open_source(subtitle_clip["src"]), whole_band=True)
    inter = union = 0.0
    outside = []
    for i, truth in enumerate(subtitle_clip["masks"]):
        found = track.mask(i)
        found = np.zeros_like(truth) if found is None else found
        grown = cv2.dilate(truth.astype(np.uint8), K5).astype(bool)
        inter += (found & grown).sum()
        union += (found | truth).sum()
        outside.append(_outside(found, truth))
        band = bands.mask(i)
        if truth.any() and band is not None:
            # the strokes and their outline, not the line's whole band (measured at most 0.47 Latin, 0.49 CJK)
            assert found.sum() < 0.6 * band.sum()
    # bench scoring (truth grown by 2 px counts as covered); measured 0.93 Latin, 0.91 CJK
    assert inter / union >= 0.8, inter / union
    assert np.mean(outside) < 0.005
    assert len(track.cues) == 3  # three one-second cues with gaps between


def test_subtitles_are_not_found_in_a_clean_clip(subtitle_clip):
    track = detect_subtitles(open_source(subtitle_clip["clean"]))
    area = [0.0 if track.mask(i) is None else track.mask(i).mean() for i in range(len(track.packed))]
    assert np.mean(area) < 0.005


# ---------------------------------------------------------------------------------------- shared real clips


def _real(name: str, frames: int) -> tuple[Path, list[np.ndarray]]:
    path = shared_fixture("video", name)
    return path, [f for i, f in iter_frames(path) if i < frames]


def _bench_logos(h: int, w: int) -> tuple[Layer, Layer]:
    """The benchmark's two badges (bench/cleanup.py overlay_classes)."""
    s = min(h, w)
    bw, bh = int(s * 0.33), int(s * 0.12)
    semi = logo_layer(h, w, box=(w - bw - s // 20, s // 20, bw, bh), opacity=0.45, colour=(255, 255, 255),
                      text_colour=(30, 30, 30))  # fmt: skip
    opaque = logo_layer(h, w, box=(s // 20, s // 20, bw, bh), opacity=1.0, colour=(200, 30, 40),
                        text_colour=(255, 255, 255))  # fmt: skip
    return semi, opaque


def _box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _write_real(path: Path, frames: list[np.ndarray], fps: Fraction) -> Path:
    h, w = frames[0].shape[:2]
    with FrameWriter(path, width=w, height=h, fps=fps, encoding=LOSSLESS) as wr:
        for f in frames:
            wr.write(f)
    return path


@pytest.mark.slow
def test_tears_of_steel_marks_and_clean_clip(tmp_path):
    real, clean = _real("tears_of_steel_640x360.mp4", 96)
    assert detect_static_marks(real).mean() < 0.005  # measured 0.0 (was 0.1 %)
    for layer in _bench_logos(360, 640):
        src = _write_real(tmp_path / "tos.mp4", [composite(f, layer) for f in clean], Fraction(24))
        found = detect_static_marks(src)
        # measured 0.99 (semi) and 0.98 (opaque) on 144 frames; strips of static scene made it 0.63 before
        assert _iou(found, layer.mask) >= 0.85, _iou(found, layer.mask)
        assert _outside(found, layer.mask) < 0.005


@pytest.mark.slow
def test_carphone_static_camera_clean_clip_and_opaque_badge(tmp_path):
    real, clean = _real("carphone_pristine.mp4", 144)
    h, w = clean[0].shape[:2]
    # the face and jacket edges of the (moving) speaker were 5.5 % of the frame before
    assert detect_static_marks(real).mean() < 0.005
    _, opaque = _bench_logos(h, w)
    src = _write_real(tmp_path / "cp.mp4", [composite(f, opaque) for f in clean], open_source(real).fps)
    found = detect_static_marks(src)
    assert _iou(found, opaque.mask) >= 0.85, _iou(found, opaque.mask)  # measured 0.93; was 0 (not found)
    assert _outside(found, opaque.mask) < 0.005
    # over this static shot the grown margin's α estimates ~0.06 with α·W carrying the picture's own edges:
    # it is filled with the badge, not inverted (the bench's removal: 27.5 → 31.3 dB)
    est = estimate_blend(src, found)
    assert est.opaque[est.mask].mean() >= 0.95, est.opaque[est.mask].mean()


@pytest.fixture(scope="module")
def fractal_badge(tmp_path_factory):
    """A white badge at α = 0.45 (no text) over 72 frames of a zooming fractal."""
    tmp = tmp_path_factory.mktemp("blend")
    clean = _lavfi(tmp, "blend", MOVING["fractal_and_pattern"][:1])
    layer = logo_layer(H, W, box=(W - 110, 10, 96, 34), opacity=0.45, colour=(255, 255, 255), text=" ")
    return {"src": _encode(tmp / "blend.mp4", [composite(f, layer) for f in clean]), "clean": clean,
            "layer": layer}  # fmt: skip


@pytest.mark.slow
@pytest.mark.xfail(
    reason="known miss (issue 4, what is left): α is shared by the channels now (per channel it was 0.006 / "
    "0.42 / 0.0) but measured 0.35 for 0.45, α·W 108-113 for 114.75, removal 24.7 dB: under this badge the "
    "zooming fractal is a smooth green whose median border pixel varies by ~1 level in 72 frames (the 8-bit "
    "rounding of the composite inflates the inside std), and the few pixels its filaments sweep vary 0.7x as "
    "much inside the band as just outside even on the clean clip: no border statistic gives α to 0.02 here",
    strict=False,
)
def test_the_blend_of_a_known_see_through_badge_is_estimated(fractal_badge):
    """A white badge at α = 0.45 over a moving fractal, given its true mask: α within 0.02, α·W within 3 levels."""
    layer = fractal_badge["layer"]
    est = estimate_blend(fractal_badge["src"], layer.mask, grow=0)
    core = cv2.erode((layer.alpha > 0.44).astype(np.uint8), K5).astype(bool)
    alpha = 1.0 - est.slope[core]
    colour = est.offset[core]
    assert abs(float(np.median(alpha)) - 0.45) <= 0.02
    assert np.abs(np.median(colour, axis=0) - 0.45 * 255).max() <= 3.0


def _inverted_psnr(path: Path, clean: list[np.ndarray], est, region: np.ndarray) -> float:
    se = n = 0.0
    for (_, f), c in zip(iter_frames(path), clean, strict=True):
        d = (invert_blend(f, est).astype(np.float64) - c.astype(np.float64))[region]
        se, n = se + float((d * d).sum()), n + d.size
    return float(10 * np.log10(255**2 / (se / n)))


@pytest.mark.slow
def test_the_fractal_badge_is_removed_by_inversion(fractal_badge):
    """The badge above removed by inverting its estimated blend: measured 24.9 dB on the pixels inverted (24.7
    over the whole badge before its faint rim went to the fill, 24.3 with α per channel); the 35 dB target is
    not reached here (the estimate's α is 0.35, see the test above)."""
    layer = fractal_badge["layer"]
    est = estimate_blend(fractal_badge["src"], layer.mask, grow=0)
    inverted = layer.mask & ~est.opaque
    assert inverted.sum() >= 0.9 * layer.mask.sum()  # measured 0.95: the rim with α < 0.15 is filled instead
    assert _inverted_psnr(fractal_badge["src"], fractal_badge["clean"], est, inverted) >= 24.4


@pytest.mark.slow
def test_one_alpha_for_all_channels_when_two_never_vary(tmp_path):
    """Issue 4: a background that varies in green only (real texture: tears_of_steel's luma; red and blue
    constant). Fitted per channel, 1−α of the flat channels was a ratio of noise to noise (α ≈ 0 there, and
    their α·W then wrong by α·B); one α for the three channels inverts them all."""
    _, real = _real("tears_of_steel_640x360.mp4", 96)
    clean = []
    for f in real:
        g = np.full_like(f, 20)
        g[..., 1] = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
        g[..., 2] = 90
        clean.append(g)
    semi, _ = _bench_logos(360, 640)
    layer = logo_layer(360, 640, box=_box_of(semi.mask), opacity=0.45, colour=(255, 255, 255), text=" ")
    src = _write_real(tmp_path / "green.mp4", [composite(f, layer) for f in clean], Fraction(24))
    est = estimate_blend(src, layer.mask)
    core = cv2.erode((layer.alpha > 0.44).astype(np.uint8), K5).astype(bool)
    alpha = np.median(1.0 - est.slope[core], axis=0)
    colour = np.median(est.offset[core], axis=0)
    assert np.abs(alpha - 0.45).max() <= 0.02, alpha  # measured 0.450 (per channel it was 0.31 / 0.44 / 0.31)
    # measured 115.2 / 112.2 / 114.5 for 114.75 (it was 112.8 / 108.5 / 102.4)
    assert np.abs(colour - 0.45 * 255).max() <= 3.0, colour
    inverted = layer.mask & ~est.opaque
    assert inverted.sum() >= 0.95 * layer.mask.sum()  # measured 0.989: the faint rim (α < 0.15) is filled
    psnr = _inverted_psnr(src, clean, est, inverted)
    assert psnr >= 29.5, psnr  # measured 30.2 dB on the inverted pixels (30.1 over the whole badge before)


@pytest.mark.slow
def test_the_bench_see_through_badge_is_inverted(tmp_path):
    """bench/cleanup.py's see-through badge (α 0.45, white with dark text) on tears_of_steel, given its true
    mask grown 1 px as the bench's ours_true_mask gets it: α to 0.02 and removal by inversion alone."""
    _, clean = _real("tears_of_steel_640x360.mp4", 144)
    semi, _ = _bench_logos(360, 640)
    src = _write_real(tmp_path / "tos.mp4", [composite(f, semi) for f in clean], Fraction(24))
    est = estimate_blend(src, cv2.dilate(semi.mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool))
    core = cv2.erode((semi.alpha > 0.44).astype(np.uint8), K5).astype(bool)
    alpha = float(np.median(1.0 - est.slope[core]))
    assert abs(alpha - 0.45) <= 0.02, alpha  # measured 0.451 (0.42 per channel before)
    psnr = _inverted_psnr(src, clean, est, semi.mask)
    # measured 33.2 dB (α·W 112.0-112.4 for 114.75 on the white; per channel it was 102.6-108.2, and the bench's
    # ours_true_mask 27.1 dB). 35 dB is not reached (issue 4): what is left is α·W inside, ~2 levels low from
    # the border's background differing from the one under the band, and the anti-aliased rim (~31 dB there)
    assert psnr >= 32.7, psnr


def _line_mask(strokes: np.ndarray) -> np.ndarray:
    (top, left, line), *_ = _text_lines(strokes, lh=4)
    found = np.zeros_like(strokes)
    found[top : top + line.shape[0], left : left + line.shape[1]] = line
    return found


def test_a_text_line_keeps_its_ascenders_but_not_a_scene_edge_along_it():
    line = np.zeros((40, 120), bool)
    line[16:32, 10:110:2] = True  # the line's dense rows (50 stroke pixels each): x-height strokes
    ascender = line.copy()
    ascender[12:16, 10] = True  # an ascender ("h"): a pixel a row, under the row threshold, joined to its letter
    found = _line_mask(ascender)
    assert found[12:16, 10].all() and found[16:32, 10:110:2].all()
    scene = line.copy()
    for k, row in enumerate(range(15, 11, -1)):  # a faint diagonal scene edge touching a letter, 28 px wide
        scene[row, 41 + 7 * k : 48 + 7 * k] = True
    found = _line_mask(scene)
    assert not found[12:16].any() and found[16:32, 10:110:2].all()


def test_subtitle_masks_reach_over_the_dark_outline_not_past_it(tmp_path):
    bright = f"gradients=size={W}x{H}:rate=24:speed=0.08:n=3:seed=3:c0=#d8d8d8:c1=#b0c4e0:c2=#e8c8a0"
    clean = _lavfi(tmp_path, "bright", [bright])
    pairs = list(overlay_frames(iter(clean), FPS, subtitles=SubtitleTrackSpec(LATIN_LINES, cue_seconds=1.0)))
    track = detect_subtitles(open_source(_encode(tmp_path / "subs.mp4", [f for f, _ in pairs])))
    found_px = beyond = covered = truth_px = 0
    for i, (_, truth) in enumerate(pairs):
        found = track.mask(i)
        if found is None or not truth.any():
            continue
        near = cv2.dilate(truth.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        found_px += found.sum()
        beyond += (found & ~near).sum()
        covered += (found & truth).sum()
        truth_px += truth.sum()
    # over a bright picture: the glyphs, their dark outline and one pixel round it, not the outline's whole
    # reach all round (measured 0.007 of the mask beyond; 0.14 when every stroke was grown by that reach)
    assert beyond / found_px < 0.05, beyond / found_px
    assert covered / truth_px > 0.95, covered / truth_px


def test_dots_and_diacritics_are_part_of_the_subtitle_mask(tmp_path):
    """The dots of i and j and accents (é, à, ё, й) sit apart from their letters: the mask takes them with the
    line. Measured: 0.9 % of the true text pixels left out (the "J" of one line's ", Jim"), 7.0 % before the
    pieces near a line were taken (every dot and accent, bright in every frame of its cue)."""
    w, h = 640, 360
    out = tmp_path / "clean.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", f"mandelbrot=size={w}x{h}:rate=24:start_scale=0.5", "-frames:v", "48",
                "-c:v", "libx264", "-crf", "8", "-pix_fmt", "yuv420p", out])  # fmt: skip
    clean = [f for _, f in iter_frames(out)]
    lines = ("I will finish it in time, Jim", "Il a déjà été ici, Inès", "Ещё йогурт, Фёдор?")
    pairs = list(overlay_frames(iter(clean), FPS, subtitles=SubtitleTrackSpec(lines, cue_seconds=0.7)))
    src = tmp_path / "subs.mp4"
    with FrameWriter(src, width=w, height=h, fps=FPS, encoding=LOSSLESS) as wr:
        for f, _ in pairs:
            wr.write(f)
    track = detect_subtitles(open_source(src))
    missed = truth_px = 0
    for i, (_, truth) in enumerate(pairs):
        found = track.mask(i)
        found = np.zeros_like(truth) if found is None else found
        missed += (truth & ~found).sum()
        truth_px += truth.sum()
    assert truth_px > 0 and missed / truth_px < 0.02, missed / truth_px
