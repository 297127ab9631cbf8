"""Scheduler, sampling loop (exactness on straight flows, guidance algebra, given regions) and the flow
loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model_core.config import ModelError
from model_core.flow import logit_normal, rectified_flow_loss
from model_core.sampler import Scheduler, ShiftedEulerScheduler, sample
from model_core.text import ByteTextEncoder
from tests.model_core.test_model import build, inputs, small_cfg, unzero

torch.set_num_threads(1)

B, CV, F, H, W, CA, N = 2, 3, 4, 16, 16, 8, 32
VSHAPE, ASHAPE = (B, CV, F, H, W), (B, CA, N)


class OracleFlow(nn.Module):
    """Knows the data point x0 and returns the exact rectified-flow velocity (x_t − x0) / σ = ε − x0."""

    def __init__(self, v0: torch.Tensor, a0: torch.Tensor) -> None:
        super().__init__()
        self.cfg = small_cfg()
        self.text_encoder = ByteTextEncoder(self.cfg.text)
        self.v0, self.a0 = v0, a0
        self.offset = 0.0  # added to the exact velocity: a prediction wrong by exactly this much
        self.audio_offset: torch.Tensor | None = None  # the audio's own error, when it differs (broadcasts)
        self.calls: list[dict] = []

    def forward(
        self,
        video,
        audio,
        sigma,
        tokens,
        vc=None,
        vm=None,
        ac=None,
        am=None,
        ref=None,
        *,
        sigma_video,
        sigma_audio,
        vsa_sparsity=None,
    ):  # noqa: ANN001, ANN201 - a test double
        self.calls.append({"sigma_video": sigma_video.clone(), "tokens": tokens.clone(), "ac": ac,
                           "video": video.clone()})
        n = video.shape[0] // self.v0.shape[0]
        sv = sigma_video[:, None, :, None, None].clamp_min(1e-12)
        sa = sigma_audio[:, None, :].clamp_min(1e-12)
        v = (video - self.v0.repeat(n, 1, 1, 1, 1)) / sv + self.offset
        a_off = self.offset if self.audio_offset is None else self.audio_offset
        return v, (audio - self.a0.repeat(n, 1, 1)) / sa + a_off


class BranchConstant(nn.Module):
    """Returns a constant velocity that tells the guidance branches apart: 3 for (audio, text), 1 for
    (audio, ∅), 0 for (∅, ∅)."""

    def __init__(self) -> None:
        super().__init__()
        self.cfg = small_cfg()
        self.text_encoder = ByteTextEncoder(self.cfg.text)

    def forward(
        self,
        video,
        audio,
        sigma,
        tokens,
        vc=None,
        vm=None,
        ac=None,
        am=None,
        ref=None,
        *,
        sigma_video,
        sigma_audio,
        vsa_sparsity=None,
    ):  # noqa: ANN001, ANN201 - a test double
        has_text = (tokens > 2).any(1).float()  # (nB,) the empty prompt is bos, eos
        has_audio = am.flatten(1).amax(1) if am is not None else torch.ones(tokens.shape[0])
        val = has_audio + 2 * has_text * has_audio  # (nB,)
        return (
            val.view(-1, 1, 1, 1, 1).expand_as(video).clone(),
            val.view(-1, 1, 1).expand_as(audio).clone(),
        )


def test_shifted_schedule() -> None:
    assert isinstance(ShiftedEulerScheduler(), Scheduler)
    lin = ShiftedEulerScheduler(1.0).sigmas(4)
    torch.testing.assert_close(lin, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    shifted = ShiftedEulerScheduler(3.0).sigmas(4)
    assert shifted[0] == 1 and shifted[-1] == 0
    assert (shifted[1:-1] > lin[1:-1]).all(), "shift > 1 spends more steps at high noise"
    assert (shifted[:-1] > shifted[1:]).all()


@pytest.mark.parametrize("cfg_text", [1.0, 4.0])
def test_euler_is_exact_on_a_straight_flow(cfg_text: float) -> None:
    g = torch.Generator().manual_seed(0)
    v0, a0 = torch.randn(VSHAPE, generator=g), torch.randn(ASHAPE, generator=g)
    model = OracleFlow(v0, a0)
    tokens, _ = model.text_encoder.tokenize(["a", "b"])
    v, a = sample(
        model,
        tokens,
        video_shape=VSHAPE,
        audio_shape=ASHAPE,
        steps=3,
        cfg_text=cfg_text,
        generator=torch.Generator().manual_seed(1),
    )
    torch.testing.assert_close(v, v0, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(a, a0, atol=1e-4, rtol=1e-4)
    assert len(model.calls) == 3
    assert model.calls[0]["tokens"].shape[0] == (2 * B if cfg_text != 1.0 else B)  # branches batched


def test_two_scale_guidance_algebra() -> None:
    model = BranchConstant()
    tokens, _ = model.text_encoder.tokenize(["a drum", "a bell"])
    acond, amask = torch.zeros(ASHAPE), torch.zeros(B, 1, N)
    amask[:, :, :4] = 1
    kw = {"video_shape": VSHAPE, "audio_shape": ASHAPE, "steps": 2, "shift": 1.0}
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(VSHAPE, generator=g)
    # v = v(∅,∅) + s_a (v(a,∅) − v(∅,∅)) + s_t (v(a,t) − v(a,∅)) = 0 + s_a·1 + s_t·2; σ runs 1 → 0
    v, _ = sample(
        model,
        tokens,
        cfg_text=4.0,
        cfg_audio=2.0,
        audio_cond=acond,
        audio_mask=amask,
        generator=torch.Generator().manual_seed(0),
        **kw,
    )
    torch.testing.assert_close(v, noise - (2.0 * 1 + 4.0 * 2), atol=1e-5, rtol=1e-5)
    v, _ = sample(model, tokens, cfg_text=4.0, generator=torch.Generator().manual_seed(0), **kw)
    torch.testing.assert_close(v, noise - (1 + 4.0 * 2), atol=1e-5, rtol=1e-5)
    v, _ = sample(model, tokens, cfg_text=1.0, generator=torch.Generator().manual_seed(0), **kw)
    torch.testing.assert_close(v, noise - 3, atol=1e-5, rtol=1e-5)


class PictureConstant(BranchConstant):
    """Audio velocity 5 with the picture condition, 2 without: tells the picture-guidance branch apart."""

    def forward(self, video, audio, sigma, tokens, vc=None, vm=None, ac=None, am=None, ref=None, *,
                sigma_video, sigma_audio, vsa_sparsity=None):  # noqa: ANN001, ANN201 - a test double  # fmt: skip
        has_picture = vm.flatten(1).amax(1) if vm is not None else torch.zeros(tokens.shape[0])  # (nB,)
        val = 2 + 3 * has_picture
        return torch.zeros_like(video), val.view(-1, 1, 1).expand_as(audio).clone()


def test_picture_guidance_algebra() -> None:
    model = PictureConstant()
    tokens, _ = model.text_encoder.tokenize(["a drum", "a bell"])
    picture, given = torch.zeros(VSHAPE), torch.ones(B, 1, F, H, W)
    kw = {"video_shape": VSHAPE, "audio_shape": ASHAPE, "steps": 2, "shift": 1.0, "cfg_text": 1.0,
          "video_cond": picture, "video_mask": given}  # fmt: skip
    g = torch.Generator().manual_seed(0)
    torch.randn(VSHAPE, generator=g)
    noise_a = torch.randn(ASHAPE, generator=g)
    # a = v(p) + (s_p − 1)(v(p) − v(∅p)) = 5 + (s_p − 1)·3; σ runs 1 → 0
    _, a = sample(model, tokens, cfg_picture=3.0, generator=torch.Generator().manual_seed(0), **kw)
    torch.testing.assert_close(a, noise_a - (5 + 2 * 3), atol=1e-5, rtol=1e-5)
    _, a = sample(model, tokens, generator=torch.Generator().manual_seed(0), **kw)
    torch.testing.assert_close(a, noise_a - 5, atol=1e-5, rtol=1e-5)
    with pytest.raises(ModelError, match="cfg_picture"):
        sample(model, tokens, cfg_picture=-1.0, **kw)


def test_diffusion_forcing_holds_given_frames_clean() -> None:
    g = torch.Generator().manual_seed(0)
    v0, a0 = torch.randn(VSHAPE, generator=g), torch.randn(ASHAPE, generator=g)
    model = OracleFlow(v0, a0)
    tokens, _ = model.text_encoder.tokenize(["a", "b"])
    mask = torch.zeros(B, 1, F, H, W)
    mask[:, :, :2] = 1
    v, _ = sample(
        model,
        tokens,
        video_shape=VSHAPE,
        audio_shape=ASHAPE,
        steps=2,
        cfg_text=1.0,
        video_cond=v0,
        video_mask=mask,
        diffusion_forcing=True,
        generator=torch.Generator().manual_seed(1),
    )
    for call in model.calls:
        assert (call["sigma_video"][:, :2] == 0).all() and (call["sigma_video"][:, 2:] > 0).all()
    torch.testing.assert_close(v, v0, atol=1e-4, rtol=1e-4)


def test_given_cells_enter_the_model_on_their_forward_path() -> None:
    """Without diffusion forcing a given cell is fed as its condition noised to the step's σ, as in training —
    never left to drift along the model's (untrained) velocity there."""
    g = torch.Generator().manual_seed(0)
    v0, a0 = torch.randn(VSHAPE, generator=g), torch.randn(ASHAPE, generator=g)
    model = OracleFlow(v0, a0)
    model.offset = 0.5  # a wrong velocity: a drifting given cell would leave the forward path
    tokens, _ = model.text_encoder.tokenize(["a", "b"])
    cond = torch.randn(VSHAPE, generator=g)
    mask = torch.zeros(B, 1, F, H, W)
    mask[..., :8] = 1  # the left half of every frame is given
    noise = torch.randn(VSHAPE, generator=torch.Generator().manual_seed(1))
    v, _ = sample(model, tokens, video_shape=VSHAPE, audio_shape=ASHAPE, steps=3, cfg_text=1.0,
                  video_cond=cond, video_mask=mask, generator=torch.Generator().manual_seed(1))  # fmt: skip
    for call in model.calls:
        s = call["sigma_video"][0, 0]
        expected = (1 - s) * cond + s * noise
        torch.testing.assert_close(call["video"][..., :8], expected[..., :8], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(v[..., :8], cond[..., :8])


def test_sample_with_the_real_model() -> None:
    model = build()
    unzero(model)
    x = inputs(model)
    mask = torch.zeros(B, 1, F, H, W, dtype=torch.bool)  # bool masks are accepted
    mask[:, :, :1] = True
    cond = torch.randn(VSHAPE)
    kw = {"video_shape": VSHAPE, "audio_shape": ASHAPE, "steps": 2, "video_cond": cond, "video_mask": mask}
    v1, a1 = sample(model, x["text_tokens"], generator=torch.Generator().manual_seed(7), **kw)
    v2, a2 = sample(model, x["text_tokens"], generator=torch.Generator().manual_seed(7), **kw)
    assert v1.shape == VSHAPE and a1.shape == ASHAPE
    assert torch.equal(v1, v2) and torch.equal(a1, a2)
    assert torch.equal(v1[:, :, :1], cond[:, :, :1]), "the given first frame comes back exactly"
    assert torch.isfinite(v1).all()


def test_sampler_checks_its_inputs() -> None:
    model = build()
    tokens, _ = model.text_encoder.tokenize(["a", "b"])
    with pytest.raises(ModelError, match="video_shape"):
        sample(model, tokens, video_shape=(B, 4, F, H, W), audio_shape=ASHAPE)
    with pytest.raises(ModelError, match="audio_shape"):
        sample(model, tokens, video_shape=VSHAPE, audio_shape=(3, CA, N))
    with pytest.raises(ModelError, match="go together"):
        sample(model, tokens, video_shape=VSHAPE, audio_shape=ASHAPE, video_mask=torch.ones(B, 1, F, H, W),
               diffusion_forcing=True)  # fmt: skip
    with pytest.raises(ModelError, match="steps"):
        sample(model, tokens, video_shape=VSHAPE, audio_shape=ASHAPE, steps=0)


def test_flow_loss_builds_the_straight_path() -> None:
    """An oracle that knows x0 predicts ε − x0 exactly from x_t and σ, so the loss is ~0."""
    g = torch.Generator().manual_seed(0)
    v0, a0 = torch.randn(VSHAPE, generator=g), torch.randn(ASHAPE, generator=g)
    model = OracleFlow(v0, a0)
    tokens, _ = model.text_encoder.tokenize(["a", "b"])
    for forcing in (False, True):
        loss, parts = rectified_flow_loss(model, v0, a0, tokens, generator=g, diffusion_forcing=forcing)
        assert loss.item() < 1e-6 and set(parts) == {"video", "audio", "sigma"}
    # a prediction wrong by 0.5 everywhere scores 0.25 per modality, and audio_weight scales the audio part
    model.offset = 0.5
    loss, parts = rectified_flow_loss(model, v0, a0, tokens, generator=g, audio_weight=2.0)
    torch.testing.assert_close(parts["video"], torch.tensor(0.25), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(parts["audio"], torch.tensor(0.25), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(loss, torch.tensor(0.75), rtol=1e-3, atol=1e-3)


def test_flow_loss_weighs_audio_steps() -> None:
    """Per-step audio weights make the audio part a weighted mean: an error of 1 on the first half of the steps
    scores 0.5 unweighted and 3·16 / (3·16 + 16) = 0.75 with weight 3 there."""
    g = torch.Generator().manual_seed(0)
    v0, a0 = torch.randn(VSHAPE, generator=g), torch.randn(ASHAPE, generator=g)
    model = OracleFlow(v0, a0)
    tokens, _ = model.text_encoder.tokenize(["a", "b"])
    first_half = (torch.arange(N) < N // 2).float()  # (N,)
    model.audio_offset = first_half
    _, parts = rectified_flow_loss(model, v0, a0, tokens, generator=g)
    torch.testing.assert_close(parts["audio"], torch.tensor(0.5), rtol=1e-3, atol=1e-3)
    weight = (1.0 + 2.0 * first_half).expand(B, N)
    _, parts = rectified_flow_loss(model, v0, a0, tokens, generator=g, audio_step_weight=weight)
    torch.testing.assert_close(parts["audio"], torch.tensor(0.75), rtol=1e-3, atol=1e-3)
    assert parts["video"].item() < 1e-6
    with pytest.raises(ModelError, match="audio_step_weight"):
        rectified_flow_loss(model, v0, a0, tokens, generator=g, audio_step_weight=torch.ones(B, N + 1))


def test_flow_loss_scores_only_the_generated_region() -> None:
    model = build()
    unzero(model)
    x = inputs(model)
    v0, a0 = x["video"], x["audio"]
    all_given = torch.ones(B, 1, F, H, W)
    loss, parts = rectified_flow_loss(
        model,
        v0,
        a0,
        x["text_tokens"],
        video_cond=v0,
        video_mask=all_given,
        generator=torch.Generator().manual_seed(0),
    )
    assert parts["video"].item() == 0.0 and parts["audio"].item() > 0
    half = torch.zeros(B, 1, F, H, W)
    half[:, :, :2] = 1
    loss, parts = rectified_flow_loss(
        model,
        v0,
        a0,
        x["text_tokens"],
        video_cond=v0,
        video_mask=half,
        diffusion_forcing=True,
        text_dropout=0.5,
        generator=torch.Generator().manual_seed(0),
    )
    assert parts["video"].item() > 0 and torch.isfinite(loss)
    loss.backward()


def test_flow_loss_checks_masks_first() -> None:
    model = build()
    x = inputs(model)
    with pytest.raises(ModelError, match=r"video_mask has shape \(2, 4\)"):
        rectified_flow_loss(model, x["video"], x["audio"], x["text_tokens"], video_cond=x["video"],
                            video_mask=torch.ones(2, 4), diffusion_forcing=True)  # fmt: skip
    with pytest.raises(ModelError, match="one B"):
        rectified_flow_loss(model, x["video"], x["audio"][:1], x["text_tokens"])


def test_logit_normal_sigma() -> None:
    s = logit_normal((20000,), generator=torch.Generator().manual_seed(0))
    assert (s > 0).all() and (s < 1).all()
    assert abs(s.median().item() - 0.5) < 0.02
    assert ((s > 0.25) & (s < 0.75)).float().mean() > 0.6  # mass concentrated at mid noise
