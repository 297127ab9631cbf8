"""Measure eSpeak NG's voices for casting: each variant's median F0 against the 0-99 pitch setting, and how far
apart the auto-cast voices of one gender really are.

Casting (``tasks.audio.casting``) keeps two voices of one gender ``MIN_GAP_ST`` semitones apart in *predicted*
median F0, read from a table of every variant at pitch 0, 25, 50, 75, 99 per base voice. This bench makes that
table (``tasks/audio/variant_f0.json`` with ``--write``) and checks the promise it serves:

1. table — per base voice (en-us, cmn), variant and pitch setting: the median F0 (YIN with an octave guard, from
   ``bench/listen.py``) of each of five sentences, combined as the median (robust to the tracker locking onto creak on one sentence); the spread between sentences
   after removing each sentence's common offset (what a table can and cannot predict);
2. repeatability — eSpeak keeps its pitch-flutter phase in static state that no API call resets, so the same
   line said twice in one process comes out ~0.5 ms longer or shorter and its median F0 moves by a few tenths of
   a semitone: measured on repeats of one line;
3. casting — the test cast's men and women (``tests/tasks/audio/test_casting.py``) and the demo casts, auto-cast
   in English and Mandarin: every same-gender pair's predicted gap and its measured gap on every sentence
   (``repeats`` times each); the smallest measured gap is the figure that matters (target ≥ 2 semitones).

Run: ``.venv/bin/python bench/voices.py [--write] [--repeats 3]`` (≈ 4 min on 2 cores). Writes
``bench/results/voices.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.listen import octave_guard, to_sr, yin  # noqa: E402
from tasks.audio import casting, espeak  # noqa: E402
from tasks.audio.casting import (  # noqa: E402
    FEMALE_VARIANTS,
    MALE_VARIANTS,
    OLD_FEMALE_VARIANTS,
    OLD_MALE_VARIANTS,
    VARIANT_F0_PITCHES,
)
from tasks.media.files import write_text_atomic  # noqa: E402

SENTENCES = {
    "en-us": (
        "I told you not to come back here tonight.",
        "You think money can buy everything, but it cannot buy back what you did to my family.",
        "Wait. Who signed this contract?",
        "She was the heiress all along, and nobody in this house ever knew it.",
        "Get out of my office before I call security.",
    ),
    "cmn": (
        "我跟你说过，今天晚上不要再回来了。",
        "你以为钱能买到一切，可是你对我家人做的事，钱买不回来。",
        "等等，这份合同是谁签的？",
        "她从一开始就是继承人，这个家里没有一个人知道。",
        "马上离开我的办公室，不然我叫保安了。",
    ),
}
# the variants casting chooses from, and the base voice without one
VARIANTS = ("", *MALE_VARIANTS, *OLD_MALE_VARIANTS, *FEMALE_VARIANTS, *OLD_FEMALE_VARIANTS)
RANGES = (40, 70)  # pitch_range settings either side of the table's, for the range slope
TABLE_RATE = {"en-us": 170, "cmn": 195}  # words per minute the table is measured at
TABLE_RANGE = 50
TABLE_PATH = ROOT / "tasks" / "audio" / "variant_f0.json"
OUT = ROOT / "bench" / "results" / "voices.json"


def median_f0(samples: np.ndarray) -> float:
    return float(np.nanmedian(octave_guard(yin(to_sr(np.asarray(samples, np.float64))))))


def say(text: str, voice: str, pitch: int, rate: int, pitch_range: int = TABLE_RANGE) -> float:
    return median_f0(espeak.synthesize(text, voice=voice, rate=rate, pitch=pitch, pitch_range=pitch_range).samples)


def _monotonic(row: list[float]) -> list[float]:
    """A table row rises with the pitch setting; an entry that does not (YIN took creak or an octave for the
    pitch on most sentences, as for cmn+robert and cmn+paul at the lowest settings) is extrapolated from the next
    two good ones in log F0."""
    logs = np.log(np.asarray(row, np.float64))
    for j in range(len(logs) - 3, -1, -1):  # from the top down: the high settings track cleanly
        if not np.isfinite(logs[j]) or logs[j] >= logs[j + 1]:
            x = VARIANT_F0_PITCHES
            slope = (logs[j + 2] - logs[j + 1]) / (x[j + 2] - x[j + 1])
            logs[j] = logs[j + 1] - slope * (x[j + 1] - x[j])
    return [round(float(np.exp(v)), 1) for v in logs]


def measure_table(base: str) -> tuple[dict[str, list[float]], dict]:
    """Per variant, the F0 at each pitch setting (geometric mean over the sentences) and the spread."""
    variants = VARIANTS
    sentences = SENTENCES[base]
    logs = np.full((len(variants), len(VARIANT_F0_PITCHES), len(sentences)), np.nan)
    for i, variant in enumerate(variants):
        voice = f"{base}+{variant}" if variant else base
        for j, pitch in enumerate(VARIANT_F0_PITCHES):
            for k, text in enumerate(sentences):
                logs[i, j, k] = np.log2(say(text, voice, pitch, TABLE_RATE[base]))
    table = {v: _monotonic([float(2 ** np.nanmedian(logs[i, j])) for j in range(len(VARIANT_F0_PITCHES))])
             for i, v in enumerate(variants)}  # fmt: skip
    # a sentence lifts or lowers every voice alike; what is left is what a table cannot predict
    centred = logs - np.nanmean(logs, axis=2, keepdims=True)
    residual = 12 * (centred - np.nanmean(centred, axis=(0, 1), keepdims=True))
    spread = {
        "sentence_offsets_st": [round(float(12 * x), 2) for x in np.nanmean(centred, axis=(0, 1))],
        "residual_st_rms": round(float(np.sqrt(np.nanmean(residual**2))), 3),
        "residual_st_max": round(float(np.nanmax(np.abs(residual))), 3),
        "worst": sorted(
            ({"variant": variants[i], "pitch": VARIANT_F0_PITCHES[j], "st_rms": round(float(np.sqrt(np.nanmean(residual[i, j] ** 2))), 2)}
             for i in range(len(variants)) for j in range(len(VARIANT_F0_PITCHES))),
            key=lambda r: -r["st_rms"],
        )[:5],
    }  # fmt: skip
    return table, spread


def range_slope(base: str) -> float:
    """Semitones the median F0 moves per unit of eSpeak's pitch_range (0-99), around the table's setting: the
    mean over the variants, two pitch settings and three sentences of (F0 at 70 − F0 at 40) / 30."""
    slopes = []
    for variant in VARIANTS:
        voice = f"{base}+{variant}" if variant else base
        for pitch in (25, 60):
            lo, hi = (np.mean([np.log2(say(t, voice, pitch, TABLE_RATE[base], r)) for t in SENTENCES[base][:3]])
                      for r in RANGES)  # fmt: skip
            slopes.append(12 * (hi - lo) / (RANGES[1] - RANGES[0]))
    return round(float(np.nanmean(slopes)), 4)


def repeatability(repeats: int = 8) -> dict:
    text = SENTENCES["en-us"][0]
    out = {}
    for voice, pitch in (("en-us+john", 16), ("en-us+m1", 43), ("cmn+f3", 60)):
        t = SENTENCES["cmn"][0] if voice.startswith("cmn") else text
        f0 = [say(t, voice, pitch, 180) for _ in range(repeats)]
        st = 12 * np.log2(np.asarray(f0) / np.median(f0))
        out[f"{voice}@{pitch}"] = {"f0_hz": [round(x, 2) for x in f0], "spread_st": round(float(np.ptp(st)), 3)}
    return out


def _casts() -> dict[str, list]:
    """The test cast and the bundled demo episodes' casts (declared characters plus every speaker)."""
    from schemas.script import Character  # noqa: PLC0415 - the project's character model
    from tasks.script import parse_script  # noqa: PLC0415
    from tests.tasks.audio.test_casting import MEN, WOMEN  # noqa: PLC0415

    casts = {"test": [*MEN, *WOMEN]}
    for label, name in (("demo_en", "the_last_delivery.fountain"), ("demo_zh", "hongbao.md")):
        script = parse_script(ROOT / "examples" / name)
        declared = {c.name: c for c in script.characters}
        speakers = [name for scene in script.scenes for name in scene.characters]
        casts[label] = [*declared.values(), *(Character(name=n) for n in dict.fromkeys(speakers) if n not in declared)]
    return casts


