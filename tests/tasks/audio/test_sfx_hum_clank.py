import numpy as np

from tasks.audio.sfx import match_cue, synthesize


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mono = x.mean(axis=1)
    mag = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return np.fft.rfftfreq(len(mono), 1 / 48_000), mag


def test_hum_sits_on_mains_harmonics():
    freqs, mag = _spectrum(synthesize("electric_hum", seed=3))
    energy = mag**2
    assert energy[freqs < 500].sum() / energy.sum() > 0.5
    peak = freqs[np.argmax(mag)]
    assert min(abs(peak - k * base) for base in (50, 60) for k in (1, 2, 3)) < 2


def test_clank_is_a_sharp_metal_strike_that_decays():
    x = synthesize("metal_clank", seed=2).mean(axis=1)
    env = np.array([np.sqrt(np.mean(x[i : i + 480] ** 2)) for i in range(0, len(x) - 480, 480)])
    assert np.argmax(env) <= 2  # the strike comes first
    assert env[-1] < env.max() / 30  # and rings out
    freqs, mag = _spectrum(synthesize("metal_clank", seed=2))
    assert freqs[np.argmax(mag)] > 300  # bright, not a thud


def test_cues_for_hum_and_clank():
    assert match_cue("bulb flickers HUMS") == "electric_hum"
    assert match_cue("heavy lock CLANKS") == "metal_clank"
    assert match_cue("【音效：电流声】") == "electric_hum"
    assert match_cue("engine HUMS") == "engine"
