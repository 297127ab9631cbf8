from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from model_core.checkpoint import CheckpointError, load_checkpoint, read_config, save_checkpoint
from model_core.config import preset
from model_core.finetune import (
    FinetuneError,
    checkpoint_digest,
    dpo_loss,
    finetune,
    sample_latents,
    velocity_errors,
)
from model_core.judge import judge_take
from model_core.latents import latent_space
from model_core.model import DualStreamMMDiT
from model_core.toyworld import ToyWorld
from tasks.datasets.build import build_and_register
from tests.tasks.datasets.seed import seed_db

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cfg():
    """The tiny preset at half depth: the same latent space, half the compute."""
    return preset("tiny", video={"depth": 2}, audio={"depth": 2}, coupled_blocks=(0, 2))


def _model(cfg, seed: int) -> DualStreamMMDiT:
    torch.manual_seed(seed)
    model = DualStreamMMDiT(cfg)
    # a fresh model is zero-initialised to the identity in places (adaLN-zero, gates): perturb every weight so
    # policy and reference differ everywhere and gradients reach all of them
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model


def _pair(cfg, q: int = 2, seed: int = 0):
    space = latent_space(cfg)
    g = torch.Generator().manual_seed(seed)
    win = (
        torch.rand((q, *space.video_shape), generator=g) * 2 - 1,
        torch.rand((q, *space.audio_shape), generator=g) * 2 - 1,
    )
    lose = (
        torch.rand((q, *space.video_shape), generator=g) * 2 - 1,
        torch.rand((q, *space.audio_shape), generator=g) * 2 - 1,
    )
    return win, lose


def test_dpo_bracket_is_zero_when_policy_is_the_reference(cfg):
    policy = _model(cfg, 0)
    reference = _model(cfg, 0)
    win, lose = _pair(cfg)
    tokens, _ = policy.text_encoder.tokenize(["one red ball", "two blue balls"])
    loss, parts = dpo_loss(
        policy, reference, win, lose, tokens, beta=500.0, generator=torch.Generator().manual_seed(1)
    )
    assert parts["margin"].item() == 0.0  # no advantage either way
    assert loss.item() == pytest.approx(math.log(2.0), abs=1e-6)  # −log σ(0)
    with pytest.raises(FinetuneError, match="beta"):
        dpo_loss(policy, reference, win, lose, tokens, beta=0.0)
    with pytest.raises(FinetuneError, match="must match"):
        dpo_loss(policy, reference, win, (lose[0][:1], lose[1][:1]), tokens, beta=1.0)


def test_dpo_gradient_step_favours_the_winner(cfg):
    reference = _model(cfg, 0).eval().requires_grad_(False)
    policy = _model(cfg, 0)
    win, lose = _pair(cfg)
    tokens, _ = policy.text_encoder.tokenize(["one red ball", "two blue balls"])
    sigma = torch.tensor([0.4, 0.6])
    g = torch.Generator().manual_seed(3)
    eps_v = torch.randn(win[0].shape, generator=g)
    eps_a = torch.randn(win[1].shape, generator=g)

    def advantage() -> float:
        """(e_θ(w) − e_ref(w)) − (e_θ(l) − e_ref(l)) at fixed σ, ε: negative = policy prefers the winner."""
        with torch.no_grad():
            out = []
            for m in (policy, reference):
                ew = velocity_errors(m, win[0], win[1], tokens, sigma, eps_v, eps_a)
                el = velocity_errors(m, lose[0], lose[1], tokens, sigma, eps_v, eps_a)
                out.append((ew, el))
            (pw, pl), (rw, rl) = out
            return float(((pw - rw) - (pl - rl)).mean())

    assert advantage() == 0.0
    opt = torch.optim.SGD(policy.parameters(), lr=0.05)
    for _ in range(2):
        gen = torch.Generator().manual_seed(3)
        loss, _ = dpo_loss(policy, reference, win, lose, tokens, beta=50.0, generator=gen, sigma=sigma)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert advantage() < 0.0
    loss_after, parts = dpo_loss(
        policy,
        reference,
        win,
        lose,
        tokens,
        beta=50.0,
        generator=torch.Generator().manual_seed(3),
        sigma=sigma,
    )
    assert loss_after.item() < math.log(2.0) and parts["accuracy"].item() == 1.0


@pytest.fixture(scope="module")
def base_ckpt(cfg, tmp_path_factory):
    path = tmp_path_factory.mktemp("base")
    save_checkpoint(path, _model(cfg, 0), step=7, sampling={"steps": 2}, raw=False)
    return path