def casting_check(repeats: int) -> dict:
    results = {}
    for label, characters in _casts().items():
        for language, base in (("en", "en-us"), ("zh", "cmn")):
            if label.endswith("_zh") and language == "en" or label.endswith("_en") and language == "zh":
                continue
            cast = casting.cast_voices(characters, language)
            voices = {c.name: cast[c.name] for c in characters if casting.predicted_f0(cast[c.name]) is not None}
            measured: dict[str, list[float]] = {n: [] for n in voices}
            for text in SENTENCES[base]:
                for name, v in voices.items():
                    f0 = [median_f0(espeak.synthesize(text, voice=v.engine_voice, rate=v.rate, pitch=v.pitch,
                                                      pitch_range=v.pitch_range).samples) for _ in range(repeats)]  # fmt: skip
                    measured[name].append(f0)
            pairs = []
            for a, b in combinations(voices, 2):
                if casting._voice_gender(voices[a]) != casting._voice_gender(voices[b]):
                    continue
                fa, fb = np.asarray(measured[a]), np.asarray(measured[b])  # (sentences, repeats)
                gaps = np.abs(12 * np.log2(fb[:, :, None] / fa[:, None, :])).reshape(len(fa), -1)
                pairs.append({
                    "pair": [a, b], "voices": [voices[a].engine_voice, voices[b].engine_voice],
                    "predicted_st": round(abs(12 * math.log2(casting.predicted_f0(voices[b]) / casting.predicted_f0(voices[a]))), 2),
                    "measured_min_st": round(float(gaps.min()), 2),
                    "measured_median_st": round(float(np.median(gaps)), 2),
                    "measured_mean_f0_st": round(float(abs(12 * (np.log2(fb).mean() - np.log2(fa).mean()))), 2),
                    "per_sentence_min_st": [round(float(g.min()), 2) for g in gaps],
                })  # fmt: skip
            pairs.sort(key=lambda p: p["measured_min_st"])
            results[f"{label}/{language}"] = {
                "closest_measured_st": pairs[0]["measured_min_st"] if pairs else None,
                "closest_mean_f0_st": min((p["measured_mean_f0_st"] for p in pairs), default=None),
                "pairs_under_2st": sum(p["measured_min_st"] < 2.0 for p in pairs),
                "pairs": pairs,
            }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"write the measured table to {TABLE_PATH.relative_to(ROOT)}")
    ap.add_argument("--repeats", type=int, default=3, help="syntheses of each sentence per voice in the casting check")
    ap.add_argument("--skip-table", action="store_true", help="only the repeatability and casting checks")
    args = ap.parse_args()
    t0 = time.perf_counter()
    report: dict = {"machine": {"platform": platform.platform(), "espeak": espeak.version()}}
    if not args.skip_table:
        tables, spreads, slopes = {}, {}, {}
        for base in ("en-us", "cmn"):
            tables[base], spreads[base] = measure_table(base)
            slopes[base] = range_slope(base)
            print(f"{base}: residual {spreads[base]['residual_st_rms']} st rms, range slope {slopes[base]} st/unit",
                  flush=True)
        report["table"] = {"pitches": list(VARIANT_F0_PITCHES), "rate": TABLE_RATE, "pitch_range": TABLE_RANGE,
                           "sentences": SENTENCES, "spread": spreads, "range_st_per_unit": slopes}  # fmt: skip
        if args.write:
            data = {"about": "median F0 (Hz) of each eSpeak NG variant at the pitch settings 'pitches'; made by "
                             "bench/voices.py --write (geometric mean over the sentences listed there)",
                    "espeak": espeak.version(), "pitches": list(VARIANT_F0_PITCHES), "rate": TABLE_RATE,
                    "pitch_range": TABLE_RANGE, "range_st_per_unit": slopes, "tables": tables}  # fmt: skip
            write_text_atomic(TABLE_PATH, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
            import importlib  # noqa: PLC0415

            importlib.reload(casting)  # the casting check below uses the table just written
    report["repeatability"] = repeatability()
    report["casting"] = casting_check(args.repeats)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(OUT, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for key, r in report["casting"].items():
        print(f"{key}: closest pair {r['closest_mean_f0_st']} st apart over all sentences; on one sentence "
              f"{r['closest_measured_st']} st; pairs under 2 st on some sentence: {r['pairs_under_2st']}")
    print(f"wrote {OUT.relative_to(ROOT)} in {report['seconds']} s")


if __name__ == "__main__":
    main()
