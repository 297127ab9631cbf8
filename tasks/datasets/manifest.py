"""The dataset manifest: one JSON record per line, canonical, so its SHA-256 names the dataset.

Records, in this order (the order is part of the contract: the same DB state gives the same bytes):

* ``{"kind": "take", "id": "take-<take id>", "label": "positive"|"negative"|"neutral", ...}`` — a judged take,
  sorted by take id: its media (``uri``, ``digest``, ``duration``; ``file`` when copied), the judgement
  (``ratings``, ``score``, ``approved``, ``retake``, ``tags``, ``comments``), annotations (``time_ranges``,
  ``frame_mask`` at ``fps``, ``masks``: one PNG per region, paths relative to the dataset directory) and, for
  toy-world takes, ``toy`` (prompt + seed, enough to regenerate the latents) and ``latents`` (the sidecar
  file).
* ``{"kind": "pair", "id": "pair-<winner>-<loser>", "winner": "take-…", "loser": "take-…", "margin": …}`` —
  two takes of the same shot with different judgements, sorted by (episode, shot, winner, loser).

Neutral takes appear only when a pair needs them. Paths inside the dataset are relative, so where a dataset is
written does not change its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.errors import ReelwrightError

MANIFEST_NAME = "manifest.jsonl"
SUMMARY_NAME = "dataset.json"
LATENTS_SUFFIX = ".latents.npz"


class DatasetError(ReelwrightError):
    """A dataset that cannot be built or read: no feedback yet, nothing usable, a damaged manifest."""


def canonical_line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def manifest_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    return "".join(canonical_line(r) + "\n" for r in records).encode("utf-8")


def manifest_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def latents_sidecar(media_uri: str | Path) -> Path:
    """Where a toy-world take keeps its latents: next to its media, ``clip.mp4`` → ``clip.latents.npz``.

    The file holds ``video (3, F, h, w)`` and ``audio (C, N)`` float32 arrays (what the sampler produced)."""
    path = Path(str(media_uri))
    return path.with_name(path.stem + LATENTS_SUFFIX)


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest read back: takes by id, pairs in file order, and the hash of the file's bytes."""

    path: Path
    hash: str
    takes: dict[str, dict[str, Any]]
    pairs: list[dict[str, Any]]

    @property
    def root(self) -> Path:
        return self.path.parent

    def positives(self) -> list[dict[str, Any]]:
        return [t for t in self.takes.values() if t["label"] == "positive"]

    def negatives(self) -> list[dict[str, Any]]:
        return [t for t in self.takes.values() if t["label"] == "negative"]


def read_manifest(path: str | Path) -> Manifest:
    """Read a manifest file (or the ``manifest.jsonl`` in a dataset directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(
            f"cannot read the dataset manifest: {exc.strerror}",
            file=path,
            hint="build one with `reelwright dataset build --out DIR`",
        ) from None
    takes: dict[str, dict[str, Any]] = {}
    pairs: list[dict[str, Any]] = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not JSON: {exc.msg}", file=path, line=n) from None
        kind = record.get("kind") if isinstance(record, dict) else None
        if kind == "take":
            takes[record["id"]] = record
        elif kind == "pair":
            pairs.append(record)
        else:
            raise DatasetError(
                f"unknown record kind {kind!r}",
                file=path,
                line=n,
                hint="a manifest holds 'take' and 'pair' records",
            )
    for i, pair in enumerate(pairs):
        for side in ("winner", "loser"):
            if pair.get(side) not in takes:
                raise DatasetError(
                    f"pair {pair.get('id')} names {side} {pair.get(side)!r}, which is not in the manifest",
                    file=path,
                    field=f"pairs.{i}.{side}",
                )
    return Manifest(path=path, hash=manifest_hash(data), takes=takes, pairs=pairs)
