"""A small, fully known feedback database for the dataset and retraining tests.

One render of one episode with two toy-world shots, three takes each (seeds 10, 11, 12), every take with a
media file and a latents sidecar of the tiny preset's shapes. What producers said:

============  ====  ============================================  ========  =====
shot          take  feedback                                      label     score
============  ====  ============================================  ========  =====
toy-00        0     rating 5, great_take                          positive  5
toy-00        1     rating 2, lip_sync_off, 0.25–0.5 s, 1 region  negative  2
toy-00        2     rating 3                                      neutral   3
toy-01        0     approved                                      positive  4
toy-01        1     rating 1                                      negative  1
toy-01        2     retake requested (the take the render shows)  negative  2
============  ====  ============================================  ========  =====

plus one episode-level note, which names no take. Preference pairs (margin ≥ 1): three per shot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from storage.db import make_engine, migrate, session_scope
from storage.repositories.feedback import Region, add_feedback, approve_take, request_retake, resolve_target
from storage.repositories.users import create_user
from storage.repository import finish_render, record_take, start_render
from tasks.datasets.manifest import latents_sidecar

PROMPTS = {"toy-00": "one red rubber ball bouncing fast", "toy-01": "two blue glass balls bouncing slow"}
SEEDS = (10, 11, 12)
VIDEO_SHAPE, AUDIO_SHAPE = (3, 16, 16, 16), (8, 64)  # the tiny preset's latent space


@dataclass
class Seeded:
    url: str
    takes: dict[tuple[str, int], int] = field(default_factory=dict)  # (shot_id, take) → take id
    render_id: int = 0
    user_id: int = 0
    episode_id: int = 0


def write_take(media_dir: Path, shot_id: str, take: int, seed: int) -> Path:
    media = media_dir / f"{shot_id}-t{take}.mp4"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(f"fake media {shot_id} {take}".encode())
    rng = np.random.default_rng(seed)
    with open(latents_sidecar(media), "wb") as fh:
        np.savez(
            fh,
            video=rng.uniform(-1, 1, VIDEO_SHAPE).astype(np.float32),
            audio=rng.uniform(-1, 0.5, AUDIO_SHAPE).astype(np.float32),
        )
    return media


def seed_db(url: str, media_dir: Path, *, feedback: bool = True) -> Seeded:
    migrate(url)
    engine = make_engine(url)
    out = Seeded(url)
    try:
        with session_scope(engine, write=True) as s:
            out.render_id = render_id = start_render(
                s,
                series_title="Loop test",
                episode_number=1,
                episode_title="Balls",
                script_text="toy",
                script_path="toy.txt",
                script_format="toy",
                backend="mmdit",
                out_dir=str(media_dir),
            )
            for scene, (shot_id, prompt) in enumerate(PROMPTS.items()):
                for take, seed in enumerate(SEEDS):
                    media = write_take(media_dir, shot_id, take, seed)
                    out.takes[(shot_id, take)] = record_take(
                        s,
                        render_id,
                        shot_id=shot_id,
                        scene_index=scene,
                        plan_json={"toy": {"prompt": prompt}},
                        take=take,
                        seed=seed,
                        key=f"{shot_id}-{take}".ljust(64, "0"),
                        uri=str(media),
                        digest=f"{shot_id}{take}".ljust(64, "a"),
                        duration=1.0,
                        cached=False,
                    )
            finish_render(s, render_id, status="succeeded")
            user, _ = create_user(s, "ana", "producer")
            out.user_id = user.id
        if feedback:
            add_notes(engine, out, media_dir)
    finally:
        engine.dispose()
    return out


def add_notes(engine, seeded: Seeded, media_dir: Path) -> None:  # noqa: ANN001
    t = seeded.takes
    with session_scope(engine, write=True) as s:

        def note(key: tuple[str, int], **kw) -> None:  # noqa: ANN003
            add_feedback(s, user_id=seeded.user_id, target=resolve_target(s, take_id=t[key]), **kw)

        note(("toy-00", 0), rating=5, tags=["great_take"])
        note(
            ("toy-00", 1),
            rating=2,
            tags=["lip_sync_off"],
            t_start=0.25,
            t_end=0.5,
            regions=[Region(t=0.25, x=0.25, y=0.5, w=0.25, h=0.25, label="no sound")],
        )
        note(("toy-00", 2), rating=3)
        approve_take(s, user_id=seeded.user_id, take_id=t[("toy-01", 0)])
        note(("toy-01", 1), rating=1, comment="wrong colour")
        request_retake(
            s,
            user_id=seeded.user_id,
            render_id=seeded.render_id,
            shot_id="toy-01",
            renders_root=media_dir / "renders",
            backend="mmdit",
        )
        episode = resolve_target(s, render_id=seeded.render_id)
        seeded.episode_id = episode.episode_id
        add_feedback(s, user_id=seeded.user_id, target=episode, comment="nice episode overall")