def test_sample_latents_match_generate(base_ckpt):
    loaded = load_checkpoint(base_ckpt)
    space = latent_space(loaded.config)
    v, a = sample_latents(loaded, "one red rubber ball bouncing fast", 5)
    videos, _ = loaded.generate(["one red rubber ball bouncing fast"], seed=5, batch_size=1)
    assert v.shape == space.video_shape and a.shape == space.audio_shape
    assert np.array_equal(space.decode_video(v), videos[0])


def test_finetune_writes_a_checkpoint_with_lineage(base_ckpt, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_db(url, tmp_path / "media")
    built = build_and_register(url, tmp_path / "ds")
    result = finetune(
        base_ckpt,
        built.out_dir,
        tmp_path / "child",
        steps=3,
        batch_size=2,
        pair_batch=2,
        log_every=1,
        threads=1,
    )
    assert result.positives == 2 and result.pairs == 6 and result.stats["from_sidecar"] == 6
    _, data = read_config(tmp_path / "child")
    info = data["train"]["finetune"]
    assert info["dataset_hash"] == built.manifest_hash and info["base_digest"] == checkpoint_digest(base_ckpt)
    assert data["step"] == 7 + 3 and data["sampling"]["steps"] == 2
    lines = [json.loads(x) for x in (tmp_path / "child" / "finetune.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3] and all("dpo" in r and "sft" in r for r in lines)
    assert checkpoint_digest(tmp_path / "child") != checkpoint_digest(base_ckpt)
    child = load_checkpoint(tmp_path / "child")
    base = load_checkpoint(base_ckpt)
    assert any(
        not torch.equal(a, b) for a, b in zip(child.model.parameters(), base.model.parameters(), strict=True)
    )


def test_finetune_bad_inputs(base_ckpt, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_db(url, tmp_path / "media")
    built = build_and_register(url, tmp_path / "ds")
    with pytest.raises(CheckpointError, match="does not exist"):
        finetune(tmp_path / "no-such-checkpoint", built.out_dir, tmp_path / "child", steps=1)
    with pytest.raises(FinetuneError, match="must be ≥ 1"):
        finetune(base_ckpt, built.out_dir, tmp_path / "child", steps=0)
    # a dataset with no toy-world takes gives the model nothing to train on
    manifest = built.manifest.read_text().splitlines()
    plain = [
        json.dumps({**json.loads(x), "toy": None, "latents": None}) if '"kind":"take"' in x else x
        for x in manifest
    ]
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "manifest.jsonl").write_text("\n".join(plain) + "\n")
    with pytest.raises(FinetuneError, match="no usable positives or pairs"):
        finetune(base_ckpt, tmp_path / "plain", tmp_path / "child", steps=1)


def test_judge_rates_ground_truth_above_silent_or_off_prompt_takes(cfg):
    space = latent_space(cfg)
    world = ToyWorld(4242, space.world)
    clips = [
        c for c in (world.clip(i) for i in range(12)) if c.scene.motion == "bouncing" and len(c.events) >= 2
    ]
    assert len(clips) >= 4
    goods = [judge_take(c.video, c.audio, c.caption, space) for c in clips]
    # the detectors see the world's own impacts in sound and picture alike (eval's ground-truth F1 is ≈ 1)
    assert np.mean([g.sync_f1 for g in goods]) >= 0.7
    assert all(g.colour_ok for g in goods) and np.mean([g.rating for g in goods]) >= 4.0
    for clip, good in zip(clips, goods, strict=True):
        bad = judge_take(clip.video, np.zeros_like(clip.audio), clip.caption, space)  # the sound is gone
        assert bad.sync_f1 <= 0.5 and bad.rating <= good.rating
        if good.sync_f1 >= 0.8:
            assert bad.sync_f1 == 0.0 and bad.rating < good.rating and "lip_sync_off" in bad.tags
            assert bad.t_start is not None and bad.regions
            r = bad.regions[0]
            assert 0 <= r["x"] and r["x"] + r["w"] <= 1.0 and 0 <= r["y"] and r["y"] + r["h"] <= 1.0
        other = "green" if clip.scene.colour != "green" else "red"
        wrong = judge_take(clip.video, clip.audio, clip.caption.replace(clip.scene.colour, other), space)
        assert not wrong.colour_ok and "off_script" in wrong.tags and wrong.rating < good.rating
    body = goods[0].feedback_body(take_id=3)
    assert body["take_id"] == 3 and body["rating"] == goods[0].rating and body["tags"] == goods[0].tags
