"""Weather, vehicles, crowds, paper, bodies and movement: noise shaped by filters, slow envelopes and pulse trains.

Textures (rain, wind, crowd, engine) fill the requested length exactly and loop without a seam; events (thunder,
a passing car, a whoosh) have their own natural length.
"""

from __future__ import annotations

import numpy as np

from tasks.audio.sfx.dsp import (
    RATE,
    bandpass,
    brown,
    chirp,
    count,
    decay,
    highpass,
    layer,
    loop_seamless,
    lowpass,
    pan,
    pan_curve,
    pink,
    pitched_thump,
    place,
    smooth_random,
)

LOOP_OVERLAP = 0.25


def _j(rng: np.random.Generator, value: float, spread: float) -> float:
    return float(value * rng.uniform(1 - spread, 1 + spread))


def _texture_length(length: float) -> int:
    """Samples to render so that after the seamless-loop crossfade exactly ``length`` seconds remain."""
    return count(length) + int(LOOP_OVERLAP * RATE)


def thunder(rng: np.random.Generator, length: float) -> np.ndarray:
    """A thunderclap some way off: a muffled crack, then a long rolling rumble of low brown noise (< 300 Hz)."""
    duration = _j(rng, 4.5, 0.15)
    n = count(duration)
    t = np.arange(n) / RATE
    rumble = lowpass(brown(n, rng), 160, order=4)
    rolls = smooth_random(n, rng, 3.0, 0.3, 1.0) ** 2  # the roll: reflections off cloud layers and terrain
    env = (1 - np.exp(-t / 0.12)) * np.exp(-t / (duration * 0.35))
    # the roll dies away: a raised-cosine over the last 1.5 s takes the rumble (still ~-20 dB there) to nothing,
    # instead of a step at the end of the render
    fade = count(1.5)
    env[-fade:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / fade)
    crack_n = count(0.6)
    crack = lowpass(rng.standard_normal(crack_n), 900, order=3) * decay(crack_n, 0.4, attack=0.01)
    out = rumble * rolls * env
    place(out, crack * 0.25, _j(rng, 0.05, 0.5))
    late = np.concatenate([np.zeros(240), out[:-240]])  # 5 ms apart: a wide, enveloping rumble
    return np.stack([out, late], axis=1)


def rain(rng: np.random.Generator, length: float) -> np.ndarray:
    """Steady rain (loopable): a pink-noise hiss of distant drops plus close drops ticking on hard surfaces."""
    n = _texture_length(max(length, 1.0))
    out = np.zeros((n, 2))
    for ch in range(2):
        hiss = bandpass(pink(n, rng), 800, 9000) * (0.8 + 0.2 * smooth_random(n, rng, 0.5))
        drops = np.zeros(n)
        where = rng.integers(0, n, int(n / RATE * 140))
        drops[where] = rng.uniform(0.3, 1.0, len(where)) * rng.choice([-1, 1], len(where))
        drops = bandpass(drops, 2000, 9000) * 3.0
        out[:, ch] = 0.25 * hiss + drops
    return loop_seamless(out, LOOP_OVERLAP)


def wind(rng: np.random.Generator, length: float) -> np.ndarray:
    """Wind (loopable): noise in three bands whose levels gust independently, with a faint whistle in the top band."""
    n = _texture_length(max(length, 1.0))
    out = np.zeros((n, 2))
    base = pink(n, rng)
    for lo, hi, rate, gain in ((80, 400, 0.25, 1.0), (300, 1200, 0.4, 0.7), (900, 2400, 0.6, 0.35)):
        band = bandpass(base, lo, hi)
        for ch in range(2):
            out[:, ch] += gain * band * smooth_random(n, rng, rate, 0.35, 1.0) ** 1.5
    whistle_f = smooth_random(n, rng, 0.3, 700, 1100)
    whistle = (
        np.sin(2 * np.pi * np.cumsum(whistle_f) / RATE) * smooth_random(n, rng, 0.4, 0.0, 1.0) ** 3 * 0.05
    )
    out += whistle[:, None]
    return loop_seamless(out, LOOP_OVERLAP)


