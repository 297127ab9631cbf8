"""Join shots by stream copy and mux the episode mix: each frame is encoded exactly once (ARCHITECTURE rule 6)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from tasks.media.ffmpeg import MediaError, run_ffmpeg


def _concat_list(paths: Sequence[Path], durations: Sequence[Fraction] | None, list_path: Path) -> None:
    lines = []
    for i, p in enumerate(paths):
        # The concat demuxer's quoting: single quotes, with embedded quotes escaped as '\''.
        escaped = str(Path(p).resolve()).replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
        if durations is not None:
            # Exact shot length: without it the demuxer uses the MP4 header's millisecond duration, and the
            # rounding shows up as uneven frame timestamps at every cut.
            lines.append(f"duration {float(durations[i]):.9f}")
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def join_and_mux(
    shots: Sequence[str | Path],
    audio_wav: str | Path,
    out_path: str | Path,
    *,
    audio_bitrate: str = "256k",
    durations: Sequence[Fraction] | None = None,
    gain_db: float = 0.0,
    timeout: float = 900.0,
) -> Path:
    """Concatenate ``shots`` (identical encoder settings) by stream copy and add ``audio_wav`` as AAC-LC 48 kHz stereo.

    ``out_path`` should be a temporary path that the caller renames into place. The MP4 gets +faststart.
    """
    if not shots:
        raise MediaError("no shots to assemble", hint="the plan has no shots: check the script has scenes")
    out_path = Path(out_path)
    list_path = out_path.with_name(out_path.name + ".concat.txt")
    _concat_list([Path(s) for s in shots], durations, list_path)
    try:
        run_ffmpeg(
            [
                "-f", "concat", "-safe", "0", "-i", str(list_path), "-i", str(audio_wav),
                "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                *(["-af", f"volume={gain_db:.3f}dB"] if gain_db else []),
                "-c:a", "aac", "-b:a", audio_bitrate, "-ar", "48000", "-ac", "2",
                "-movflags", "+faststart", "-metadata", "encoder=reelwright",
                "-f", "mp4", str(out_path),
            ],
            timeout=timeout,
        )  # fmt: skip
    finally:
        list_path.unlink(missing_ok=True)
    return out_path
