"""Cleanup benchmark: ours vs ffmpeg delogo, ffmpeg removelogo and per-frame OpenCV Telea, side by side in one
run.

Clean real clips (../shared/fixtures/video: tears_of_steel_640x360, carphone_pristine) get overlays drawn by
this script with exact ground truth: a semi-transparent logo, an opaque logo, burned-in Latin subtitles and
burned-in CJK subtitles changing every 1.5 s. Each method's output is compared with the clean original *inside
the true mask*: PSNR, SSIM, temporal flicker (mean |frame difference| inside the mask minus the clean
original's), and throughput. Ours runs with automatic detection (it is not given the mask); the peers are
given the true mask or its bounding box. "ours_true_mask" is our removal given the same (1 px grown) true mask
as the Telea peer (the see-through logo's blend estimated from it, the opaque logo all opaque), so removal is
measured apart from detection; "ours_two_pass" is ours with ``passes="auto"`` (a backward pass where the
forward one carried or painted). For the see-through logo, "inversion_oracle" (not a peer) undoes the blend with
the *true* alpha and colour and writes it as ours does: the ceiling of blend inversion on this input.
Detection IoU and false-positive area on the untouched clean clips are measured too, and the 720p throughput
of ours, end to end and split into detection and removal (decode + remove + encode + mux, given the
detection).

    .venv/bin/python bench/cleanup.py            # writes bench/results/cleanup.json
    BENCH_CLEANUP_FRAMES=72 BENCH_CLEANUP_720P_FRAMES=48 BENCH_NOTE="..." .venv/bin/python bench/cleanup.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.cleanup.clean import clean_video  # noqa: E402
from tasks.cleanup.detect import Detection, MarkEstimate, SubtitleTrack, detect, estimate_blend  # noqa: E402
from tasks.cleanup.synthetic import (  # noqa: E402
    CJK_LINES,
    LATIN_LINES,
    SubtitleTrackSpec,
    logo_layer,
    overlay_frames,
)  # fmt: skip
from tasks.cleanup.video_io import iter_frames, open_source, write_video  # noqa: E402
from tasks.media.ffmpeg import FrameWriter, VideoEncoding, run_ffmpeg  # noqa: E402

FIXTURES = Path(os.environ.get("REELWRIGHT_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures")) / "video"
CLIPS = {"tears_of_steel": "tears_of_steel_640x360.mp4", "carphone": "carphone_pristine.mp4"}
MAX_FRAMES = int(os.environ.get("BENCH_CLEANUP_FRAMES", "144"))
NEAR_LOSSLESS = VideoEncoding(crf=10, preset="veryfast")


# ------------------------------------------------------------------------------------------------ overlays


def overlay_classes(h: int, w: int) -> dict[str, dict]:
    s = min(h, w)
    bw, bh = int(s * 0.33), int(s * 0.12)
    return {
        "semi_transparent_logo": {"layers": (logo_layer(h, w, box=(w - bw - s // 20, s // 20, bw, bh),
                                  opacity=0.45, colour=(255, 255, 255), text_colour=(30, 30, 30)),),
                                  "subs": None, "ours": {"watermark": "auto", "subtitles": "none"}},
        "opaque_logo": {"layers": (logo_layer(h, w, box=(s // 20, s // 20, bw, bh), opacity=1.0,
                        colour=(200, 30, 40), text_colour=(255, 255, 255)),), "subs": None,
                        "ours": {"watermark": "auto", "subtitles": "none"}},
        "subtitles_latin": {"layers": (), "subs": SubtitleTrackSpec(LATIN_LINES),
                            "ours": {"watermark": "none", "subtitles": "auto"}},
        "subtitles_cjk": {"layers": (), "subs": SubtitleTrackSpec(CJK_LINES),
                          "ours": {"watermark": "none", "subtitles": "auto"}},
    }  # fmt: skip


def clean_frames(path: Path, limit: int) -> Iterator[np.ndarray]:
    for i, f in iter_frames(path):
        if i >= limit:
            return
        yield f


def make_overlaid(clean: Path, out: Path, spec: dict, fps: Fraction, limit: int) -> list[np.ndarray]:
    """Write the overlaid clip (near-lossless) and return the per-frame true masks (packed)."""
    src = open_source(clean)
    masks = []
    with FrameWriter(out, width=src.width, height=src.height, fps=fps, encoding=NEAR_LOSSLESS) as wr:
        for frame, mask in overlay_frames(
            clean_frames(clean, limit), fps, layers=spec["layers"], subtitles=spec["subs"]
        ):
            wr.write(frame)
            masks.append(np.packbits(mask))
    return masks


def unpack(m: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.unpackbits(m, count=h * w).reshape(h, w).astype(bool)


# --------------------------------------------------------------------------------------------------- peers


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def run_delogo(inp: Path, out: Path, union: np.ndarray) -> None:
    h, w = union.shape
    x, y, bw, bh = bbox(union)
    x, y = max(1, x - 1), max(1, y - 1)  # delogo needs a border of real pixels around the band
    bw, bh = min(w - 1 - x, bw + 2), min(h - 1 - y, bh + 2)
    run_ffmpeg(
        [
            "-i",
            inp,
            "-vf",
            f"delogo=x={x}:y={y}:w={bw}:h={bh}",
            "-c:v",
            "libx264",
            "-crf",
            "10",
            "-preset",
            "veryfast",
            out,
        ]
    )


def run_removelogo(inp: Path, out: Path, union: np.ndarray, tmp: Path) -> None:
    png = tmp / "removelogo_mask.png"
    grown = cv2.dilate(union.astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
    cv2.imwrite(str(png), grown)
    run_ffmpeg(
        ["-i", inp, "-vf", f"removelogo=f={png}", "-c:v", "libx264", "-crf", "10", "-preset", "veryfast", out]
    )


def run_telea(inp: Path, out: Path, masks: list[np.ndarray], fps: Fraction) -> None:
    src = open_source(inp)
    k = np.ones((3, 3), np.uint8)
    with FrameWriter(out, width=src.width, height=src.height, fps=fps, encoding=NEAR_LOSSLESS) as wr:
        for i, frame in iter_frames(inp):
            m = cv2.dilate(unpack(masks[i], src.height, src.width).astype(np.uint8), k)
            wr.write(cv2.inpaint(frame, m, 5, cv2.INPAINT_TELEA) if m.any() else frame)


def see_through(spec: dict) -> bool:
    """An overlay class whose logo layers are see-through (no pixel fully opaque)."""
    return bool(spec["layers"]) and min(float(layer.alpha.max()) for layer in spec["layers"]) < 0.99


def run_oracle_inversion(inp: Path, out: Path, layers: tuple) -> None:
    """Not a peer: the see-through logo undone with its *true* alpha and colour, written the way ours writes
    (``write_video``, crf 16). The ceiling of any blend inversion on this input: the overlaid clip's own
    coding error is amplified by 1/(1−α) where it is undone."""
    (layer,) = layers
    a, col = layer.alpha[..., None], layer.colour
    frames = (np.clip((f - a * col) / (1 - a) + 0.5, 0, 255).astype(np.uint8) for _, f in iter_frames(inp))
    write_video(open_source(inp), frames, out)


def true_detection(inp: Path, masks: list[np.ndarray], spec: dict, h: int, w: int) -> Detection:
    """A :class:`Detection` made from the true masks (grown 1 px, as the Telea peer gets them): a see-through
    logo's blend is estimated from its mask, an opaque logo is all opaque (its true alpha is 1)."""
    k = np.ones((3, 3), np.uint8)
    grown = [cv2.dilate(unpack(m, h, w).astype(np.uint8), k).astype(bool) for m in masks]
    if spec["layers"]:
        union = np.zeros((h, w), bool)
        for g in grown:
            union |= g
        if see_through(spec):
            return Detection(estimate_blend(inp, union), (), None)
        z = np.zeros((h, w, 3), np.float32)
        return Detection(MarkEstimate(union, z + 1, z, union.copy(), 1.0, (bbox(union),)), (), None)
    packed = tuple(np.packbits(g).tobytes() if g.any() else None for g in grown)
    return Detection(None, (), SubtitleTrack(h, w, packed, ()))


