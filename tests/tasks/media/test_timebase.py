from fractions import Fraction

from tasks.media.timebase import frames_to_samples, samples_to_frames, seconds_to_frames, timecode


def test_frames_and_samples_are_exact():
    assert frames_to_samples(30) == 48_000
    assert frames_to_samples(1) == 1600
    assert samples_to_frames(1600 * 7) == 7
    assert seconds_to_frames(Fraction(1, 3)) == 10
    # Summing many per-frame durations in float drifts; integer frames never do.
    assert frames_to_samples(sum([1] * 2700)) == 2700 * 1600


def test_timecodes():
    assert timecode(Fraction(3661, 1) + Fraction(1, 4)) == "01:01:01,250"
    assert timecode(0.5, sep=".") == "00:00:00.500"
