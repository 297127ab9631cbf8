"""clean_footage over a folder: good clips are cleaned, a bad one fails alone and is reported."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tasks.cleanup.synthetic import logo_layer, overlay_frames
from tasks.media.ffmpeg import FrameWriter, run_ffmpeg
from tasks.media.probe import probe


def test_clean_footage_batch_reports_the_bad_file(prefect_harness, tmp_path):
    from flows.clean_footage import clean_footage

    folder = tmp_path / "in"
    folder.mkdir()
    raw = tmp_path / "raw.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24,scroll=horizontal=0.02", "-frames:v", "24",
                "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", raw])  # fmt: skip
    from tasks.cleanup.video_io import iter_frames

    layer = logo_layer(96, 160, box=(110, 6, 44, 16), opacity=1.0, colour=(200, 30, 40))
    frames = (f for _, f in iter_frames(raw))
    with FrameWriter(folder / "a_good.mp4", width=160, height=96, fps=Fraction(24)) as wr:
        for f, _ in overlay_frames(frames, Fraction(24), layers=(layer,)):
            wr.write(f)
    (folder / "b_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    summary = clean_footage(str(folder), str(tmp_path / "out"), watermark="110,6,44,16", subtitles="none")
    assert [d["input"] for d in summary["done"]] == [str(folder / "a_good.mp4")]
    assert len(summary["failed"]) == 1 and "b_broken.mp4" in summary["failed"][0]["error"]
    out = tmp_path / "out" / "a_good.clean.mp4"
    assert probe(out, count_frames=True).video.frames == 24
    assert (tmp_path / "out" / "a_good.clean.report.json").is_file()
    assert np.isfinite(summary["done"][0]["fps"])
