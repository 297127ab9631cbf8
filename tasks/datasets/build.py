"""Build a training dataset from the feedback database.

What producers said becomes a judgement per take:

* **ratings** — every 1–5 rating on the take, or on the shot of a render (it applies to that shot's takes);
* **decisions** — *approve* marks the take; *retake* marks the take the render showed for that shot;
* **tags** — from the taxonomy (``great_take`` is a positive example, the others name problems).

A take is ``positive`` when approved, else ``negative`` when a retake was asked for, else by its mean rating
(≥ 4 positive, ≤ 2 negative), else by its tags (only positive tags → positive, only negative → negative). Its
``score`` — mean rating (3 without one), +1 if approved, −1 if a retake was asked — orders takes of the same
shot (same episode and shot id, across renders): every two judged takes whose scores differ by at least
``min_margin`` form a preference pair (winner, loser).

Annotations become masks: each region rectangle a PNG (255 inside) at the take's frame size (the toy world's
32×32 box for toy takes, 108×192 — a tenth of the 9:16 delivery frame — otherwise) with the frame it marks;
time ranges a per-frame 0/1 ``frame_mask``. Region and range times are seconds into the take.

The manifest (see :mod:`tasks.datasets.manifest`) depends only on the rows read, so the same DB state gives
the same bytes and the same hash wherever it is written; the dataset is then registered with
``register_dataset`` together with the ``db_state`` marker it was built from.
"""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from storage.models import TAG_TAXONOMY, Decision, Feedback, Render, Shot, Take
from tasks.datasets.manifest import (
    MANIFEST_NAME,
    SUMMARY_NAME,
    DatasetError,
    file_digest,
    latents_sidecar,
    manifest_bytes,
    manifest_hash,
)

TOY_FRAME = (32, 32)  # (W, H) of the toy world's box (model_core.latents.WORLD_SIZE)
DEFAULT_MASK_FRAME = (108, 192)  # (W, H): a tenth of the 1080x1920 delivery frame
DEFAULT_FPS = 30
POSITIVE_RATING, NEGATIVE_RATING = 4.0, 2.0


@dataclass(frozen=True, slots=True)
class BuiltDataset:
    """A dataset written to ``out_dir``; ``dataset_id``/``created`` are set once it is registered."""

    out_dir: Path
    manifest: Path
    manifest_hash: str
    counts: dict[str, int]
    db_state: dict[str, Any]
    filters: dict[str, Any]
    dataset_id: int | None = None
    created: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "manifest": str(self.manifest),
            "manifest_hash": self.manifest_hash,
            "counts": self.counts,
            "db_state": self.db_state,
            "filters": self.filters,
            "dataset_id": self.dataset_id,
            "created": self.created,
        }


@dataclass
class _Judgement:
    ratings: list[int] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)
    approved: bool = False
    retake: bool = False
    time_ranges: list[tuple[float, float]] = field(default_factory=list)
    regions: list[tuple[int, Any]] = field(default_factory=list)  # (feedback id, FeedbackRegion)

    @property
    def judged(self) -> bool:
        return bool(self.ratings) or self.approved or self.retake

    @property
    def mean_rating(self) -> float | None:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None

    @property
    def score(self) -> float:
        base = self.mean_rating if self.ratings else 3.0
        return base + (1.0 if self.approved else 0.0) - (1.0 if self.retake else 0.0)

    @property
    def label(self) -> str:
        if self.approved:
            return "positive"
        if self.retake:
            return "negative"
        mean = self.mean_rating
        if mean is not None:
            return (
                "positive"
                if mean >= POSITIVE_RATING
                else "negative"
                if mean <= NEGATIVE_RATING
                else "neutral"
            )
        good = {t for t in self.tags if TAG_TAXONOMY.get(t, (False, ""))[0]}
        bad = self.tags - good
        if good and not bad:
            return "positive"
        if bad and not good:
            return "negative"
        return "neutral"


