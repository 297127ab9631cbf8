"""Atomic output: write to a temporary sibling, then rename, so no partial file ever sits at an output path."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once: os.umask can only be read by setting it, which is not thread-safe


@contextlib.contextmanager
def atomic_path(final: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success rename it onto ``final``, on error delete it.

    The temporary name keeps the final suffix (ffmpeg picks the muxer from it).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=suffix or final.suffix, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; deliverables get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes_atomic(final: str | Path, data: bytes) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def write_text_atomic(final: str | Path, text: str) -> Path:
    return write_bytes_atomic(final, text.encode("utf-8"))
