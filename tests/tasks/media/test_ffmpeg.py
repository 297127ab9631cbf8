from fractions import Fraction

import numpy as np
import pytest

from tasks.media.ffmpeg import FFmpegError, FrameWriter, MediaError, run_ffmpeg
from tasks.media.files import atomic_path
from tasks.media.probe import probe


def test_frame_writer_encodes_exact_frames_with_bt709_tags(tmp_path):
    out = tmp_path / "clip.mp4"
    with FrameWriter(out, width=64, height=96, fps=Fraction(30)) as w:
        for i in range(45):
            w.write(np.full((96, 64, 3), i * 5, np.uint8))
    info = probe(out, count_frames=True)
    assert info.video.frames == 45 and info.video.fps == 30
    assert (info.video.width, info.video.height) == (64, 96)
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert info.video.color_primaries in ("bt709", "1")


def test_frame_writer_rejects_wrong_shape(tmp_path):
    with pytest.raises(MediaError, match="expected \\(96, 64, 3\\) uint8"):
        with FrameWriter(tmp_path / "x.mp4", width=64, height=96, fps=Fraction(30)) as w:
            w.write(np.zeros((10, 10, 3), np.uint8))


def test_run_ffmpeg_error_carries_command_and_stderr(tmp_path):
    with pytest.raises(FFmpegError) as info:
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")])
    assert "missing.mp4" in str(info.value) and info.value.argv[0].endswith(("ffmpeg", "ffmpeg-linux-x86_64-v9.0.2")) or info.value.argv


def test_probe_errors_teach(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        probe(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError, match="not a readable media file"):
        probe(junk)


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    final = tmp_path / "out" / "episode.mp4"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert not final.exists() and list(final.parent.iterdir()) == []
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"whole")
    assert final.read_bytes() == b"whole"