# ------------------------------------------------------------------------------------------------- metrics


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))


def measure(out: Path, clean: Path, masks: list[np.ndarray], limit: int) -> dict:
    src = open_source(clean)
    h, w = src.height, src.width
    se = n = 0.0
    ssim_sum = ssim_n = 0.0
    flick_out = flick_ref = flick_n = 0.0
    prev_o = prev_c = None
    prev_m = None
    for (i, o), c in zip(iter_frames(out), clean_frames(clean, limit), strict=False):
        m = unpack(masks[i], h, w)
        of, cf = o.astype(np.float64), c.astype(np.float64)
        if m.any():
            d = (of - cf)[m]
            se += float((d * d).sum())
            n += d.size
            sm = _ssim_map(cv2.cvtColor(o, cv2.COLOR_RGB2GRAY), cv2.cvtColor(c, cv2.COLOR_RGB2GRAY))
            ssim_sum += float(sm[m].sum())
            ssim_n += float(m.sum())
        if prev_o is not None and m.any() and prev_m is not None:
            both = m & prev_m
            if both.any():
                flick_out += float(np.abs(of - prev_o)[both].mean())
                flick_ref += float(np.abs(cf - prev_c)[both].mean())
                flick_n += 1
        prev_o, prev_c, prev_m = of, cf, m
    mse = se / max(n, 1)
    return {
        "psnr_db": round(10 * np.log10(255**2 / max(mse, 1e-9)), 2),
        "ssim": round(ssim_sum / max(ssim_n, 1), 4),
        "flicker": round((flick_out - flick_ref) / max(flick_n, 1), 3),
    }