def _engine_tone(rng: np.random.Generator, n: int, rpm: np.ndarray, cylinders: int = 4) -> np.ndarray:
    """Combustion pulses at the firing rate (rpm/60 · cylinders/2) through an exhaust lowpass, uneven per stroke."""
    firing = rpm / 60.0 * cylinders / 2
    phase = np.cumsum(firing / RATE)
    fire = np.diff(np.floor(phase), prepend=0.0)
    fire *= rng.uniform(0.7, 1.0, n)
    from scipy.signal import lfilter

    pulse = lfilter([1.0], [1.0, -0.985], fire)  # each firing: a decaying pressure pulse
    return lowpass(pulse - pulse.mean(), 600, order=3)


def engine(rng: np.random.Generator, length: float) -> np.ndarray:
    """An idling car engine (loopable): firing pulses with a slowly hunting idle speed and mechanical hiss."""
    n = _texture_length(max(length, 1.0))
    rpm = _j(rng, 850, 0.1) * (1 + 0.03 * smooth_random(n, rng, 1.5, -1, 1))
    tone = _engine_tone(rng, n, rpm)
    hiss = bandpass(rng.standard_normal(n), 1000, 4000) * 0.04
    mono = tone / (np.std(tone) + 1e-12) * 0.5 + hiss
    return loop_seamless(np.stack([mono, mono], axis=1), LOOP_OVERLAP)


def car_pass(rng: np.random.Generator, length: float) -> np.ndarray:
    """A car driving past: engine and tyre roar rising, a Doppler drop in pitch as it passes, moving left→right."""
    duration = max(length, _j(rng, 4.0, 0.1))
    n = count(duration)
    t = np.arange(n) / RATE
    speed = _j(rng, 15, 0.2)  # m/s
    closest = _j(rng, 6.0, 0.3)  # metres from the listener
    passing = duration * rng.uniform(0.45, 0.55)
    x = speed * (t - passing)
    distance = np.sqrt(x**2 + closest**2)
    radial = speed * x / distance  # + receding
    doppler = 343.0 / (343.0 + radial)
    rpm = _j(rng, 2600, 0.15) * doppler
    tone = _engine_tone(rng, n, rpm)
    tone /= np.std(tone) + 1e-12
    tyres = bandpass(pink(n, rng), 300, 3000)
    level = (closest / distance) ** 1.2
    side = rng.choice([-1.0, 1.0])
    positions = side * np.clip(x / (closest * 2.5), -1, 1)
    return pan_curve((0.5 * tone + 0.6 * tyres) * level, positions)


def tire_screech(rng: np.random.Generator, length: float) -> np.ndarray:
    """Tyres skidding on asphalt: rubber stick-slip gives a wavering squeal (~1.3 kHz and harmonics, sagging in
    pitch as the car slows) over a hiss of scrubbed rubber."""
    duration = _j(rng, 1.6, 0.2)
    n = count(duration)
    t = np.arange(n) / RATE
    freq = _j(rng, 1300, 0.2) * (1 + 0.03 * smooth_random(n, rng, 8.0, -1, 1)) * (1 - 0.15 * t / duration)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    squeal = np.sin(phase) + 0.5 * np.sin(2 * phase + 0.3) + 0.25 * np.sin(3 * phase + 1.1)
    squeal *= 0.7 + 0.3 * smooth_random(n, rng, 20.0, -1, 1)  # grip and slip: the squeal flutters
    hiss = bandpass(rng.standard_normal(n), 1500, 7000) * 0.3
    env = np.clip(t / 0.05, 0, 1) * np.clip((duration - t) / 0.25, 0, 1)
    return (0.6 * squeal + hiss) * env


def crowd_murmur(rng: np.random.Generator, length: float) -> np.ndarray:
    """A room of people talking (loopable): a dozen voices, each a pitched glottal buzz in syllables and turns,
    spread across the field, then shaped by one vowel-band filter (the same for all: it is the room's babble)."""
    n = _texture_length(max(length, 1.5))
    out = np.zeros((n, 2))
    for _ in range(12):
        f0 = rng.uniform(95, 240) * (1 + 0.08 * smooth_random(n, rng, 3.0, -1, 1))
        glottal = (np.cumsum(f0 / RATE) % 1.0) - 0.5  # a sawtooth: the voice source's rich harmonics
        syllables = np.clip(smooth_random(n, rng, rng.uniform(4, 6), -0.4, 1.0), 0, None)
        talking = (
            smooth_random(n, rng, 0.3, -0.6, 1.0).clip(0, 0.25) * 4
        )  # turns: each voice talks, then listens
        side = (rng.uniform(-0.8, 0.8) + 1) * np.pi / 4
        voice = glottal * syllables * talking
        out[:, 0] += np.cos(side) * voice
        out[:, 1] += np.sin(side) * voice
    out = bandpass(out, 250, 2500) + 0.05 * np.stack([bandpass(pink(n, rng), 200, 2000)] * 2, axis=1)
    return loop_seamless(out, LOOP_OVERLAP)


