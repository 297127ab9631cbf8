"""Struck things: knocks, slams, steps, glass, cups, hits, falls, taps, drums, clicks.

Each recipe is ``(rng, length) -> mono or (n, 2) array`` at 48 kHz; ``length`` is the requested duration in
seconds (events mostly ignore it and are trimmed or padded by :func:`tasks.audio.sfx.synthesize`; repeated
events fill it). An impact is modal synthesis: a short contact noise (the hardness of what strikes) exciting the
modes of what is struck (its size and material), every parameter jittered by the seed.
"""

from __future__ import annotations

import numpy as np

from tasks.audio.sfx.dsp import (
    RATE,
    bandpass,
    count,
    decay,
    highpass,
    layer,
    lowpass,
    modal,
    pan,
    pitched_thump,
    place,
)


def _j(rng: np.random.Generator, value: float, spread: float) -> float:
    """``value`` jittered by ±``spread`` (a fraction): seeded variation."""
    return float(value * rng.uniform(1 - spread, 1 + spread))


def _click(
    rng: np.random.Generator, lo: float, hi: float, time60: float, duration: float = 0.05
) -> np.ndarray:
    """Contact noise: the few milliseconds where two surfaces meet."""
    n = count(duration)
    return bandpass(rng.standard_normal(n), lo, hi) * decay(n, time60, attack=0.0003)


def wood_hit(rng: np.random.Generator, f0: float, *, size: float = 1.0, hard: float = 1.0) -> np.ndarray:
    """A knuckle or stick on a wooden panel: inharmonic plate modes plus a contact click."""
    ratios = np.array([1.0, 2.32, 3.88, 5.61, 8.1, 11.3])
    freqs = f0 * ratios * rng.uniform(0.97, 1.03, len(ratios))
    decays = np.array([0.16, 0.1, 0.06, 0.04, 0.025, 0.015]) * size * rng.uniform(0.85, 1.15, len(ratios))
    gains = np.array([1.0, 0.8, 0.55, 0.4, 0.25, 0.15]) * rng.uniform(0.7, 1.0, len(ratios))
    body = modal(freqs, decays, gains, 0.3 * size, phases=rng.uniform(0, 2 * np.pi, len(ratios)))
    click = _click(rng, 1200, 6000, 0.006 / hard, 0.3 * size)
    return body + 0.6 * hard * click


def door_knock(rng: np.random.Generator, length: float) -> np.ndarray:
    """Three (two to four) knuckle raps on a wooden door, the last often a touch harder."""
    knocks = int(rng.choice([2, 3, 3, 3, 4]))
    f0 = _j(rng, 170, 0.12)
    out = np.zeros(count(0.25 * knocks + 0.5))
    at = 0.01
    for k in range(knocks):
        place(
            out,
            wood_hit(rng, f0 * rng.uniform(0.97, 1.03)),
            at,
            gain=_j(rng, 0.8 if k < knocks - 1 else 1.0, 0.1),
        )
        at += _j(rng, 0.2, 0.15)
    return out


def door_bang(rng: np.random.Generator, length: float) -> np.ndarray:
    """A door slammed shut: a heavy low thump of the slab, the frame's crack, a rattle of the latch."""
    n = count(1.2)
    thump = pitched_thump(_j(rng, 110, 0.1), _j(rng, 55, 0.1), 0.5, sweep=0.03)
    slab = modal(
        np.array([82, 190, 310, 520]) * rng.uniform(0.92, 1.08, 4),
        [0.35, 0.2, 0.12, 0.08],
        [1, 0.6, 0.4, 0.3],
        1.0,
    )
    crack = _click(rng, 300, 5000, 0.05, 0.3)
    out = np.zeros(n)
    place(out, thump, 0)
    place(out, 0.5 * slab, 0)
    place(out, 0.8 * crack, 0)
    for _ in range(int(rng.integers(3, 6))):  # latch and hinges rattling in the frame
        place(out, _click(rng, 2000, 7000, 0.01, 0.03) * 0.15, _j(rng, 0.06, 0.6))
    return out


