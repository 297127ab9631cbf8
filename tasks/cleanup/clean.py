"""Clean one clip: detect (or take the user's mask), remove, write with audio and timing kept, report."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tasks.cleanup.detect import Detection, detect_keeping_frames
from tasks.cleanup.errors import CleanupError
from tasks.cleanup.remove import (
    HarmonicInpainter, Inpainter, RemovalSettings, RemovalStats, Inversion, remove_overlays_aged,
)  # fmt: skip
from tasks.cleanup.twoway import RegionStore, backward, clip_boxes, merged, store_bytes, store_dir
from tasks.cleanup.video_io import SourceVideo, iter_frames, open_source, write_video
from tasks.media.files import write_text_atomic

log = logging.getLogger("reelwright.cleanup")

BACKWARD_WHEN = 0.02  # passes="auto": the share of hole pixels carried or painted that calls a backward pass
_BOX = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


def parse_watermark(spec: str | None, src: SourceVideo) -> str | np.ndarray | None:
    """``auto`` | ``none`` | ``X,Y,W,H`` (pixels) | a mask image path → what :func:`detect` takes."""
    if spec is None or spec.strip().lower() in ("", "none", "off"):
        return None
    spec = spec.strip()
    if spec.lower() == "auto":
        return "auto"
    box = _BOX.match(spec)
    if box:
        x, y, w, h = map(int, box.groups())
        if w <= 0 or h <= 0:
            raise CleanupError(
                f"the box {spec} has zero size", field="--watermark", hint="give X,Y,W,H with W and H > 0"
            )
        if x + w > src.width or y + h > src.height:
            raise CleanupError(
                f"the box {spec} reaches outside the {src.width}x{src.height} frame", field="--watermark",
                hint=f"keep X+W ≤ {src.width} and Y+H ≤ {src.height}",
            )  # fmt: skip
        mask = np.zeros((src.height, src.width), bool)
        mask[y : y + h, x : x + w] = True
        return mask
    if "," in spec and not Path(spec).exists():
        raise CleanupError(
            f"cannot read {spec!r} as X,Y,W,H",
            field="--watermark",
            hint="four whole numbers, e.g. 20,20,120,40",
        )
    return load_mask(spec, src)


def load_mask(path: str | Path, src: SourceVideo) -> np.ndarray:
    """A mask image (white = remove) of the video's size, as a bool array."""
    path = Path(path)
    if not path.is_file():
        raise CleanupError(
            "mask image not found",
            file=path,
            field="--watermark",
            hint="pass auto, X,Y,W,H or an existing PNG",
        )
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CleanupError(
            "is not a readable image", file=path, field="--watermark", hint="save the mask as an 8-bit PNG"
        )
    if img.ndim == 3:
        img = img[..., 3] if img.shape[2] == 4 and img[..., 3].min() < 255 else img[..., :3].max(axis=2)
    if img.shape != (src.height, src.width):
        raise CleanupError(
            f"mask is {img.shape[1]}x{img.shape[0]} but the video is {src.width}x{src.height}", file=path,
            field="--watermark", hint="draw the mask at the video's resolution",
        )  # fmt: skip
    mask = img > (img.max() / 2 if img.max() > 0 else 0)
    if not mask.any():
        raise CleanupError(
            "mask is empty (no white pixels)",
            file=path,
            field="--watermark",
            hint="paint what to remove white",
        )
    return mask


@dataclass(frozen=True, slots=True)
class CleanResult:
    input: str
    output: str
    frames: int
    seconds: float
    fps: float
    detection: dict
    removal: dict

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _holes(det: Detection, src: SourceVideo):  # noqa: ANN202 - returns the per-frame hole function
    static = det.static.opaque if det.static is not None else None
    grow = np.ones((5, 5), np.uint8)
    moving = [(a, b, cv2.dilate(m.astype(np.uint8), grow).astype(bool)) for a, b, m in det.moving]

    def holes(i: int) -> np.ndarray | None:
        parts = []
        if static is not None and static.any():
            parts.append(static)
        parts += [m for a, b, m in moving if a <= i <= b]
        if det.subtitles is not None:
            s = det.subtitles.mask(i)
            if s is not None:
                parts.append(s)
        if not parts:
            return None
        out = parts[0].copy()
        for p in parts[1:]:
            out |= p
        return out

    return holes


def _drain(frames: list[np.ndarray]) -> Iterator[np.ndarray]:
    """``frames`` in order, each let go once taken (the list is emptied at once)."""
    ahead = deque(frames)
    frames.clear()
    while ahead:
        yield ahead.popleft()


def _check_count(written: int, src: SourceVideo) -> int:
    if written != src.frames:
        raise CleanupError(
            f"wrote {written} frames but the input has {src.frames}", file=src.path,
            hint="the input's frame count in its header is wrong or it is damaged; remux it with ffmpeg first",
        )  # fmt: skip
    return written