def parse_since(text: str | None) -> datetime | None:
    """An ISO 8601 date or time (``2026-11-20``, ``2026-11-20T08:00``, ``…Z``); naive times are UTC."""
    if text is None or not str(text).strip():
        return None
    try:
        value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise DatasetError(
            f"--since {text!r} is not an ISO 8601 date or time",
            field="since",
            hint="e.g. 2026-11-20 or 2026-11-20T08:00:00Z",
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------------------
# Reading the judgements
# ------------------------------------------------------------------------------------------------------------


def _judgements(session: Session, since: datetime | None) -> tuple[dict[int, _Judgement], dict[str, int]]:
    fb_stmt = (
        select(Feedback)
        .options(selectinload(Feedback.tags), selectinload(Feedback.regions))
        .order_by(Feedback.id)
    )
    dec_stmt = select(Decision).order_by(Decision.id)
    if since is not None:
        fb_stmt = fb_stmt.where(Feedback.created_at >= since)
        dec_stmt = dec_stmt.where(Decision.created_at >= since)
    notes = list(session.scalars(fb_stmt))
    decisions = list(session.scalars(dec_stmt))
    if not notes and not decisions:
        total = session.scalar(select(func.count(Feedback.id))) or 0
        total += session.scalar(select(func.count(Decision.id))) or 0
        if total == 0:
            raise DatasetError(
                "no feedback yet: the database holds no ratings, tags or decisions",
                hint="rate some takes in the dashboard (or POST /api/feedback) first",
            )
        raise DatasetError(
            f"no feedback since {since.isoformat()} ({total} older notes and decisions)",
            field="since",
            hint="use an earlier --since, or leave it out",
        )

    shot_pks = {fb.shot_pk for fb in notes if fb.target == "shot" and fb.shot_pk is not None}
    takes_of_shot: dict[int, list[int]] = defaultdict(list)
    if shot_pks:
        for take_id, shot_pk in session.execute(
            select(Take.id, Take.shot_pk).where(Take.shot_pk.in_(shot_pks)).order_by(Take.id)
        ):
            takes_of_shot[shot_pk].append(take_id)
    retake_keys = {
        (d.render_id, d.shot_id) for d in decisions if d.kind == "retake" and d.render_id is not None
    }
    shown: dict[tuple[int, str], int] = {}
    if retake_keys:
        rows = session.execute(
            select(Shot.render_id, Shot.shot_id, func.max(Take.id))
            .join(Take, Take.shot_pk == Shot.id)
            .where(Shot.render_id.in_({r for r, _ in retake_keys}))
            .group_by(Shot.render_id, Shot.shot_id)
        )
        shown = {(r, s): t for r, s, t in rows if (r, s) in retake_keys}

    judged: dict[int, _Judgement] = defaultdict(_Judgement)
    counts = {"feedback": len(notes), "decisions": len(decisions), "episode_notes": 0, "unresolved": 0}
    for fb in notes:
        if fb.target == "take" and fb.take_pk is not None:
            targets = [fb.take_pk]
        elif fb.target == "shot" and fb.shot_pk is not None:
            targets = takes_of_shot.get(fb.shot_pk, [])
        else:
            counts["episode_notes"] += 1
            continue
        if not targets:
            counts["unresolved"] += 1
        for take_id in targets:
            j = judged[take_id]
            if fb.rating is not None:
                j.ratings.append(int(fb.rating))
            j.tags.update(t.tag for t in fb.tags)
            if fb.comment and fb.comment.strip():
                j.comments.append(fb.comment.strip())
            if fb.t_start is not None or fb.t_end is not None:
                t0 = float(fb.t_start if fb.t_start is not None else 0.0)
                j.time_ranges.append((t0, float(fb.t_end if fb.t_end is not None else t0)))
            j.regions.extend((fb.id, r) for r in fb.regions)
    for d in decisions:
        if d.kind == "approve" and d.take_pk is not None:
            judged[d.take_pk].approved = True
        elif d.kind == "retake" and (d.render_id, d.shot_id) in shown:
            judged[shown[(d.render_id, d.shot_id)]].retake = True
        else:
            counts["unresolved"] += 1
    return dict(judged), counts


# ------------------------------------------------------------------------------------------------------------
# Masks
# ------------------------------------------------------------------------------------------------------------


def _rect_pixels(x: float, y: float, w: float, h: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixel box ``(x0, y0, x1, y1)`` (exclusive ends, at least one pixel) of a fractional rectangle."""
    width, height = size
    x0 = min(width - 1, max(0, math.floor(x * width + 1e-9)))
    y0 = min(height - 1, max(0, math.floor(y * height + 1e-9)))
    x1 = max(x0 + 1, min(width, math.ceil((x + w) * width - 1e-9)))
    y1 = max(y0 + 1, min(height, math.ceil((y + h) * height - 1e-9)))
    return x0, y0, x1, y1


def write_region_mask(path: Path, box: tuple[int, int, int, int], size: tuple[int, int]) -> str:
    """A grayscale PNG of ``size`` (W, H): 255 inside ``box``, 0 elsewhere. Returns its SHA-256."""
    import numpy as np
    from PIL import Image

    from tasks.media.files import atomic_path

    width, height = size
    mask = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(mask, mode="L").save(tmp, format="PNG", optimize=False)
    return file_digest(path)


def _frame_mask(ranges: list[tuple[float, float]], fps: float, frames: int) -> list[int]:
    """1 for each frame whose time ``i / fps`` lies in a range (a zero-length range marks its frame)."""
    out = [0] * frames
    for t0, t1 in ranges:
        first = max(0, math.floor(t0 * fps + 1e-9))
        last = min(frames - 1, max(first, math.ceil(t1 * fps - 1e-9)))
        for i in range(first, last + 1):
            out[i] = 1
    return out


# ------------------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------------------


def _toy(plan: Any, seed: int, take_id: int) -> dict[str, Any] | None:
    toy = plan.get("toy") if isinstance(plan, dict) else None
    if toy is None:
        return None
    if not isinstance(toy, dict) or not isinstance(toy.get("prompt"), str) or not toy["prompt"].strip():
        raise DatasetError(
            f"take {take_id}: the shot plan's 'toy' entry needs a non-empty 'prompt'",
            field="shots.plan.toy",
            hint='record toy shots with plan {"toy": {"prompt": "…"}}',
        )
    return {**toy, "prompt": toy["prompt"].strip(), "seed": int(seed)}


def build_dataset(
    session: Session,
    out_dir: str | Path,
    *,
    since: datetime | str | None = None,
    min_margin: float = 1.0,
    copy_media: bool = False,
) -> BuiltDataset:
    """Write ``manifest.jsonl`` (+ ``masks/``, ``media/`` when copying, ``dataset.json``) into ``out_dir``.

    Raises :class:`DatasetError` when there is no feedback (since ``since``) or no take it can resolve.
    """
    from storage.repositories.registry import db_state

    if min_margin <= 0:
        raise DatasetError(f"min_margin must be positive, got {min_margin}", field="min_margin")
    since_dt = parse_since(since) if isinstance(since, str) or since is None else since
    if since_dt is not None and since_dt.tzinfo is None:
        since_dt = since_dt.replace(tzinfo=UTC)
    out = Path(out_dir)
    state = db_state(session)
    judged, counts = _judgements(session, since_dt)
    if not judged:
        raise DatasetError(
            f"the {counts['feedback']} notes and {counts['decisions']} decisions read name no take "
            "(only episode-level notes or shots without takes)",
            hint="rate takes or shots of a render, or approve / retake them",
        )
    rows = session.execute(
        select(Take, Shot, Render.episode_id)
        .join(Shot, Shot.id == Take.shot_pk)
        .join(Render, Render.id == Shot.render_id)
        .where(Take.id.in_(judged))
        .order_by(Take.id)
    ).all()

    takes: dict[int, dict[str, Any]] = {}
    by_shot: dict[tuple[int, str], list[int]] = defaultdict(list)
    for take, shot, episode_id in rows:
        j = judged[take.id]
        toy = _toy(shot.plan, take.seed, take.id)
        plan = shot.plan if isinstance(shot.plan, dict) else {}
        fps = float((toy or {}).get("fps") or plan.get("fps") or DEFAULT_FPS)
        frames = max(1, round(float(take.duration) * fps))
        size = tuple((toy or {}).get("frame_size") or (TOY_FRAME if toy is not None else DEFAULT_MASK_FRAME))
        record: dict[str, Any] = {
            "kind": "take",
            "id": f"take-{take.id}",
            "take_id": take.id,
            "episode_id": episode_id,
            "render_id": take.render_id,
            "shot_id": shot.shot_id,
            "scene_index": shot.scene_index,
            "take": take.take,
            "seed": int(take.seed),
            "uri": take.asset_uri,
            "digest": take.digest,
            "duration": round(float(take.duration), 6),
            "label": j.label,
            "score": round(j.score, 4),
            "ratings": j.ratings,
            "approved": j.approved,
            "retake": j.retake,
            "tags": sorted(j.tags),
            "comments": j.comments,
            "toy": toy,
            "latents": None,
            "fps": fps,
            "time_ranges": [[round(a, 6), round(b, 6)] for a, b in j.time_ranges],
            "frame_mask": _frame_mask(j.time_ranges, fps, frames) if j.time_ranges else None,
            "masks": [],
        }
        for fb_id, region in sorted(j.regions, key=lambda fr: fr[1].id):
            name = f"masks/take{take.id}-fb{fb_id}-r{region.id}.png"
            box = _rect_pixels(region.x, region.y, region.w, region.h, size)
            digest = write_region_mask(out / name, box, size)
            record["masks"].append(
                {
                    "png": name,
                    "digest": digest,
                    "size": list(size),
                    "box": list(box),
                    "t": round(float(region.t), 6),
                    "frame": min(frames - 1, max(0, math.floor(region.t * fps + 1e-9))),
                    "x": region.x,
                    "y": region.y,
                    "w": region.w,
                    "h": region.h,
                    "label": region.label,
                }
            )
        sidecar = latents_sidecar(take.asset_uri)
        if toy is not None and sidecar.is_file():
            record["latents"] = {"uri": str(sidecar), "digest": file_digest(sidecar)}
        if copy_media:
            record["file"] = _copy(take.asset_uri, out / "media", f"take{take.id}-{take.digest[:12]}")
            if record["latents"] is not None:
                record["latents"]["file"] = _copy(sidecar, out / "media", f"take{take.id}-{take.digest[:12]}")
        takes[take.id] = record
        if j.judged:
            by_shot[(episode_id, shot.shot_id)].append(take.id)

    pairs = []
    for (episode_id, shot_id), ids in sorted(by_shot.items()):
        for a in ids:
            for b in ids:
                margin = judged[a].score - judged[b].score
                if a == b or margin < min_margin - 1e-9 or _prompt(takes[a]) != _prompt(takes[b]):
                    continue  # a pair compares two takes of one request: same shot, same toy prompt
                pairs.append(
                    {
                        "kind": "pair",
                        "id": f"pair-{a}-{b}",
                        "episode_id": episode_id,
                        "shot_id": shot_id,
                        "winner": f"take-{a}",
                        "loser": f"take-{b}",
                        "margin": round(margin, 4),
                    }
                )
    in_pairs = {int(p[side].split("-")[1]) for p in pairs for side in ("winner", "loser")}
    kept = [r for tid, r in sorted(takes.items()) if r["label"] != "neutral" or tid in in_pairs]
    if not kept:
        raise DatasetError(
            f"{len(takes)} judged takes, but none is a positive, a negative or part of a preference pair",
            hint="ratings of 3 alone are neutral: rate ≥ 4 / ≤ 2, approve or ask for retakes",
        )
    records = kept + pairs
    data = manifest_bytes(records)
    digest = manifest_hash(data)
    from tasks.media.files import write_bytes_atomic, write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    manifest = write_bytes_atomic(out / MANIFEST_NAME, data)
    labels = [r["label"] for r in kept]
    counts = {
        **counts,
        "takes": len(kept),
        "positives": labels.count("positive"),
        "negatives": labels.count("negative"),
        "neutral": labels.count("neutral"),
        "pairs": len(pairs),
        "masks": sum(len(r["masks"]) for r in kept),
        "time_ranges": sum(len(r["time_ranges"]) for r in kept),
        "toy_takes": sum(1 for r in kept if r["toy"] is not None),
        "with_latents": sum(1 for r in kept if r["latents"] is not None),
    }
    filters = {
        "since": since_dt.isoformat() if since_dt else None,
        "min_margin": min_margin,
        "copy_media": copy_media,
    }
    built = BuiltDataset(
        out_dir=out.resolve(),
        manifest=manifest.resolve(),
        manifest_hash=digest,
        counts=counts,
        db_state=state,
        filters=filters,
    )
    import json

    write_text_atomic(out / SUMMARY_NAME, json.dumps(built.as_dict(), indent=2, sort_keys=True) + "\n")
    return built


def _prompt(record: dict[str, Any]) -> str | None:
    return record["toy"]["prompt"] if record["toy"] is not None else None


def _copy(src: str | Path, folder: Path, stem: str) -> str:
    src_path = Path(str(src))
    if "://" in str(src) or not src_path.is_file():
        raise DatasetError(
            f"cannot copy {src}: not a local file",
            field="copy_media",
            hint="build without --copy-media to reference the media by URI",
        )
    suffix = "".join(src_path.suffixes[-2:]) if src_path.name.endswith(".latents.npz") else src_path.suffix
    dest = folder / f"{stem}{suffix}"
    folder.mkdir(parents=True, exist_ok=True)
    if not dest.is_file() or file_digest(dest) != file_digest(src_path):
        shutil.copyfile(src_path, dest)
    return str(dest.relative_to(folder.parent))


def register(session: Session, built: BuiltDataset, *, created_by: int | None = None) -> BuiltDataset:
    """Register ``built`` (same manifest hash → the existing dataset row); return it with the id set."""
    from dataclasses import replace

    from storage.repositories.registry import register_dataset

    row, created = register_dataset(
        session,
        name=f"feedback-{built.manifest_hash[:12]}",
        manifest_uri=str(built.manifest),
        manifest_hash=built.manifest_hash,
        items=built.counts["takes"] + built.counts["pairs"],
        filters=built.filters,
        state=built.db_state,
        created_by=created_by,
    )
    return replace(built, dataset_id=row.id, created=created)


def build_and_register(
    db: str | None,
    out_dir: str | Path,
    *,
    since: str | None = None,
    min_margin: float = 1.0,
    copy_media: bool = False,
) -> BuiltDataset:
    """The boundary: open ``db`` (migrated), build into ``out_dir`` and register, in one transaction."""
    from storage.db import make_engine, migrate, session_scope

    migrate(db)
    engine = make_engine(db)
    try:
        with session_scope(engine, write=True) as session:
            built = build_dataset(session, out_dir, since=since, min_margin=min_margin, copy_media=copy_media)
            return register(session, built)
    finally:
        engine.dispose()