def door_creak(rng: np.random.Generator, length: float) -> np.ndarray:
    """A hinge creaking: stick-slip friction pulses, their rate gliding, ringing the door's resonances."""
    from scipy.signal import lfilter

    duration = _j(rng, 1.3, 0.2)
    n = count(duration)
    t = np.arange(n) / RATE
    rate = _j(rng, 45, 0.3) + _j(rng, 60, 0.3) * np.sin(np.pi * t / duration) ** 2 * rng.uniform(0.6, 1.2)
    phase = np.cumsum(rate / RATE)
    pulses = np.diff(np.floor(phase), prepend=0.0) * rng.uniform(0.6, 1.0, n)
    out = np.zeros(n)
    for freq, q in ((_j(rng, 620, 0.15), 18), (_j(rng, 1350, 0.15), 22), (_j(rng, 2500, 0.15), 25)):
        w = 2 * np.pi * freq / RATE
        r = np.exp(-w / (2 * q))
        out += lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], pulses)
    env = np.sin(np.pi * np.clip(t / duration, 0, 1)) ** 0.5
    return out * env


def _step(rng: np.random.Generator, surface: str) -> np.ndarray:
    """One footfall: heel then toe, each a thump plus the surface's own texture."""
    n = count(0.25)
    out = np.zeros(n)
    for part, at, gain in (("heel", 0.0, 1.0), ("toe", _j(rng, 0.05, 0.3), 0.6)):
        thump = lowpass(rng.standard_normal(count(0.08)), 220) * decay(count(0.08), 0.05)
        if surface == "wood":
            texture = wood_hit(rng, _j(rng, 140, 0.15), size=0.6, hard=0.5) * 0.5
        elif surface == "concrete":
            texture = (
                _click(rng, 800, 7000, 0.03, 0.12) * 0.6 + _click(rng, 3000, 9000, 0.06, 0.12) * 0.2
            )  # grit
        elif surface == "heels":
            tip = modal(
                np.array([2300, 3900, 5600]) * rng.uniform(0.95, 1.05, 3),
                [0.03, 0.02, 0.015],
                [1, 0.6, 0.3],
                0.1,
            )
            texture = (tip + _click(rng, 3000, 10000, 0.004, 0.1) * 0.5) * (1.5 if part == "heel" else 0.4)
            thump *= 0.3
        else:  # puddle
            texture = _click(rng, 500, 6000, 0.1, 0.2) * 0.5
            for _ in range(int(rng.integers(4, 9))):  # bubbles: sines whose pitch rises as they collapse
                f0 = rng.uniform(600, 2200)
                dur = rng.uniform(0.01, 0.04)
                m = count(dur)
                bubble = np.sin(
                    2 * np.pi * np.cumsum(f0 * (1 + 2.5 * np.linspace(0, 1, m) ** 2)) / RATE
                ) * decay(m, dur)
                place(texture, bubble * rng.uniform(0.1, 0.3), rng.uniform(0.0, 0.1))
        place(out, gain * layer(thump, texture), at)
    return out


def _walk(rng: np.random.Generator, length: float, surface: str, pace: float) -> np.ndarray:
    duration = max(length, 1.0)
    out = np.zeros(count(duration + 0.3))
    at, side = 0.02, int(rng.integers(0, 2))
    stereo = np.zeros((len(out), 2))
    while at < duration:
        step = _step(rng, surface) * _j(rng, 1.0 if side else 0.85, 0.1)
        place(stereo, pan(step, 0.15 if side else -0.15), at)
        side ^= 1
        at += _j(rng, pace, 0.06)
    return stereo


def footsteps_wood(rng: np.random.Generator, length: float) -> np.ndarray:
    return _walk(rng, length, "wood", 0.55)


def footsteps_concrete(rng: np.random.Generator, length: float) -> np.ndarray:
    return _walk(rng, length, "concrete", 0.5)


