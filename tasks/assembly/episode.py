"""The episode: shots joined by stream copy with the mix muxed in (content-addressed), then delivered to OUT."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

from schemas.errors import ConfigError
from storage.assets import LocalAssetStore, code_version, content_key
from tasks.assembly.mux import join_and_mux
from tasks.media.files import atomic_path, write_text_atomic


def assemble_episode(
    store: LocalAssetStore,
    shot_videos: Sequence[str],
    mix_wav: str,
    *,
    durations: Sequence[Fraction] | None = None,
    audio_bitrate: str = "256k",
    true_peak_dbtp: float = -1.1,
) -> tuple[str, bool]:
    """Join ``shot_videos`` (of exact ``durations``) and mux ``mix_wav``; returns (path, cached)."""
    key = content_key(
        "episode", [Path(p).name for p in shot_videos], Path(mix_wav).name, audio_bitrate, true_peak_dbtp,
        [str(d) for d in durations or ()], code_version("tasks.assembly.mux", "tasks.assembly.episode"),
    )  # fmt: skip
    path = store.path("episodes", key, ".mp4")
    if path.is_file():
        return str(path), True
    with store.writing("episodes", key, ".mp4") as tmp:
        gain = 0.0
        for _ in range(4):
            join_and_mux(shot_videos, mix_wav, tmp, audio_bitrate=audio_bitrate, durations=durations, gain_db=gain)
            lufs, peak = encoded_loudness(tmp)
            if peak <= true_peak_dbtp:
                break
            # The AAC encode overshoots the mix's limiter on dense transients: trim by the excess and re-encode.
            gain -= peak - true_peak_dbtp + 0.05
        # QC reads this instead of decoding the same bytes again (the measurement is of this very file).
        loudness_sidecar(tmp).write_text(json.dumps({"integrated_lufs": lufs, "true_peak_dbtp": peak, "gain_db": gain}))
    loudness_sidecar(tmp).replace(loudness_sidecar(path))
    return str(path), False


def loudness_sidecar(episode: str | Path) -> Path:
    episode = Path(episode)
    return episode.with_name(episode.name + ".loudness.json")


def encoded_loudness(path: str | Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the encoded audio in ``path``, BS.1770."""
    from tasks.assembly.qc import decode_audio
    from tasks.audio.mix import measure

    return measure(decode_audio(path))


def check_output_dir(out: str | Path) -> Path:
    """Create ``out`` or explain why it cannot be used — before any work is done."""
    out = Path(out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".reelwright-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write to the output directory {out}: {exc.strerror or exc}",
            field="--out",
            hint="choose a directory you can write to (it is created if missing)",
        ) from None
    return out.resolve()


def copy_atomic(src: str | Path, dest: Path) -> Path:
    """Put ``src`` at ``dest`` atomically: a hard link when both are on one filesystem (stems and episodes are
    hundreds of MB and immutable in the store), a copy otherwise."""
    with atomic_path(dest) as tmp:
        try:
            tmp.unlink()
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    return dest


def deliver(
    out: Path,
    *,
    episode: str,
    files: Mapping[str, str | Path],
    documents: Mapping[str, object],
) -> dict[str, str]:
    """Copy ``episode`` and ``files`` (name → source) into ``out`` and write ``documents`` (name → JSON value).

    Every file appears by atomic rename; the episode last, so its presence means the delivery is complete.
    """
    written: dict[str, str] = {}
    for name, src in files.items():
        written[name] = str(copy_atomic(src, out / name))
    for name, value in documents.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
        written[name] = str(write_text_atomic(out / name, text))
    written["episode.mp4"] = str(copy_atomic(episode, out / "episode.mp4"))
    return written
