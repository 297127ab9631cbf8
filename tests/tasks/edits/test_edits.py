"""Every edit op on clips generated here (lavfi with a moving object and a tone), and edit-list errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from schemas.edits import EditError, Grade, load_edits, parse_edit
from tasks.cleanup.video_io import iter_frames, open_source
from tasks.edits.apply import apply_edits
from tasks.edits.lut import Lut3D, LutApplier, look, parse_cube, trilinear, write_cube
from tasks.media.ffmpeg import run_ffmpeg
from tasks.media.probe import probe

W, H, N = 320, 180, 48


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A red square moving right over a scrolling grey pattern, 2 s at 24 fps, with a 48 kHz tone."""
    out = tmp_path_factory.mktemp("edits") / "src.mp4"
    run_ffmpeg([
        "-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate=24,scroll=horizontal=0.003,hue=s=0",
        "-f", "lavfi", "-i", "color=c=red:size=40x40:rate=24",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-filter_complex", "[0:v][1:v]overlay=x='60+2*n':y=70:shortest=1[v]",
        "-map", "[v]", "-map", "2:a", "-frames:v", str(N), "-t", "2",
        "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "aac", out,
    ])  # fmt: skip
    return out


def _frames(path: Path) -> list[np.ndarray]:
    return [f for _, f in iter_frames(path)]


def _red_centre(frame: np.ndarray) -> tuple[float, float] | None:
    red = (frame[..., 0] > 180) & (frame[..., 1] < 80) & (frame[..., 2] < 80)
    if red.sum() < 50:
        return None
    ys, xs = np.nonzero(red)
    return float(xs.mean()), float(ys.mean())


def test_remove_tracks_the_moving_square(clip, tmp_path):
    out = tmp_path / "removed.mp4"
    apply_edits(clip, [parse_edit({"op": "remove", "box": [60, 70, 42, 42]})], out)
    frames = _frames(out)
    assert len(frames) == N
    left = [f for f in frames if _red_centre(f) is not None]
    assert len(left) <= 2, f"the square is still visible in {len(left)} frames"


def test_recolor_follows_the_square_and_keeps_luminance(clip, tmp_path):
    out = tmp_path / "recolor.mp4"
    apply_edits(clip, [parse_edit({"op": "recolor", "box": [60, 70, 40, 40], "hue_shift": 120})], out)
    src, dst = _frames(clip), _frames(out)
    i = N - 1
    x = 60 + 2 * i
    patch_src, patch_dst = src[i][80:100, x + 10 : x + 30], dst[i][80:100, x + 10 : x + 30]
    assert (
        patch_dst[..., 1].mean() > patch_dst[..., 0].mean() + 40
    )  # red became green where the square now is
    lum = lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2Lab)[..., 0].astype(float).mean()  # noqa: E731
    assert abs(lum(patch_src) - lum(patch_dst)) < 8


def test_add_composites_an_image_that_follows_the_square(clip, tmp_path):
    sticker = tmp_path / "sticker.png"
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255  # blue in OpenCV's BGR order
    rgba[..., 3] = 255
    rgba[:5, :5, 3] = 0  # a transparent corner: alpha is honoured
    cv2.imwrite(str(sticker), rgba)
    out = tmp_path / "add.mp4"
    apply_edits(
        clip,
        [
            parse_edit(
                {"op": "add", "image": str(sticker), "box": [70, 30, 20, 20], "follow": [60, 70, 40, 40]}
            )
        ],
        out,
    )
    last = _frames(out)[-1]
    dx = 2 * (N - 1)
    blue = last[40, 80 + dx]
    assert blue[2] > 180 and blue[0] < 80, blue  # the sticker moved with the square
    assert not (
        last[31, 71 + dx][2] > 180 and last[31, 71 + dx][0] < 80
    )  # transparent corner shows the picture


def test_cube_lut_round_trip_and_trilinear_identity(tmp_path):
    n = 5
    v = np.linspace(0, 1, n, dtype=np.float32)
    identity = Lut3D(np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1))
    path = tmp_path / "id.cube"
    write_cube(identity, path)
    lut = parse_cube(path)
    rgb = np.random.default_rng(0).random((100, 3)).astype(np.float32)
    assert np.allclose(trilinear(lut, rgb), rgb, atol=1e-5)
    frame = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert np.abs(LutApplier(lut)(frame).astype(int) - frame).max() <= 1
    # red varies fastest in the file: a LUT that swaps red and blue proves the axis order
    swap = Lut3D(identity.table[..., ::-1].copy())
    write_cube(swap, tmp_path / "swap.cube")
    assert np.allclose(
        trilinear(parse_cube(tmp_path / "swap.cube"), np.array([0.9, 0.2, 0.1])), [0.1, 0.2, 0.9], atol=1e-5
    )


