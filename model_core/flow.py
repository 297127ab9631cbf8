"""Rectified-flow training objective for the dual-stream model.

x_t = (1 − σ) x₀ + σ ε walks a straight line from data (σ = 0) to noise (σ = 1); the model predicts the
constant velocity along it, v = ε − x₀. σ is drawn logit-normal (SD3): most samples land at mid noise, where
the prediction is hardest and matters most, few at the trivial ends.

The loss is averaged over the region the model has to *generate* (mask = 0): given content (mask = 1, e.g. the
first frame for image-to-video, kept dialogue) is visible through the condition channels and is not scored.

``diffusion_forcing=True`` draws an independent σ per temporal token (per video latent-frame group and per
audio patch) so one model learns to denoise sequences whose parts are at different noise levels — what
extension (continue a clip from its last frames) samples with. Frames or steps that are fully given get σ = 0
there, exactly as the sampler presents them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from model_core.config import ModelError
from model_core.model import DualStreamMMDiT, cond_pair


def logit_normal(
    shape: tuple[int, ...],
    *,
    mean: float = 0.0,
    std: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """σ = sigmoid(mean + std · n), n ~ N(0, 1): values in (0, 1), concentrated around sigmoid(mean)."""
    return torch.sigmoid(mean + std * torch.randn(shape, generator=generator, device=device))


def fully_given(mask: Tensor) -> Tensor:
    """Per temporal step: is every cell given? video mask (B, 1, F, H, W) → (B, F); audio (B, 1, N) → (B,
    N)."""
    return (mask > 0.5).flatten(3).all(-1)[:, 0] if mask.dim() == 5 else (mask[:, 0] > 0.5)


def null_text_tokens(model: DualStreamMMDiT, batch: int, length: int) -> Tensor:
    """Tokens of the empty prompt, padded to ``length``: the unconditional branch of classifier-free
    guidance."""
    tokens, _ = model.text_encoder.tokenize([""] * batch)  # (B, l)
    if tokens.shape[1] > length:
        raise ModelError(f"the empty prompt takes {tokens.shape[1]} tokens; text_tokens has only {length}")
    out = torch.full((batch, length), model.text_encoder.pad_id, dtype=torch.int64)  # (B, L)
    out[:, : tokens.shape[1]] = tokens
    return out


def _masked_mse(pred: Tensor, target: Tensor, generate: Tensor) -> Tensor:
    """Mean squared error over the cells to generate (``generate`` broadcasts over channels)."""
    err = (pred.float() - target.float()).square() * generate  # like pred
    count = generate.expand_as(pred).sum()
    return err.sum() / count.clamp_min(1.0)


def rectified_flow_loss(
    model: DualStreamMMDiT,
    video_x0: Tensor,
    audio_x0: Tensor,
    text_tokens: Tensor,
    *,
    generator: torch.Generator | None = None,
    video_cond: Tensor | None = None,
    video_mask: Tensor | None = None,
    audio_cond: Tensor | None = None,
    audio_mask: Tensor | None = None,
    video_ref: Tensor | None = None,
    diffusion_forcing: bool = False,
    sigma_mean: float = 0.0,
    sigma_std: float = 1.0,
    audio_weight: float = 1.0,
    text_dropout: float = 0.0,
    audio_cond_dropout: float = 0.0,
    audio_step_weight: Tensor | None = None,
    vsa_sparsity: float | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """One rectified-flow loss on clean latents video (B, Cv, F, H, W) and audio (B, Ca, N).

    ``text_dropout`` / ``audio_cond_dropout`` replace the prompt with the empty prompt / drop the audio
    condition for that fraction of samples, which is what makes the sampler's two guidance scales meaningful.
    ``audio_step_weight`` (B, N) weighs the audio error per latent step (the loss stays a weighted mean).
    Returns ``(loss, parts)`` with parts ``video``, ``audio`` (masked MSEs) and ``sigma`` (mean σ drawn),
    detached.
    """
    if video_x0.dim() != 5 or audio_x0.dim() != 3 or video_x0.shape[0] != audio_x0.shape[0]:
        raise ModelError(
            "video_x0 must be (B, Cv, F, H, W) and audio_x0 (B, Ca, N) with one B; "
            f"got {tuple(video_x0.shape)} and {tuple(audio_x0.shape)}"
        )
    # masks are read below before the model sees them: check them (and their conds) against the latents first
    cond_pair("video", video_x0, video_cond, video_mask)
    cond_pair("audio", audio_x0, audio_cond, audio_mask)
    b, _, f, _, _ = video_x0.shape
    n = audio_x0.shape[2]
    dev = video_x0.device
    pt, pa = model.cfg.video.patch[0], model.cfg.audio.patch[0]
    # condition dropout first: a dropped audio condition must also not be presented clean (σ = 0) below
    if text_dropout > 0:
        drop = torch.rand((b,), generator=generator, device=dev) < text_dropout  # (B,)
        text_tokens = torch.where(
            drop[:, None], null_text_tokens(model, b, text_tokens.shape[1]).to(dev), text_tokens
        )
    if audio_cond_dropout > 0 and audio_cond is not None and audio_mask is not None:
        keep = (torch.rand((b,), generator=generator, device=dev) >= audio_cond_dropout).to(audio_x0.dtype)
        audio_cond, audio_mask = audio_cond * keep[:, None, None], audio_mask * keep[:, None, None]

    if diffusion_forcing:
        # one σ per temporal token, repeated over the latent steps inside the token
        s_v = logit_normal((b, f // pt), mean=sigma_mean, std=sigma_std, generator=generator, device=dev)
        s_a = logit_normal((b, n // pa), mean=sigma_mean, std=sigma_std, generator=generator, device=dev)
        s_v, s_a = s_v.repeat_interleave(pt, 1), s_a.repeat_interleave(pa, 1)  # (B, F), (B, N)
        if video_mask is not None:
            s_v = s_v.masked_fill(fully_given(video_mask), 0.0)
        if audio_mask is not None:
            s_a = s_a.masked_fill(fully_given(audio_mask), 0.0)
    else:
        s = logit_normal((b,), mean=sigma_mean, std=sigma_std, generator=generator, device=dev)  # (B,)
        s_v, s_a = s[:, None].expand(b, f), s[:, None].expand(b, n)  # (B, F), (B, N)

    eps_v = torch.randn(video_x0.shape, generator=generator, device=dev, dtype=video_x0.dtype)  # like video
    eps_a = torch.randn(audio_x0.shape, generator=generator, device=dev, dtype=audio_x0.dtype)  # like audio
    sv = s_v.to(video_x0.dtype)[:, None, :, None, None]  # (B, 1, F, 1, 1)
    sa = s_a.to(audio_x0.dtype)[:, None, :]  # (B, 1, N)
    xt_v = (1 - sv) * video_x0 + sv * eps_v  # (B, Cv, F, H, W)
    xt_a = (1 - sa) * audio_x0 + sa * eps_a  # (B, Ca, N)

    v_pred, a_pred = model(
        xt_v,
        xt_a,
        None,
        text_tokens,
        video_cond,
        video_mask,
        audio_cond,
        audio_mask,
        video_ref,
        sigma_video=s_v.contiguous(),
        sigma_audio=s_a.contiguous(),
        vsa_sparsity=vsa_sparsity,
    )
    gen_v = 1.0 - video_mask.float() if video_mask is not None else video_x0.new_ones((1, 1, 1, 1, 1)).float()
    gen_a = 1.0 - audio_mask.float() if audio_mask is not None else audio_x0.new_ones((1, 1, 1)).float()
    if audio_step_weight is not None:
        if audio_step_weight.shape != (b, n):
            raise ModelError(f"audio_step_weight must be (B, N) = {(b, n)}, got {tuple(audio_step_weight.shape)}")
        gen_a = gen_a * audio_step_weight.float()[:, None, :]  # (B, 1, N)
    loss_v = _masked_mse(v_pred, eps_v - video_x0, gen_v.expand(b, 1, *video_x0.shape[2:]))
    loss_a = _masked_mse(a_pred, eps_a - audio_x0, gen_a.expand(b, 1, n))
    loss = loss_v + audio_weight * loss_a
    return loss, {"video": loss_v.detach(), "audio": loss_a.detach(), "sigma": s_v.float().mean().detach()}
