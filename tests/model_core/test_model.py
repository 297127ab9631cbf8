"""DualStreamMMDiT: conditioning modes, zero-init identity, coupling, gradients, RoPE in seconds, input
checks."""

from __future__ import annotations

import pytest
import torch

from model_core.config import ModelConfig, ModelError, preset
from model_core.flow import rectified_flow_loss
from model_core.model import (
    DualStreamMMDiT,
    Rotary,
    apply_rope,
    audio_token_seconds,
    time_angles,
    video_rope_angles,
    video_token_seconds,
)

torch.set_num_threads(1)

B, CV, F, H, W = 2, 3, 4, 16, 16
CA, N = 8, 32


def small_cfg(**over: object) -> ModelConfig:
    """tiny, cut to 2 blocks and 16x16x4 frames (64 video tokens) so every test runs in well under a
    second."""
    base = preset("tiny").model_dump()
    base["video"]["depth"] = base["audio"]["depth"] = 2
    base["video"]["patch"] = (1, 4, 4)  # the tests below count video tokens per frame (tiny pairs frames)
    base["coupled_blocks"] = (0, 2)
    base["sample_size"] = {"frames": F, "height": H, "width": W, "audio_length": N}
    return ModelConfig.model_validate({**base, **over})


def build(seed: int = 0, **over: object) -> DualStreamMMDiT:
    torch.manual_seed(seed)
    return DualStreamMMDiT(small_cfg(**over))