def test_bad_cube_names_the_line(tmp_path):
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 oops\n")
    with pytest.raises(EditError, match=r"bad.cube:4"):
        parse_cube(bad)
    short = tmp_path / "short.cube"
    short.write_text("LUT_3D_SIZE 2\n0 0 0\n")
    with pytest.raises(EditError, match="expected 8 data lines"):
        parse_cube(short)


@pytest.mark.parametrize("name", ["teal_orange", "warm", "cool", "bleach_bypass", "noir"])
def test_named_looks_change_colour_as_named(name):
    skin = np.array([[0.85, 0.6, 0.45]], np.float32)
    shadow = np.array([[0.1, 0.12, 0.15]], np.float32)
    lut = look(name)
    s, d = trilinear(lut, skin)[0], trilinear(lut, shadow)[0]
    if name == "noir":
        assert np.ptp(s) < 1e-3
    elif name == "warm":
        assert s[0] - s[2] > skin[0, 0] - skin[0, 2]
    elif name == "cool":
        assert s[2] - s[0] > skin[0, 2] - skin[0, 0]
    elif name == "teal_orange":
        assert d[2] > d[0] + 0.05 and s[0] > s[2]
    else:  # bleach bypass: less saturated
        assert np.ptp(s) < np.ptp(skin)


def test_grade_trim_retime_keep_audio_in_step(clip, tmp_path):
    out = tmp_path / "timed.mp4"
    ops = [
        Grade(look="warm"),
        parse_edit({"op": "trim", "start": 6, "end": 42}),
        parse_edit({"op": "retime", "speed": 1.5}),
    ]
    result = apply_edits(clip, ops, out)
    info = probe(out, count_frames=True)
    assert result.frames == info.video.frames == 24  # 36 frames at 1.5x
    assert info.video.fps == 24
    assert abs(info.audio.duration - 1.0) < 0.05  # 1.5 s of source audio played 1.5x faster


def test_trim_is_frame_exact(clip, tmp_path):
    out = tmp_path / "trim.mp4"
    apply_edits(clip, [parse_edit({"op": "trim", "start": 10, "end": 20})], out)
    frames = _frames(out)
    src = _frames(clip)
    assert len(frames) == 10
    x_src, _ = _red_centre(src[10])
    x_out, _ = _red_centre(frames[0])
    assert abs(x_src - x_out) < 1.0


@pytest.mark.parametrize("mode", ["subject", "push_in", "pan"])
def test_reframe_to_vertical(clip, tmp_path, mode):
    out = tmp_path / f"{mode}.mp4"
    apply_edits(clip, [parse_edit({"op": "reframe", "aspect": "9:16", "mode": mode, "size": [90, 160]})], out)
    info = open_source(out)
    assert (info.width, info.height, info.frames) == (90, 160, N)
    if mode == "subject":
        # the crop follows the moving square: it stays in view from the first frame to the last
        frames = _frames(out)
        assert _red_centre(frames[0]) is not None and _red_centre(frames[-1]) is not None


def test_edit_list_errors_carry_line_and_field(tmp_path):
    f = tmp_path / "edits.yaml"
    f.write_text(
        "edits:\n  - op: trim\n    start: 0\n    end: 10\n  - op: recolor\n    box: [0, 0, 0, 10]\n    hue_shift: 30\n"
    )
    with pytest.raises(EditError, match=r"edits.yaml:5 \[box\]"):
        load_edits(f)
    f.write_text("- op: blur\n")
    with pytest.raises(EditError, match=r"edits.yaml:1 \[op\].*unknown"):
        load_edits(f)
    f.write_text("- op: add\n  image: missing.png\n  box: [0, 0, 8, 8]\n")
    with pytest.raises(EditError, match=r"edits.yaml:1 \[image\].*not found"):
        load_edits(f)
    f.write_text("- op: grade\n  look: [unclosed\n")
    with pytest.raises(EditError, match="not valid YAML"):
        load_edits(f)
    j = tmp_path / "edits.json"
    j.write_text('[{"op": "trim", "start": 0, "end": 4},\n {"op": "retime", "speed": 0}]')
    with pytest.raises(EditError, match=r"edits.json:2 \[speed\]"):
        load_edits(j)


def test_edit_ops_reject_boxes_outside_the_frame(clip, tmp_path):
    with pytest.raises(EditError, match="outside"):
        apply_edits(clip, [parse_edit({"op": "remove", "box": [300, 0, 40, 40]})], tmp_path / "o.mp4")
    with pytest.raises(EditError, match="outside the clip"):
        apply_edits(clip, [parse_edit({"op": "trim", "start": 40, "end": 100})], tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_ops_are_frozen():
    op = parse_edit({"op": "retime", "speed": 2})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type
        op.speed = 3  # type: ignore[misc]
    assert Fraction(op.speed) == 2
