"""The meter: the one-pass bus reading agrees with pyloudnorm and with plain 4× oversampling, whatever the length."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.audio.meter import gated_loudness, k_weighted, loudness, read, true_peak

RATE = 48_000


def programme(n: int, seed: int) -> np.ndarray:
    """Stereo noise with a loud and a near-silent passage, so both loudness gates have blocks to drop."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2)) * 0.05
    x[n // 4 : n // 3] *= 8.0
    x[n // 2 : n // 2 + n // 6] *= 1e-4
    return x.astype(np.float32)


def upsampled_peak(x: np.ndarray) -> np.ndarray:
    """The textbook reading: zero-stuff ×4 and filter with the interpolator (scipy's upfirdn), per channel."""
    from scipy.signal import upfirdn

    from tasks.audio.meter import _interpolator

    taps = _interpolator().astype(np.float32)
    delay = (len(taps) - 1) // 2
    x = x.reshape(len(x), -1)
    peak = np.abs(x).max(axis=1).astype(np.float64)
    for ch in range(x.shape[1]):
        up = upfirdn(taps, x[:, ch], up=4)[delay : delay + 4 * len(x)]
        peak = np.maximum(peak, np.abs(up).reshape(len(x), 4).max(axis=1))
    return peak


@pytest.mark.parametrize("n", [RATE // 2 + 3, 7 * RATE + 2437, 8 * RATE + 37, 65_536 * 3])
def test_reading_matches_pyloudnorm_and_true_peak(n):
    x = programme(n, seed=n)
    reading = read([x])
    assert abs(reading.lufs - loudness(x)) < 1e-6, "the mixer reads what the reference meter reads"
    assert abs(gated_loudness(k_weighted(x)) - loudness(x)) < 1e-6
    assert reading.true_peak_dbtp == pytest.approx(20 * np.log10(true_peak(x).max()), abs=1e-9)


def test_reading_of_stems_is_the_reading_of_their_sum():
    a, b = programme(5 * RATE, 1), programme(5 * RATE, 2) * 0.5
    whole = (a.astype(np.float64) + b).astype(np.float32)
    ours, reference = read([a, b]), read([whole])
    assert abs(ours.lufs - loudness(a.astype(np.float64) + b)) < 1e-6
    assert ours.power.shape == (5 * 1000,) and np.allclose(ours.power, reference.power, rtol=1e-5)
    assert np.allclose(ours.peak, reference.peak, rtol=1e-6)


def test_true_peak_is_plain_4x_oversampling():
    rng = np.random.default_rng(3)
    for x in (rng.standard_normal(11), rng.standard_normal((70_001, 2)) * 0.3):
        ours, textbook = true_peak(x), upsampled_peak(np.asarray(x, np.float32))
        assert ours.shape == (len(x),)
        assert np.allclose(ours, textbook, rtol=1e-6, atol=1e-7)
        assert ours.max() > np.abs(x).max(), "inter-sample peaks of noise exceed its samples"
