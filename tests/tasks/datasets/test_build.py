from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from storage.db import make_engine, migrate, session_scope
from storage.models import Dataset
from storage.repositories.feedback import add_feedback, resolve_target
from storage.repositories.registry import db_state, state_hash
from tasks.datasets.build import build_and_register, build_dataset, parse_since
from tasks.datasets.manifest import MANIFEST_NAME, DatasetError, read_manifest
from tests.tasks.datasets.seed import PROMPTS, seed_db


def _by_key(manifest, seeded) -> dict[tuple[str, int], dict]:
    ids = {v: k for k, v in seeded.takes.items()}
    return {ids[rec["take_id"]]: rec for rec in manifest.takes.values()}


def test_contents_positives_negatives_pairs_masks(db_url, tmp_path):
    seeded = seed_db(db_url, tmp_path / "media")
    built = build_and_register(db_url, tmp_path / "ds")
    m = read_manifest(built.manifest)
    assert m.hash == built.manifest_hash
    takes = _by_key(m, seeded)
    labels = {k: r["label"] for k, r in takes.items()}
    assert labels == {
        ("toy-00", 0): "positive",
        ("toy-00", 1): "negative",
        ("toy-00", 2): "neutral",
        ("toy-01", 0): "positive",
        ("toy-01", 1): "negative",
        ("toy-01", 2): "negative",
    }
    assert takes[("toy-01", 0)]["approved"] and takes[("toy-01", 2)]["retake"]
    assert takes[("toy-00", 0)]["tags"] == ["great_take"] and takes[("toy-01", 1)]["comments"] == [
        "wrong colour"
    ]
    assert [r["score"] for k, r in sorted(takes.items())] == [5.0, 2.0, 3.0, 4.0, 1.0, 2.0]
    # pairs: every two judged takes of a shot whose scores differ by ≥ 1, winner first
    t = seeded.takes
    got = {(p["winner"], p["loser"]): p["margin"] for p in m.pairs}
    want = {}
    for shot, order in (("toy-00", [0, 2, 1]), ("toy-01", [0, 2, 1])):
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                want[(f"take-{t[(shot, a)]}", f"take-{t[(shot, b)]}")] = None
    assert set(got) == set(want)
    assert got[(f"take-{t[('toy-00', 0)]}", f"take-{t[('toy-00', 1)]}")] == 3.0
    # toy prompt + seed travel with the take so fine-tuning can regenerate it; the latents sidecar is
    # referenced
    rec = takes[("toy-01", 2)]
    assert rec["toy"] == {"prompt": PROMPTS["toy-01"], "seed": 12}
    assert rec["latents"]["uri"].endswith("toy-01-t2.latents.npz") and len(rec["latents"]["digest"]) == 64
    # the time range becomes a frame mask (30 fps: the plan names no fps) and the region a 32x32 PNG (toy
    # frame)
    bad = takes[("toy-00", 1)]
    assert bad["time_ranges"] == [[0.25, 0.5]]
    fm = bad["frame_mask"]
    assert len(fm) == 30 and [i for i, v in enumerate(fm) if v] == list(range(7, 16))
    (mask,) = bad["masks"]
    png = np.asarray(Image.open(m.root / mask["png"]))
    assert png.shape == (32, 32) and mask["box"] == [8, 16, 16, 24]
    assert (png[16:24, 8:16] == 255).all() and png.sum() == 255 * 64
    assert mask["frame"] == 7 and mask["label"] == "no sound"
    assert built.counts["positives"] == 2 and built.counts["negatives"] == 3 and built.counts["pairs"] == 6
    assert built.counts["episode_notes"] == 1 and built.counts["masks"] == 1
    # registered with the DB state it was built from
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        row = s.get(Dataset, built.dataset_id)
        assert row.manifest_hash == built.manifest_hash and row.items == 6 + 6
        assert row.db_state["feedback_count"] == 5 and row.db_state_hash == state_hash(row.db_state)
    engine.dispose()