def birds(rng: np.random.Generator, length: float) -> np.ndarray:
    """Birdsong: small birds at different places each singing phrases of fast up/down chirps at 2–7 kHz."""
    duration = max(length, 2.0)
    out = np.zeros((count(duration + 0.5), 2))
    for _bird in range(int(rng.integers(2, 4))):
        where = rng.uniform(-0.8, 0.8)
        base = rng.uniform(2500, 4500)
        at = rng.uniform(0.0, 0.8)
        while at < duration:
            for _note in range(int(rng.integers(2, 6))):
                d = rng.uniform(0.04, 0.12)
                f0, f1 = base * rng.uniform(0.8, 1.2), base * rng.uniform(0.9, 1.6)
                note = chirp(f0, f1, d) * np.sin(np.pi * np.linspace(0, 1, count(d))) ** 2
                place(out, pan(note * rng.uniform(0.4, 1.0), where), float(at))
                at += d + rng.uniform(0.02, 0.06)
            at += rng.uniform(0.5, 1.5)
    return out


def paper(rng: np.random.Generator, length: float) -> np.ndarray:
    """Paper handled (a page turned, a letter unfolded): dense crackle of tiny bright clicks in rustling gestures."""
    return _crackle(rng, count(_j(rng, 1.0, 0.2)))


def _crackle(rng: np.random.Generator, n: int) -> np.ndarray:
    duration = n / RATE
    crackle = np.zeros(n)
    where = rng.integers(0, n, int(duration * 900))
    crackle[where] = rng.standard_normal(len(where))
    crackle = bandpass(crackle, 1500, 9000) * 3 + bandpass(rng.standard_normal(n), 2500, 8000) * 0.3
    gesture = (
        np.clip(smooth_random(n, rng, 7.0, -0.3, 1.0), 0, None) * np.sin(np.pi * np.arange(n) / n) ** 0.7
    )
    return crackle * gesture


def paper_shred(rng: np.random.Generator, length: float) -> np.ndarray:
    """A paper shredder: a motor's whine and gear hum, with the tearing crackle of paper fed through."""
    duration = max(length, 2.0)
    n = count(duration)
    t = np.arange(n) / RATE
    motor_f = _j(rng, 95, 0.1)
    motor = sum(np.sin(2 * np.pi * motor_f * k * t) / k for k in range(1, 7))
    whine = np.sin(2 * np.pi * motor_f * 14 * t) * 0.15
    feed = (t > 0.3) & (t < duration - 0.3)
    tearing = _crackle(rng, n) * feed * 2.0
    env = np.clip(t / 0.1, 0, 1) * np.clip((duration - t) / 0.15, 0, 1)
    return (0.3 * motor + whine + tearing) * env


def heartbeat(rng: np.random.Generator, length: float) -> np.ndarray:
    """A heartbeat as heard in a tense close-up: lub-dub thumps at ~70 bpm, the lub the louder."""
    duration = max(length, 2.5)
    out = np.zeros(count(duration + 0.4))
    period = 60.0 / _j(rng, 72, 0.12)
    at = 0.02
    while at < duration:
        lub = pitched_thump(_j(rng, 75, 0.05), 42, 0.2, sweep=0.03)
        dub = pitched_thump(_j(rng, 90, 0.05), 50, 0.15, sweep=0.02)
        place(out, lowpass(lub, 200), at)
        place(out, lowpass(dub, 200) * 0.65, at + period * 0.32)
        at += period * rng.uniform(0.97, 1.03)
    return out