def footsteps_heels(rng: np.random.Generator, length: float) -> np.ndarray:
    return _walk(rng, length, "heels", 0.42)


def footsteps_puddle(rng: np.random.Generator, length: float) -> np.ndarray:
    return _walk(rng, length, "puddle", 0.55)


def glass_shatter(rng: np.random.Generator, length: float) -> np.ndarray:
    """A pane or bottle breaking: a bright crack, then a shower of shards whose tinkles thin out as they land."""
    duration = _j(rng, 1.4, 0.15)
    n = count(duration)
    out = np.zeros((n, 2))
    crack = highpass(rng.standard_normal(count(0.25)), 1500) * decay(count(0.25), 0.12, attack=0.0002)
    place(out, pan(crack * 0.9, 0.0), 0)
    shards = int(rng.integers(45, 70))
    for _ in range(shards):
        at = rng.exponential(0.25) * rng.uniform(0.4, 1.0)
        if at > duration - 0.15:
            continue
        f = rng.uniform(2500, 9000)
        freqs = f * np.array([1.0, 2.76, 5.4]) * rng.uniform(0.97, 1.03, 3)
        tink = modal(freqs, rng.uniform(0.03, 0.12, 3), [1.0, 0.5, 0.25], 0.15, phases=rng.uniform(0, 6.3, 3))
        loud = rng.uniform(0.1, 0.45) * np.exp(-at / 0.5)
        place(out, pan(tink * loud, rng.uniform(-0.7, 0.7)), float(at))
    debris = highpass(rng.standard_normal(n), 3000) * decay(n, duration * 0.6) * 0.15
    out += pan(debris, 0.0)
    return out


def cup_clink(rng: np.random.Generator, length: float) -> np.ndarray:
    """Two cups or glasses touching: a ringing ceramic/glass bell, struck once or twice."""
    f0 = _j(rng, 2100, 0.2)
    freqs = f0 * np.array([1.0, 2.32, 4.25, 6.63])
    out = np.zeros(count(1.0))
    for k in range(int(rng.choice([1, 2, 2]))):
        ring = modal(
            freqs * rng.uniform(0.99, 1.01, 4),
            np.array([0.6, 0.35, 0.2, 0.1]) * rng.uniform(0.8, 1.2),
            [1, 0.5, 0.3, 0.15],
            0.8,
        )
        place(
            out,
            ring + _click(rng, 3000, 10000, 0.003, 0.8) * 0.3,
            0.01 + k * _j(rng, 0.12, 0.3),
            gain=1.0 - 0.35 * k,
        )
    return out


def punch(rng: np.random.Generator, length: float) -> np.ndarray:
    """A fist landing: a low body thump with a fast pitch drop, a snap of cloth and skin on top."""
    body = pitched_thump(_j(rng, 150, 0.15), _j(rng, 55, 0.1), 0.3, sweep=0.02)
    snap = _click(rng, 800, 4000, 0.04, 0.3)
    cloth = bandpass(rng.standard_normal(count(0.3)), 300, 2500) * decay(count(0.3), 0.12)
    return 1.0 * body + 0.5 * snap + 0.3 * cloth


def slap(rng: np.random.Generator, length: float) -> np.ndarray:
    """A slap across the face: a sharp, bright, very short burst of hand on skin; no low thump."""
    n = count(0.25)
    burst = bandpass(rng.standard_normal(n), _j(rng, 1000, 0.15), _j(rng, 7000, 0.1), order=3) * decay(
        n, _j(rng, 0.06, 0.2), attack=0.0002
    )
    skin = modal(
        np.array([650, 1150, 1900]) * rng.uniform(0.9, 1.1, 3), [0.04, 0.03, 0.02], [0.6, 0.4, 0.3], 0.25
    )
    return burst + 0.3 * skin


