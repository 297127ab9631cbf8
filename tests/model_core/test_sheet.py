"""The contact sheet puts each frame and each burst of sound where it happened."""

from __future__ import annotations

import numpy as np
from PIL import Image

from model_core.sheet import CAPTION_PX, ENVELOPE_PX, contact_sheet


def test_frames_and_sound_land_where_they_happened(tmp_path) -> None:
    frames, h, w, rate = 16, 32, 32, 8000
    video = np.zeros((frames, h, w, 3), np.uint8)
    video[5, 10:14, 10:14] = (255, 0, 0)  # a red speck in frame 5 only
    audio = np.zeros(rate, np.float32)
    audio[rate * 3 // 4 : rate * 3 // 4 + 400] = 0.5  # a burst three quarters in
    out = contact_sheet(tmp_path / "s.png", ["a test"], [(video, audio)], [(video, np.zeros_like(audio))])
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert not list(tmp_path.glob("*.tmp*"))
    film_top = CAPTION_PX + 2
    red = (img[..., 0] > 200) & (img[..., 1] < 50) & (img[..., 2] < 50)
    ys, xs = np.nonzero(red[film_top : film_top + 2 * h])
    assert set(xs // 72) == {5}  # frame 5's cell (64 px + 8 px gap)
    env_top = film_top + 2 * h + 2
    env = img[env_top : env_top + ENVELOPE_PX - 1]  # the world's envelope without its baseline
    bar_x = np.nonzero(((env[..., 1] < 100) & (env[..., 0] > 150)).any(axis=0))[0]
    # the burst spans 0.75-0.80 of the clip: bars from x 864 to 922 of 1152 (one 4 px bar of slack each side)
    assert abs(bar_x.min() - 0.75 * img.shape[1]) <= 4 and abs(bar_x.max() - 0.80 * img.shape[1]) <= 4
    silent = img[-(ENVELOPE_PX) : -1]  # the sample's envelope: silence draws no bar
    assert not ((silent[..., 1] < 100) & (silent[..., 0] > 150)).any()