def test_same_db_state_same_hash(db_url, tmp_path):
    seeded = seed_db(db_url, tmp_path / "media")
    first = build_and_register(db_url, tmp_path / "a")
    second = build_and_register(db_url, tmp_path / "elsewhere" / "b")
    assert first.manifest_hash == second.manifest_hash
    assert (tmp_path / "a" / MANIFEST_NAME).read_bytes() == (
        tmp_path / "elsewhere" / "b" / MANIFEST_NAME
    ).read_bytes()
    assert first.created and not second.created and first.dataset_id == second.dataset_id
    engine = make_engine(db_url)
    with session_scope(engine, write=True) as s:
        take = seeded.takes[("toy-00", 2)]
        add_feedback(s, user_id=seeded.user_id, target=resolve_target(s, take_id=take), rating=5)
    with session_scope(engine) as s:
        third = build_dataset(s, tmp_path / "c")
        state = db_state(s)
    engine.dispose()
    assert third.manifest_hash != first.manifest_hash
    assert third.db_state == state and third.db_state["feedback_max_id"] > first.db_state["feedback_max_id"]


def test_empty_database_says_no_feedback_yet(db_url, tmp_path):
    migrate(db_url)
    with pytest.raises(DatasetError, match="no feedback yet"):
        build_and_register(db_url, tmp_path / "ds")
    seed_db(db_url, tmp_path / "media", feedback=False)  # takes but no notes
    with pytest.raises(DatasetError, match="no feedback yet"):
        build_and_register(db_url, tmp_path / "ds")
    assert not (tmp_path / "ds" / MANIFEST_NAME).exists()


def test_since_filters_and_rejects_bad_dates(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_db(url, tmp_path / "media")
    with pytest.raises(DatasetError, match="no feedback since 2999"):
        build_and_register(url, tmp_path / "ds", since="2999-01-01")
    with pytest.raises(DatasetError, match="not an ISO 8601"):
        parse_since("last tuesday")
    assert parse_since("2026-11-20").tzinfo is not None
    built = build_and_register(url, tmp_path / "ds", since="2000-01-01T00:00:00Z", copy_media=True)
    m = read_manifest(tmp_path / "ds")
    rec = next(iter(m.takes.values()))
    assert (m.root / rec["file"]).read_bytes().startswith(b"fake media")
    assert (m.root / rec["latents"]["file"]).is_file() and built.filters["copy_media"] is True


def test_damaged_manifest_names_the_line(tmp_path):
    path = tmp_path / MANIFEST_NAME
    path.write_text(json.dumps({"kind": "take", "id": "take-1", "label": "positive"}) + "\n{oops\n")
    with pytest.raises(DatasetError) as err:
        read_manifest(path)
    assert err.value.line == 2
    path.write_text(json.dumps({"kind": "pair", "id": "p", "winner": "take-9", "loser": "take-8"}) + "\n")
    with pytest.raises(DatasetError, match="not in the manifest"):
        read_manifest(tmp_path)
    with pytest.raises(DatasetError, match="cannot read"):
        read_manifest(tmp_path / "missing.jsonl")


def test_dataset_rows_are_unique_per_manifest(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_db(url, tmp_path / "media")
    for name in ("x", "y", "z"):
        build_and_register(url, tmp_path / name)
    engine = make_engine(url)
    with session_scope(engine) as s:
        assert len(list(s.scalars(select(Dataset)))) == 1
    engine.dispose()


def test_pairs_only_compare_takes_of_the_same_prompt(tmp_path):
    from storage.repository import record_take, start_render
    from tests.tasks.datasets.seed import write_take

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seeded = seed_db(url, tmp_path / "media")
    engine = make_engine(url)
    with session_scope(engine, write=True) as s:
        render = start_render(
            s,
            series_title="Loop test",
            episode_number=1,
            episode_title="Balls",
            script_text="toy v2",
            script_path="toy.txt",
            script_format="toy",
            backend="mmdit",
            out_dir=str(tmp_path / "r2"),
        )
        media = write_take(tmp_path / "r2", "toy-00", 3, 13)
        take = record_take(
            s,
            render,
            shot_id="toy-00",
            scene_index=0,
            plan_json={"toy": {"prompt": "one green metal ball rolling"}},
            take=3,
            seed=13,
            key="k" * 64,
            uri=str(media),
            digest="d" * 64,
            duration=1.0,
            cached=False,
        )
        add_feedback(s, user_id=seeded.user_id, target=resolve_target(s, take_id=take), rating=5)
    engine.dispose()
    m = read_manifest(build_and_register(url, tmp_path / "ds").manifest)
    assert m.takes[f"take-{take}"]["label"] == "positive"
    assert all(f"take-{take}" not in (p["winner"], p["loser"]) for p in m.pairs) and len(m.pairs) == 6