def body_fall(rng: np.random.Generator, length: float) -> np.ndarray:
    """Someone collapsing to the floor: knees, hip, shoulder in quick succession, with clothes rustling."""
    out = np.zeros(count(1.0))
    at = 0.0
    for k in range(int(rng.integers(2, 4))):
        hit = pitched_thump(_j(rng, 120, 0.2), _j(rng, 60, 0.15), 0.35, sweep=0.03)
        hit += lowpass(rng.standard_normal(len(hit)), 900) * decay(len(hit), 0.12) * 0.5
        place(out, hit, at, gain=_j(rng, 1.0 if k == 1 else 0.7, 0.15))
        at += _j(rng, 0.11, 0.3)
    rustle = bandpass(rng.standard_normal(count(0.6)), 1500, 6000) * decay(count(0.6), 0.4) * 0.15
    place(out, rustle, 0.0)
    return out


def cane_tap(rng: np.random.Generator, length: float) -> np.ndarray:
    """A walking stick's rubber-capped tip on a hard floor, every second step."""
    duration = max(length, 2.0)
    out = np.zeros(count(duration + 0.2))
    at = 0.02
    while at < duration:
        tip = modal(
            np.array([900, 2100, 3700]) * rng.uniform(0.95, 1.05, 3), [0.05, 0.03, 0.02], [1, 0.6, 0.3], 0.1
        )
        place(out, tip + _click(rng, 1500, 6000, 0.005, 0.1) * 0.4, at)
        at += _j(rng, 1.0, 0.08)
    return out


def drum_hit(rng: np.random.Generator, length: float) -> np.ndarray:
    """A big drum (floor tom / kick): a membrane's falling pitch, its inharmonic overtones and the beater click."""
    f0 = _j(rng, 70, 0.1)
    body = pitched_thump(f0 * 2.2, f0, 0.9, sweep=0.05)
    over = modal(f0 * np.array([1.59, 2.14, 2.65]), [0.3, 0.2, 0.12], [0.3, 0.2, 0.12], 0.9)
    beater = _click(rng, 1500, 8000, 0.008, 0.9) * 0.4
    return body + over + beater


def cymbal(rng: np.random.Generator, length: float) -> np.ndarray:
    """A crash cymbal: six inharmonic square waves (the 808 recipe) through a highpass, with a noise wash."""
    n = count(_j(rng, 2.2, 0.1))
    t = np.arange(n) / RATE
    ratios = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0]) * rng.uniform(0.98, 1.02, 6)
    metal = np.sign(np.sin(2 * np.pi * ratios[None, :] * t[:, None] + rng.uniform(0, 6.3, 6))).sum(axis=1) / 6
    wash = rng.standard_normal(n)
    body = highpass(0.6 * metal + 0.8 * wash, 4000, order=3)
    out = body * decay(n, len(t) / RATE, attack=0.001)
    return np.stack([out, np.roll(out, 37)], axis=1)  # a slight inter-channel delay: width without phasing


def camera_shutter(rng: np.random.Generator, length: float) -> np.ndarray:
    """A camera's mirror flip and shutter close: two metallic clicks ~60 ms apart and a tiny spring ring."""
    out = np.zeros(count(0.3))
    for at, gain in ((0.0, 1.0), (_j(rng, 0.065, 0.2), 0.8)):
        click = modal(
            np.array([3100, 4700, 7200]) * rng.uniform(0.95, 1.05, 3),
            [0.015, 0.01, 0.008],
            [1, 0.7, 0.5],
            0.05,
        )
        place(out, (click + _click(rng, 2000, 10000, 0.003, 0.05) * 0.5) * gain, at)
    return out


def typing(rng: np.random.Generator, length: float) -> np.ndarray:
    """Typing on a keyboard: bursts of key clicks at ~8 per second, the space bar now and then deeper."""
    duration = max(length, 2.0)
    out = np.zeros((count(duration + 0.1), 2))
    at = 0.02
    while at < duration:
        space = rng.random() < 0.15
        f = rng.uniform(1800, 3200) if not space else rng.uniform(700, 1000)
        key = modal(np.array([f, f * 1.8]), [0.015, 0.01], [1.0, 0.4], 0.05)
        key = (
            key
            + _click(rng, 2500, 9000, 0.004, 0.05) * 0.6
            + lowpass(_click(rng, 100, 900, 0.02, 0.05), 400) * 0.4
        )
        place(out, pan(key * rng.uniform(0.5, 1.0), rng.uniform(-0.4, 0.4)), at)
        at += rng.exponential(0.11) + 0.04 + (rng.random() < 0.08) * rng.uniform(0.3, 0.7)  # pauses to think
    return out