def whoosh(rng: np.random.Generator, length: float) -> np.ndarray:
    """Something swung fast past the camera: band-passed noise sweeping up then down in pitch, crossing the field."""
    duration = _j(rng, 0.8, 0.2)
    n = count(duration)
    x = np.linspace(0, 1, n)
    shape = np.sin(np.pi * x) ** 2
    noise = pink(n, rng)
    bands = [bandpass(noise, f * 0.7, f * 1.4) for f in (300, 700, 1500, 3000)]
    pos = shape * 3  # the band that speaks follows the loudness: low at the edges, bright at the peak
    mono = sum(b * np.clip(1 - np.abs(pos - k), 0, 1) for k, b in enumerate(bands))
    return pan_curve(mono * shape, np.linspace(-0.8, 0.8, n) * rng.choice([-1, 1]))


def explosion(rng: np.random.Generator, length: float) -> np.ndarray:
    """A blast: an instant broadband bang, a deep boom and a rumbling tail with falling debris."""
    duration = _j(rng, 3.5, 0.1)
    n = count(duration)
    bang = rng.standard_normal(n) * decay(n, 0.25, attack=0.0002)
    boom = pitched_thump(_j(rng, 90, 0.1), 30, 2.0, sweep=0.08)
    rumble = lowpass(brown(n, rng), 250, order=3) * decay(n, duration, attack=0.02)
    debris = (
        highpass(rng.standard_normal(n), 2000)
        * decay(n, duration * 0.5)
        * smooth_random(n, rng, 12, 0, 1)
        * 0.2
    )
    mono = layer(0.7 * lowpass(bang, 5000) + 0.8 * rumble + debris, boom)
    return np.stack([mono, np.roll(mono, 180)], axis=1)


def electric_hum(rng: np.random.Generator, length: float) -> np.ndarray:
    """Mains hum of a failing bulb or transformer (loopable): 50/60 Hz and its harmonics, a buzzy edge, flicker."""
    n = _texture_length(max(length, 1.0))
    t = np.arange(n) / RATE
    mains = float(rng.choice([50.0, 60.0]))
    harmonics = (1, 2, 3, 4, 6, 8)
    tone = sum(
        (0.9 / k) * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi)) for k in harmonics
    )
    buzz = bandpass(rng.standard_normal(n), 1800, 5000) * 0.05 * (1 + np.sin(2 * np.pi * 2 * mains * t))
    flicker = 1 + 0.25 * smooth_random(n, rng, 6.0, -1, 1)
    mono = (tone / len(harmonics) + buzz) * flicker
    return loop_seamless(np.stack([mono, mono], axis=1), LOOP_OVERLAP)


def sea(rng: np.random.Generator, length: float) -> np.ndarray:
    """Sea at a harbour or shore (loopable): low surf swelling every 5-9 s, a hiss of foam as each wave breaks."""
    n = _texture_length(max(length, 8.0))
    out = np.zeros((n, 2))
    swell = smooth_random(n, rng, 0.14, 0.2, 1.0) ** 2  # waves: slow, uneven
    for ch in range(2):
        surf = lowpass(brown(n, rng), 500, order=2) * (0.35 + swell)
        foam = bandpass(pink(n, rng), 1200, 7000) * (0.15 + 0.5 * swell)
        out[:, ch] = surf + foam
    return loop_seamless(out, LOOP_OVERLAP)


def traffic(rng: np.random.Generator, length: float) -> np.ndarray:
    """Distant city traffic (loopable): a low road roar with passing swells, tyre hiss, the odd far horn."""
    n = _texture_length(max(length, 6.0))
    out = np.zeros((n, 2))
    for ch in range(2):
        roar = lowpass(brown(n, rng), 300, order=2) * (0.6 + 0.4 * smooth_random(n, rng, 0.3, 0.0, 1.0))
        hiss = bandpass(pink(n, rng), 800, 4000) * 0.25 * smooth_random(n, rng, 0.2, 0.3, 1.0) ** 2
        out[:, ch] = roar + hiss
    for _ in range(int(rng.integers(0, 2))):  # a horn blocks away, once in a while
        k = count(_j(rng, 0.35, 0.3))
        tt = np.arange(k) / RATE
        f = rng.uniform(380, 480)
        horn = (np.sin(2 * np.pi * f * tt) + 0.4 * np.sin(2 * np.pi * 1.26 * f * tt)) * np.sin(np.pi * tt / tt[-1]) ** 0.5
        at = int(rng.integers(0, n - k))
        out[at : at + k] += 0.08 * lowpass(horn, 1500)[:, None]
    return loop_seamless(out, LOOP_OVERLAP)