def unzero(model: DualStreamMMDiT, *, keep_coupling_gates: bool = False, seed: int = 1) -> None:
    """Give every zero-initialised tensor small random values (a 'trained' model), optionally keeping the
    audio↔video gates closed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if keep_coupling_gates and name.endswith("_attn.gate"):
                continue
            if bool((p == 0).all()):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def inputs(model: DualStreamMMDiT, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    tokens, _ = model.text_encoder.tokenize(["two red rubber balls bouncing", "a drum hit"])
    return {
        "video": torch.randn(B, CV, F, H, W, generator=g),
        "audio": torch.randn(B, CA, N, generator=g),
        "sigma": torch.rand(B, generator=g),
        "text_tokens": tokens,
    }


def _frames_mask(first: int) -> torch.Tensor:
    m = torch.zeros(B, 1, F, H, W)
    m[:, :, :first] = 1
    return m


def _modes() -> dict[str, dict]:
    g = torch.Generator().manual_seed(3)
    vcond = torch.randn(B, CV, F, H, W, generator=g)
    acond = torch.randn(B, CA, N, generator=g)
    box = torch.zeros(B, 1, F, H, W)
    box[:, :, :, 4:12, 4:12] = 1
    speech = torch.zeros(B, 1, N)
    speech[:, :, 8:24] = 1
    return {
        "t2v": {},
        "i2v": {"video_cond": vcond, "video_mask": _frames_mask(1)},
        "inpaint": {"video_cond": vcond, "video_mask": 1 - box},
        "extension": {"video_cond": vcond, "video_mask": _frames_mask(2)},
        "audio_conditioned": {"audio_cond": acond, "audio_mask": speech},
        "references": {"video_ref": torch.randn(B, CV, 3, H, W, generator=g)},
        "per_frame_sigma": {
            "sigma_video": torch.tensor([[0.0, 0.0, 0.5, 0.9]] * B),
            "sigma_audio": torch.rand(B, N // 2, generator=g).repeat_interleave(2, 1),
        },
    }


@pytest.mark.parametrize("mode", list(_modes()))
def test_output_shapes_every_conditioning_mode(mode: str) -> None:
    model = build()
    unzero(model)
    kw = _modes()[mode]
    v, a = model(**inputs(model), **kw)
    assert v.shape == (B, CV, F, H, W) and a.shape == (B, CA, N)
    assert torch.isfinite(v).all() and torch.isfinite(a).all()


def test_conditioning_and_references_change_the_output() -> None:
    model = build()
    unzero(model)
    x = inputs(model)
    base_v, _ = model(**x)
    for kw in (_modes()["i2v"], _modes()["references"]):
        v, _ = model(**x, **kw)
        assert not torch.allclose(v, base_v, atol=1e-4)


def test_fresh_model_outputs_zero_and_blocks_are_identity() -> None:
    model = build()
    x = inputs(model)
    v, a = model(**x)
    assert v.abs().max() == 0 and a.abs().max() == 0  # zero final layer

    # a fresh block maps its inputs to themselves (adaLN gates, text output, coupling gates all zero)
    unzero_io = build()
    seen: dict[str, tuple] = {}

    def hook(_m: torch.nn.Module, args: tuple, out: tuple) -> None:
        seen["in"], seen["out"] = (args[0], args[1]), out

    unzero_io.blocks[0].register_forward_hook(hook)
    unzero_io(**x)
    assert torch.equal(seen["in"][0], seen["out"][0]) and torch.equal(seen["in"][1], seen["out"][1])


def test_coupling_is_identity_until_gates_open() -> None:
    model = build()
    unzero(model, keep_coupling_gates=True)  # everything trained except the audio↔video gates
    x = inputs(model)
    x2 = {**x, "audio": x["audio"] + torch.randn_like(x["audio"])}
    v1, _ = model(**x)
    v2, _ = model(**x2)
    assert torch.equal(v1, v2), "with closed gates the video stream must not see the audio"

    with torch.no_grad():
        for block in model.blocks:
            block.audio_to_video_attn.gate.fill_(0.5)
            block.video_to_audio_attn.gate.fill_(0.5)
    v1, a1 = model(**x)
    v2, _ = model(**x2)
    assert (v1 - v2).abs().max() > 1e-3, "open gates must carry audio into the video stream"
    x3 = {**x, "video": x["video"] + torch.randn_like(x["video"])}
    _, a3 = model(**x3)
    assert (a1 - a3).abs().max() > 1e-3, "and video into the audio stream"


def test_coupling_only_in_configured_blocks() -> None:
    model = build(coupled_blocks=(1, 2))
    assert not hasattr(model.blocks[0], "audio_to_video_attn")
    assert hasattr(model.blocks[1], "audio_to_video_attn") and hasattr(model.blocks[1], "video_to_audio_attn")


@pytest.mark.parametrize("vsa", [False, True])
def test_gradients_reach_every_parameter(vsa: bool) -> None:
    model = build(vsa={"enabled": vsa, "sparsity": 0.5})
    unzero(model)
    x = inputs(model)
    v, a = model(**x, video_ref=torch.randn(B, CV, 2, H, W))
    (v.square().mean() + a.square().mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


@pytest.mark.parametrize(
    ("fps", "rate", "pa", "i", "j"),
    [
        (8.0, 64.0, 2, 4, 16),
        (16.0, 64.0, 2, 4, 8),
        (6.0, 25.0, 1, 6, 25),
    ],  # video token i, audio token j: same s
)
def test_rope_same_second_same_temporal_rotation(fps: float, rate: float, pa: int, i: int, j: int) -> None:
    base = small_cfg()
    cfg = small_cfg(
        video={**base.video.model_dump(), "latent_rate": fps},
        audio={**base.audio.model_dump(), "latent_rate": rate, "patch": (pa,)},
    )
    dt = cfg.rope_time_dim
    t_v = video_token_seconds(cfg, frames=8)  # pt = 1: token i starts at i / fps
    t_a = audio_token_seconds(cfg, length=64)  # token j starts at j * pa / rate
    assert t_v[i].item() == pytest.approx(t_a[j].item(), abs=1e-12)
    # the time part of the video 3-D table and of the audio table agree at the same instant
    ang_v = video_rope_angles(cfg, t_v, 4, 4).view(8, 16, -1)[:, 0, : dt // 2]  # (F', dt/2)
    ang_a = time_angles(cfg, t_a, cfg.audio.head_dim)[:, : dt // 2]  # (Ta, dt/2)
    assert torch.allclose(ang_v[i], ang_a[j], atol=1e-9, rtol=1e-9)
    assert not torch.allclose(ang_v[i], ang_a[j + 1])
    assert not torch.allclose(ang_v[i + 1], ang_a[j])
    # in the video tower the time rotation is classic per-frame RoPE: angle = frame index * theta^(-2k/dt)
    classic = torch.arange(8, dtype=torch.float64)[:, None] * cfg.rope_theta ** (
        -torch.arange(0, dt, 2, dtype=torch.float64) / dt
    )
    torch.testing.assert_close(ang_v, classic)
    # audio channels beyond the time rotation are not rotated
    assert (time_angles(cfg, t_a, cfg.audio.head_dim)[:, dt // 2 :] == 0).all()
    # in the cross-modal head space a video query and an audio key at the same second see no offset:
    # score(rot(q), rot(k)) == score(q, k); one step apart it changes
    hd = cfg.video.head_dim
    q, k = torch.randn(1, 1, 1, hd, dtype=torch.float64), torch.randn(1, 1, 1, hd, dtype=torch.float64)
    rq = Rotary.of(time_angles(cfg, t_v[i : i + 1], hd), q)
    rk_same = Rotary.of(time_angles(cfg, t_a[j : j + 1], hd), q)
    rk_late = Rotary.of(time_angles(cfg, t_a[j + 4 : j + 5], hd), q)
    plain = (q * k).sum()
    assert torch.allclose((apply_rope(q, rq) * apply_rope(k, rk_same)).sum(), plain)
    assert not torch.allclose((apply_rope(q, rq) * apply_rope(k, rk_late)).sum(), plain)


def test_reference_frames_sit_at_negative_times() -> None:
    cfg = small_cfg()
    t = video_token_seconds(cfg, frames=4, ref_frames=2)
    assert t.shape == (6,)
    assert (t[:2] < 0).all() and t[1] == -cfg.ref_time_offset - 1 / cfg.video.latent_rate
    assert t[2] == 0


def test_optimizer_steps_reduce_loss_on_a_fixed_batch() -> None:
    model = build()
    x = inputs(model)
    v0, a0 = 0.5 * x["video"], 0.5 * x["audio"]
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(12):
        loss, _ = rectified_flow_loss(
            model, v0, a0, x["text_tokens"], generator=torch.Generator().manual_seed(0)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_same_seed_same_model_same_output() -> None:
    m1, m2 = build(seed=5), build(seed=5)
    unzero(m1)
    unzero(m2)
    x = inputs(m1)
    assert torch.equal(m1(**x)[0], m2(**x)[0])


def _err(model: DualStreamMMDiT, **kw: object) -> str:
    x = {**inputs(model), **kw}
    with pytest.raises(ModelError) as err:
        model(**x)
    return str(err.value)


def test_mismatched_inputs_name_the_tensor_and_shape() -> None:
    model = build()
    msg = _err(model, video=torch.randn(B, 4, F, H, W))
    assert "video" in msg and "(B, Cv=3, F, H, W)" in msg and "(2, 4, 4, 16, 16)" in msg
    msg = _err(model, audio=torch.randn(1, CA, N))
    assert "audio" in msg and "(2, Ca=8, N)" in msg
    assert "multiple of 2" in _err(model, audio=torch.randn(B, CA, 31))
    msg = _err(model, video_cond=torch.randn(B, CV, F, H, W), video_mask=torch.ones(B, 3, F, H, W))
    assert "video_mask" in msg and "(2, 1, 4, 16, 16)" in msg
    assert "go together" in _err(model, audio_cond=torch.randn(B, CA, N))
    assert "audio_cond" in _err(model, audio_cond=torch.randn(B, CA, 8), audio_mask=torch.ones(B, 1, N))
    assert "[0, 1]" in _err(model, sigma=torch.tensor([0.5, 1.5]))
    assert "sigma" in _err(model, sigma=torch.rand(3))
    assert "int64" in _err(model, text_tokens=torch.ones(B, 4))
    assert "max_len" in _err(model, text_tokens=torch.ones(B, 500, dtype=torch.int64))
    assert "video_ref" in _err(model, video_ref=torch.randn(B, CV, 2, 8, 8))
    assert "sigma_video" in _err(model, sigma_video=torch.rand(B, F + 1))
    msg = _err(
        build(video={**small_cfg().video.model_dump(), "patch": (2, 4, 4)}),
        sigma_video=torch.tensor([[0.1, 0.2, 0.3, 0.3]] * B),
    )
    assert "equal within each group of 2 frames" in msg


def test_tokenizer_is_deterministic_bytes() -> None:
    enc = build().text_encoder
    tokens, mask = enc.tokenize(["ab", "红"])
    assert tokens.dtype == torch.int64
    assert tokens[0].tolist()[:4] == [1, ord("a") + 3, ord("b") + 3, 2]
    assert mask.sum(1).tolist() == [4, 5]  # 红 is 3 UTF-8 bytes
    long, _ = enc.tokenize(["x" * 1000])
    assert long.shape[1] == enc.max_len
    with pytest.raises(ModelError, match="list of strings"):
        enc.tokenize("not a list")  # type: ignore[arg-type]


def test_a_registered_frozen_text_encoder_plugs_in() -> None:
    """The documented path for a pretrained encoder: register a factory, name it in the config."""
    from model_core.config import TextConfig
    from model_core.text import ByteTextEncoder, register_text_encoder

    class FrozenBytes(ByteTextEncoder):
        def __init__(self, cfg: TextConfig) -> None:
            super().__init__(cfg.model_copy(update={"encoder": "byte"}))
            with torch.no_grad():
                self.embed.weight.fill_(0.5)  # stands in for loaded pretrained weights
            self.requires_grad_(False)

    register_text_encoder("frozen-test", FrozenBytes)
    base = small_cfg()
    model = build(text={**base.text.model_dump(), "encoder": "frozen-test"})
    assert isinstance(model.text_encoder, FrozenBytes)
    assert (model.text_encoder.embed.weight == 0.5).all(), (
        "model init must not overwrite the encoder's weights"
    )
    unzero(model)
    v, a = model(**inputs(model))
    (v.square().mean() + a.square().mean()).backward()
    assert all(p.grad is None for p in model.text_encoder.parameters())
    assert model.video_io.text_pool.weight.grad is not None  # the projections into the towers still learn