def clock_tick(rng: np.random.Generator, length: float) -> np.ndarray:
    """A mechanical clock: tick and tock once a second, the tock a little lower."""
    duration = max(length, 2.0)
    out = np.zeros(count(duration + 0.1))
    f = _j(rng, 3300, 0.1)
    at, k = 0.02, 0
    while at < duration:
        pitch = f * (1.0 if k % 2 == 0 else 0.82)
        tick = modal(np.array([pitch, pitch * 1.7, pitch * 2.9]), [0.02, 0.012, 0.008], [1, 0.5, 0.3], 0.05)
        place(out, tick + _click(rng, 2000, 9000, 0.002, 0.05) * 0.3, at)
        at += 1.0
        k += 1
    return out


def gunshot(rng: np.random.Generator, length: float) -> np.ndarray:
    """A pistol shot: a near-instant broadband blast, a low boom and the noise tail of the report."""
    n = count(1.2)
    blast = rng.standard_normal(n) * decay(n, _j(rng, 0.08, 0.2), attack=0.0001)
    boom = pitched_thump(_j(rng, 160, 0.1), 45, 0.8, sweep=0.02)
    tail = lowpass(rng.standard_normal(n), 1500) * decay(n, 0.9) * 0.25
    return layer(0.8 * blast + tail, 0.9 * boom)


def applause(rng: np.random.Generator, length: float) -> np.ndarray:
    """A room clapping: many hands, each a short bright burst at its own rate, spread across the stereo field."""
    duration = max(length, 2.5)
    n = count(duration)
    out = np.zeros((n, 2))
    for _ in range(28):
        rate = rng.uniform(3.0, 5.5)
        where = rng.uniform(-0.9, 0.9)
        lo, hi = rng.uniform(700, 1500), rng.uniform(3000, 6000)
        clap = bandpass(rng.standard_normal(count(0.05)), lo, hi) * decay(count(0.05), 0.02, attack=0.0003)
        at = rng.uniform(0.0, 0.3)
        mono = np.zeros(n)
        while at < duration:
            place(mono, clap * rng.uniform(0.4, 1.0), float(at))
            at += 1 / rate * rng.uniform(0.85, 1.15)
        out += pan(mono, where)
    ramp = np.clip(np.arange(n) / (0.3 * RATE), 0, 1) * np.clip((n - np.arange(n)) / (0.6 * RATE), 0, 1)
    return out * ramp[:, None]


def metal_clank(rng: np.random.Generator, length: float) -> np.ndarray:
    """A heavy metal latch or lock shutting: a hard click, then inharmonic steel modes ringing briefly."""
    f0 = _j(rng, 520, 0.15)
    ratios = np.array([1.0, 1.47, 2.09, 2.76, 3.91, 5.4])  # a thick steel plate/bar: inharmonic partials
    ring = modal(
        f0 * ratios * rng.uniform(0.98, 1.02, len(ratios)),
        np.array([0.35, 0.28, 0.2, 0.15, 0.1, 0.07]) * rng.uniform(0.8, 1.2),
        [1.0, 0.7, 0.55, 0.4, 0.3, 0.2],
        0.7,
    )
    out = np.zeros(count(0.9))
    place(out, _click(rng, 1500, 9000, 0.004, 1.0) * 0.8, 0.005)  # the bolt hitting its stop
    place(out, ring, 0.006, gain=0.9)
    place(out, _click(rng, 800, 5000, 0.006, 0.8) * 0.35, _j(rng, 0.09, 0.3))  # the latch settling
    return out
