"""The backward pass: what only frames later than the window show is carried back, nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.cleanup.remove import SPATIAL, RemovalSettings, remove_overlays_aged
from tasks.cleanup.twoway import RegionStore, backward, clip_boxes

from .test_remove import _picture, _psnr

W, H, N = 192, 108, 72
BOX = (40, 100, 30, 60)  # x0, x1, y0, y1: 60 px wide, the picture moves 1 px a frame under it


@pytest.fixture(scope="module")
def slow_pan(tmp_path_factory) -> list[np.ndarray]:
    """The picture panning left 1 px a frame: what the box hides in the first frames shows again only up to
    60 frames later, further than the removal's 24-frame window; nothing before frame 0 showed it."""
    big = _picture(tmp_path_factory.mktemp("slow_pan"), W + N)
    return [np.ascontiguousarray(big[:, i : i + W]) for i in range(N)]


def _hole(i: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    x0, x1, y0, y1 = BOX
    m[y0:y1, x0:x1] = True
    return m


def _painted(frames: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for f in frames:
        g = f.copy()
        g[_hole(0)] = (230, 20, 40)
        out.append(g)
    return out


def test_the_backward_pass_fills_what_only_later_frames_show(slow_pan, tmp_path):
    inp = _painted(slow_pan)
    # carried pixels kept as they are (under a mark that stays put they are blended with a fresh spatial fill
    # by default, which fades what is carried from far away): what is measured is what the passes carry
    cfg = RemovalSettings(carry=1.0)
    store = RegionStore(clip_boxes(_hole, N, cfg.margin), N, tmp_path)
    forward = []
    for i, (out, age) in enumerate(remove_overlays_aged(iter(inp), _hole, settings=cfg)):
        store.keep(i, out, age, _hole(i))
        forward.append(out)
    unseen = store.unseen()
    painted = int((store.age[0] == SPATIAL).sum())
    backward(store, inpainter=None, settings=cfg)
    both = [store.paste(i, f) for i, f in enumerate(inp)]

    early = slice(0, 30)  # the frames whose hole still holds pixels no frame up to 24 ahead shows
    masks = [_hole(i) for i in range(N)][early]
    before = _psnr(forward[early], slow_pan[early], masks)
    after = _psnr(both[early], slow_pan[early], masks)
    assert unseen > 0.1, unseen  # the forward pass had to carry or paint a good share
    assert after >= before + 3, (before, after)
    # what the forward pass painted, a later frame has shown: no pixel is left painted by both passes
    assert painted > 0 and int((store.age[0] == SPATIAL).sum()) == 0, painted
    for f, g in zip(both, inp, strict=True):  # outside the hole, the input to the bit
        assert np.array_equal(f[~_hole(0)], g[~_hole(0)])
