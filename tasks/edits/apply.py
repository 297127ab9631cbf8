"""Apply an edit list to one clip and write it (encoded once, audio kept in step with trims and retimes)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from schemas.edits import EditError, EditOp, load_edits
from tasks.cleanup.errors import CleanupError
from tasks.cleanup.video_io import iter_frames, open_source, write_video
from tasks.edits.clip import Clip
from tasks.edits.ops import atempo_chain


@dataclass(frozen=True, slots=True)
class EditResult:
    input: str
    output: str
    operations: tuple[str, ...]
    frames: int
    width: int
    height: int
    seconds: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def source_clip(path: str | Path) -> Clip:
    try:
        src = open_source(path)
    except CleanupError as exc:
        raise EditError(exc.message, file=exc.file, hint=exc.hint) from None

    def frames() -> Iterator[np.ndarray]:
        for _, f in iter_frames(src.path):
            yield f

    return Clip(frames=frames, width=src.width, height=src.height, fps=src.fps, count=src.frames)


def apply_edits(
    input_path: str | Path, edits: str | Path | Sequence[EditOp], output_path: str | Path
) -> EditResult:
    """Apply ``edits`` (an edit-list file or parsed operations) in order to ``input_path``; write ``output_path``."""
    t0 = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    if input_path.resolve() == output_path.resolve():
        raise EditError(
            "output would overwrite the input", file=output_path, hint="choose another --out path"
        )
    ops = load_edits(edits) if isinstance(edits, str | Path) else tuple(edits)
    if not ops:
        raise EditError("no operations to apply", hint="list at least one operation in the edit list")
    src = open_source(input_path)
    clip = source_clip(input_path)
    for op in ops:
        clip = op.apply(clip)
    timing_changed = clip.tempo != 1 or clip.audio_start != 0 or clip.audio_end is not None
    audio_trim = None
    if timing_changed and src.has_audio:
        end = clip.audio_end if clip.audio_end is not None else clip.source_seconds(clip.count)
        audio_trim = (clip.audio_start, end)
    written = write_video(
        src, clip.frames(), output_path, size=(clip.width, clip.height),
        audio_trim=audio_trim, audio_filter=atempo_chain(clip.tempo) if clip.tempo != 1 and src.has_audio else None,
    )  # fmt: skip
    if written != clip.count:
        raise EditError(f"wrote {written} frames, expected {clip.count}", file=input_path,
                        hint="the input's header frame count is wrong; remux it with ffmpeg first")  # fmt: skip
    return EditResult(str(input_path), str(output_path), tuple(op.op for op in ops), written, clip.width, clip.height,
                      round(time.perf_counter() - t0, 3))  # fmt: skip


def fraction_seconds(frames: int, fps: Fraction) -> float:
    return float(Fraction(frames) / fps)