def iou_fp(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    union = (pred | truth).sum()
    return (float((pred & truth).sum() / union) if union else 1.0), float((pred & ~truth).mean())


# ---------------------------------------------------------------------------------------------------- run


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_clip(name: str, clean: Path, tmp: Path) -> dict:
    src = open_source(clean)
    limit = min(src.frames, MAX_FRAMES)
    fps = src.fps
    result: dict = {"frames": limit, "size": [src.width, src.height], "classes": {}}
    for cls, spec in overlay_classes(src.height, src.width).items():
        work = tmp / f"{name}-{cls}"
        work.mkdir()
        inp = work / "overlaid.mp4"
        masks = make_overlaid(clean, inp, spec, fps, limit)
        union = np.zeros((src.height, src.width), bool)
        for m in masks:
            union |= unpack(m, src.height, src.width)
        row: dict = {"mask_area_fraction": round(float(union.mean()), 5)}
        methods = {
            "ours": lambda: clean_video(
                inp, work / "ours.mp4", report_path=work / "ours.json", **spec["ours"]
            ),
            "ffmpeg_delogo": lambda: run_delogo(inp, work / "ffmpeg_delogo.mp4", union),
            "ffmpeg_removelogo": lambda: run_removelogo(inp, work / "ffmpeg_removelogo.mp4", union, work),
            "opencv_telea_true_mask": lambda: run_telea(inp, work / "opencv_telea_true_mask.mp4", masks, fps),
            "ours_two_pass": lambda: clean_video(
                inp, work / "ours_two_pass.mp4", passes="auto", **spec["ours"]
            ),
            "ours_true_mask": lambda: clean_video(
                inp, work / "ours_true_mask.mp4",
                detection=true_detection(inp, masks, spec, src.height, src.width),
            ),  # fmt: skip
        }
        if see_through(spec):
            methods["inversion_oracle"] = lambda: run_oracle_inversion(inp, work / "inversion_oracle.mp4",
                                                                       spec["layers"])  # fmt: skip
        ours = ("ours", "ours_two_pass", "ours_true_mask", "inversion_oracle")  # not peers
        for method, fn in methods.items():
            try:
                seconds = timed(fn)
            except Exception as exc:  # noqa: BLE001 - a peer failing is a result, not a crash
                row[method] = {"error": str(exc)[:300]}
                continue
            row[method] = {
                **measure(work / f"{method}.mp4", clean, masks, limit),
                "fps": round(limit / seconds, 2),
            }
            print(f"{name:15s} {cls:22s} {method:24s} {row[method]}", flush=True)  # noqa: T201
        report = json.loads((work / "ours.json").read_text()) if (work / "ours.json").is_file() else {}
        det = report.get("detection", {})
        if spec["layers"] and det.get("static"):
            pred = np.zeros_like(union)
            for x, y, bw, bh in det["static"]["boxes"]:
                pred[y : y + bh, x : x + bw] = True
            row["detection_box_iou"], _ = iou_fp(pred, union)
        peers = [row[m]["psnr_db"] for m in methods if m not in ours and "psnr_db" in row.get(m, {})]
        if "psnr_db" in row.get("ours", {}) and peers:
            row["ours_minus_best_peer_db"] = round(row["ours"]["psnr_db"] - max(peers), 2)
        if "psnr_db" in row.get("ours_true_mask", {}) and peers:
            row["ours_true_mask_minus_best_peer_db"] = round(row["ours_true_mask"]["psnr_db"] - max(peers), 2)
        result["classes"][cls] = row
    return result


def detection_quality(name: str, clean: Path, tmp: Path) -> dict:
    """Pixel IoU of our masks vs truth on overlaid clips, and false-positive area on the clean clip."""
    src = open_source(clean)
    limit = min(src.frames, MAX_FRAMES)
    out: dict = {}
    det = detect(clean, watermark="auto", subtitles="auto")
    fp = np.zeros((src.height, src.width), bool)
    if det.static is not None:
        fp |= det.static.mask
    sub_fp = 0.0
    if det.subtitles is not None:
        sub_fp = float(np.mean([det.subtitles.mask(i).mean() if det.subtitles.mask(i) is not None else 0.0
                                for i in range(min(limit, len(det.subtitles.packed)))]))  # fmt: skip
    out["clean_clip_false_positive_area"] = {
        "static": round(float(fp.mean()), 5),
        "subtitles": round(sub_fp, 5),
    }
    for cls, spec in overlay_classes(src.height, src.width).items():
        inp = tmp / f"{name}-{cls}" / "overlaid.mp4"
        masks_path = tmp / f"{name}-{cls}"
        if not inp.is_file():
            continue
        truth_masks = make_overlaid(clean, masks_path / "again.mp4", spec, src.fps, limit)
        if spec["layers"]:
            d = detect(inp, watermark="auto", subtitles="none")
            truth = unpack(truth_masks[0], src.height, src.width)
            pred = d.static.mask if d.static is not None else np.zeros_like(truth)
            iou, fpa = iou_fp(pred, truth)
        else:
            d = detect(inp, watermark="none", subtitles="auto")
            inter = union = fpa_sum = 0.0
            for i, tm in enumerate(truth_masks):
                t = unpack(tm, src.height, src.width)
                p = d.subtitles.mask(i) if d.subtitles is not None else None
                p = np.zeros_like(t) if p is None else p
                # a removal mask must cover the text and its outline: score against the truth grown by 2 px
                tg = cv2.dilate(t.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
                inter += float((p & tg).sum())
                union += float((p | t).sum())
                fpa_sum += float((p & ~tg).mean())
            iou, fpa = inter / max(union, 1), fpa_sum / len(truth_masks)
        out[cls] = {"iou": round(iou, 4), "false_positive_area": round(fpa, 5)}
    return out


def throughput_720p(clean: Path, tmp: Path) -> dict:
    """Ours at 1280x720 with a logo and subtitles, 120 frames: fps and the ratio to real time."""
    src = open_source(clean)
    frames = int(os.environ.get("BENCH_CLEANUP_720P_FRAMES", "120"))
    inp = tmp / "720p.mp4"
    h, w = 720, 1280
    layers = (logo_layer(h, w, box=(w - 300, 30, 260, 80), opacity=0.45, colour=(255, 255, 255),
                         text_colour=(30, 30, 30)),
              logo_layer(h, w, box=(30, 30, 220, 70), opacity=1.0, colour=(200, 30, 40)))  # fmt: skip
    up = (cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in clean_frames(clean, frames))
    with FrameWriter(inp, width=w, height=h, fps=src.fps, encoding=NEAR_LOSSLESS) as wr:
        for f, _ in overlay_frames(up, src.fps, layers=layers, subtitles=SubtitleTrackSpec(LATIN_LINES)):
            wr.write(f)
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), cpu_seconds()
    det = detect(inp)
    detect_seconds, detect_cpu = time.perf_counter() - t, cpu_seconds() - c
    c = cpu_seconds()
    result: list = []
    remove_seconds = timed(lambda: result.append(clean_video(inp, tmp / "720p_out.mp4", detection=det)))
    remove_cpu = cpu_seconds() - c
    two_pass_seconds = timed(lambda: result.append(
        clean_video(inp, tmp / "720p_two_pass.mp4", detection=det, passes="auto")))  # fmt: skip
    # what `reelwright clean IN --out OUT` takes: one call, detection included (a short clip is decoded once)
    seconds = timed(lambda: clean_video(inp, tmp / "720p_end_to_end.mp4"))
    rate = float(src.fps)
    return {"frames": frames, "load_avg_1m_at_start": round(load, 2), "seconds": round(seconds, 2),
            "fps": round(frames / seconds, 2), "realtime_ratio": round(frames / seconds / rate, 3),
            "detect_plus_removal_seconds": round(detect_seconds + remove_seconds, 2),
            "detect_seconds": round(detect_seconds, 2), "detect_cpu_seconds": round(detect_cpu, 2),
            "removal_seconds": round(remove_seconds, 2), "removal_cpu_seconds": round(remove_cpu, 2),
            "removal_fps": round(frames / remove_seconds, 2),
            "removal_realtime_ratio": round(frames / remove_seconds / rate, 3),
            "two_pass_backward": result[1].removal["backward_pass"],
            "two_pass_removal_seconds": round(two_pass_seconds, 2),
            "two_pass_realtime_ratio": round(frames / (detect_seconds + two_pass_seconds) / rate, 3),
            "removal_note": "seconds / realtime_ratio: one clean_video(IN, OUT) call, detection included (a"
                            " clip whose frames the detection held is decoded once); removal: decode + remove +"
                            " encode + mux given the detection (clean_video(detection=...)); CPU seconds: this"
                            " process's and its ffmpeg children's, all threads; two_pass: detection plus the"
                            " removal with passes='auto' (a backward pass where the forward one carried or painted)",
            "detection_summary": det.summary()["static"]}  # fmt: skip


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children (the ffmpeg encoder)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Sizes and notes come from the environment: see the module doc."
    )
    parser.parse_args(argv)  # no options: --help explains, anything else is refused before minutes of work
    if not FIXTURES.is_dir():
        print(f"skipped: {FIXTURES} is absent (the benchmark needs the shared real clips)")  # noqa: T201
        return 0
    load = os.getloadavg()
    started = time.perf_counter()
    machine = {"cpus": os.cpu_count(), "load_avg_1m_at_start": round(load[0], 2),
               "python": platform.python_version(), "note": os.environ.get("BENCH_NOTE", "")}
    results: dict = {"machine": machine,
                     "max_frames_per_clip": MAX_FRAMES, "clips": {}, "detection": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-cleanup-") as td:
        tmp = Path(td)
        for name, file in CLIPS.items():
            clean = FIXTURES / file
            if not clean.is_file():
                print(f"skipped {name}: {clean} is absent")  # noqa: T201
                continue
            results["clips"][name] = bench_clip(name, clean, tmp)
            results["detection"][name] = detection_quality(name, clean, tmp)
            print(name, json.dumps(results["detection"][name]), flush=True)  # noqa: T201
        if (FIXTURES / CLIPS["tears_of_steel"]).is_file():
            results["throughput_720p"] = throughput_720p(FIXTURES / CLIPS["tears_of_steel"], tmp)
    results["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    results["machine"]["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results)
    out = ROOT / "bench" / "results" / "cleanup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=_plain) + "\n", encoding="utf-8")
    print(json.dumps(results["targets"], indent=2, default=_plain))  # noqa: T201
    return 0


def _plain(o: object) -> object:
    """numpy scalars → Python numbers for JSON."""
    return o.item() if hasattr(o, "item") else str(o)


def targets(r: dict) -> dict:
    t: dict = {}
    for clip, data in r["clips"].items():
        for cls, row in data["classes"].items():
            margin = row.get("ours_minus_best_peer_db")
            t[f"{clip}/{cls}: ours >= best peer + 3 dB"] = {
                "measured_db": margin,
                "met": margin is not None and margin >= 3,
            }
            tm = row.get("ours_true_mask_minus_best_peer_db")
            t[f"{clip}/{cls}: ours given the true mask >= best peer + 3 dB (removal alone)"] = {
                "measured_db": tm,
                "met": tm is not None and tm >= 3,
            }
            if cls == "semi_transparent_logo":
                p = row.get("ours", {}).get("psnr_db")
                ceiling = row.get("inversion_oracle", {}).get("psnr_db")
                t[f"{clip}/{cls}: >= 35 dB"] = {"measured_db": p, "met": p is not None and p >= 35,
                                                "inversion_oracle_db": ceiling}  # fmt: skip
    for clip, d in r["detection"].items():
        for cls, row in d.items():
            if cls == "clean_clip_false_positive_area":
                worst = max(row.values())
                t[f"{clip}: false-positive area on the clean clip < 0.5 %"] = {
                    "measured": worst,
                    "met": worst < 0.005,
                }
            else:
                t[f"{clip}/{cls}: detection IoU >= 0.8"] = {"measured": row["iou"], "met": row["iou"] >= 0.8}
    if "throughput_720p" in r:
        ratio = r["throughput_720p"]["realtime_ratio"]
        t["720p throughput >= 0.5x real time"] = {"measured": ratio, "met": ratio >= 0.5}
        rr = r["throughput_720p"]["removal_realtime_ratio"]
        t["720p removal alone (given the detection) >= 0.5x real time"] = {"measured": rr, "met": rr >= 0.5}
        two = r["throughput_720p"]["two_pass_realtime_ratio"]
        t["720p throughput with passes=auto >= 0.5x real time"] = {"measured": two, "met": two >= 0.5}
    return t


if __name__ == "__main__":
    sys.exit(main())