def clean_video(
    input_path: str | Path,
    output_path: str | Path,
    *,
    watermark: str | None = "auto",
    subtitles: str | None = "auto",
    report_path: str | Path | None = None,
    inpainter: Inpainter | None = None,
    band: tuple[float, float] | None = None,
    moving: bool = False,
    detection: Detection | None = None,
    passes: str | int = 1,
) -> CleanResult:
    """Remove watermarks/logos and burned-in subtitles from ``input_path`` into ``output_path`` (atomic).

    ``detection`` skips detection and removes what it holds (e.g. a detection made once and reviewed);
    ``watermark``, ``subtitles``, ``band`` and ``moving`` are then not used. ``passes``: ``1`` (the default)
    removes in one forward pass; ``"auto"`` adds a backward pass (:mod:`tasks.cleanup.twoway`) when the forward
    one carried or painted at least :data:`BACKWARD_WHEN` of the hole pixels, ``2`` always (about twice the
    time; what only frames later than the forward window show is then filled from them).
    """
    t0 = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    if input_path.resolve() == output_path.resolve():
        raise CleanupError(
            "output would overwrite the input", file=output_path, hint="choose another --out path"
        )
    passes = str(passes).strip().lower()
    if passes not in ("auto", "1", "2"):
        raise CleanupError(
            f"unknown number of passes {passes!r}", field="--passes",
            hint="auto (a backward pass where the forward one had to carry or paint), 1 or 2",
        )  # fmt: skip
    src = open_source(input_path)
    decoded: list[np.ndarray] | None = None  # the detection's frames, when it held every one (a short clip)
    if detection is None:
        wm = parse_watermark(watermark, src)
        det, decoded = detect_keeping_frames(input_path, watermark=wm, subtitles=subtitles, band=band,
                                             moving=moving)  # fmt: skip
    else:
        det = detection
    stats: list[RemovalStats] = []
    holes = _holes(det, src)
    inpainter = inpainter or HarmonicInpainter()
    with store_dir(output_path) as tmp:
        boxes = clip_boxes(holes, src.frames, RemovalSettings().margin) if passes != "1" else []
        skipped = None
        if boxes and store_bytes(boxes, src.frames) > 0.8 * shutil.disk_usage(tmp).free:
            skipped = (f"the region crops of a backward pass need {store_bytes(boxes, src.frames) / 1e9:.1f} GB, "
                       f"more than {Path(tmp).parent} has free")  # fmt: skip
            log.warning("one pass only: %s", skipped)
            boxes = []
        store = RegionStore(boxes, src.frames, tmp) if boxes else None
        frames = _drain(decoded) if decoded is not None else (f for _, f in iter_frames(src.path))
        cleaned = remove_overlays_aged(frames, holes, mark=det.static, inpainter=inpainter, stats_out=stats)
        if store is None:  # one pass: streamed straight to the encoder
            written = _check_count(write_video(src, (f for f, _ in cleaned), output_path), src)
            unseen, ran = 0.0, False
        else:  # the regions are kept; the frames are decoded again and written once the passes are done
            written = 0
            for f, age in cleaned:
                if written >= src.frames:
                    _check_count(written + 1, src)  # more frames than the header says: the error names it
                store.keep(written, f, age, holes(written) if age is not None else None)
                written += 1
            _check_count(written, src)
            unseen = store.unseen()
            ran = passes == "2" or unseen >= BACKWARD_WHEN
            if ran:
                backward(store, inpainter=inpainter, settings=None)
            invert = Inversion(det.static) if det.static is not None else None
            frames = (f for _, f in iter_frames(src.path))
            _check_count(write_video(src, merged(frames, store, invert), output_path), src)
    seconds = time.perf_counter() - t0
    st = stats[0] if stats else RemovalStats(written, 0, 0, 0, 0)
    result = CleanResult(
        input=str(input_path), output=str(output_path), frames=written, seconds=round(seconds, 3),
        fps=round(written / seconds, 2) if seconds else 0.0, detection=det.summary(),
        removal={"inverted": det.static is not None and bool((det.static.mask & ~det.static.opaque).any()),
                 "hole_pixels": st.hole_pixels, "from_neighbours": st.from_neighbours,
                 "from_previous_output": st.from_previous, "inpainted": st.from_inpainter,
                 "inpainter": inpainter.name,
                 "backward_pass": {"unseen_share": round(unseen, 4), "ran": ran, "skipped": skipped}},
    )  # fmt: skip
    if report_path is not None:
        write_text_atomic(report_path, json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    return result


VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi")


def collect_inputs(folder_or_files: str | Path | list[str | Path]) -> list[Path]:
    """The video files of a folder (sorted, non-recursive) or the given files, checked to exist."""
    items = [folder_or_files] if isinstance(folder_or_files, str | Path) else list(folder_or_files)
    found: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES)
        elif p.is_file():
            found.append(p)
        else:
            raise CleanupError(
                "no such file or folder", file=p, hint="pass a video file or a folder of videos"
            )
    if not found:
        raise CleanupError(
            f"no video files ({', '.join(VIDEO_SUFFIXES)}) found", file=str(folder_or_files),
            hint="check the folder holds the clips",
        )  # fmt: skip
    return found


def batch_output(input_path: str | Path, out_dir: str | Path, suffix: str = ".clean") -> Path:
    """Where a batch writes the result for ``input_path``: ``OUT_DIR/<stem><suffix>.mp4``."""
    return Path(out_dir) / f"{Path(input_path).stem}{suffix}.mp4"
