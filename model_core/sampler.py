"""Sampling: a stateless scheduler behind a ``Scheduler`` protocol and one visible loop, ``sample``.

Network, scheduler and loop are three separate things (diffusers' split). The default scheduler is Euler on
the rectified-flow ODE dx/dσ = v with the SD3 timestep shift σ' = s·σ / (1 + (s − 1)·σ): shift > 1 spends more
of the steps at high noise, where large, high-resolution latents need them to settle global layout.

Guidance has two scales (InstructPix2Pix-style composition):

    v = v(∅, ∅) + cfg_audio · (v(a, ∅) − v(∅, ∅)) + cfg_text · (v(a, t) − v(a, ∅))

where ``a`` is the audio condition (e.g. kept dialogue driving the picture) and ``t`` the prompt; without an
audio condition (or with ``cfg_audio = 1``) it reduces to ordinary text CFG. With a picture condition (video
mask, e.g. the audio pass of video-to-audio) ``cfg_picture`` adds ``(cfg_picture − 1) · (v(p, …) − v(∅p, …))``:
how much more the clean picture says than the noisy picture alone. All branches run as one batched forward.

``diffusion_forcing=True`` (for models trained that way, see ``model_core.flow``): fully given frames / audio
steps are held clean at σ = 0 while the rest is denoised — extension of a clip from its last frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from model_core.config import ModelError
from model_core.flow import fully_given, null_text_tokens
from model_core.model import DualStreamMMDiT


@runtime_checkable
class Scheduler(Protocol):
    """Stateless: the noise levels for a number of steps, and one update from σ to σ_next."""

    def sigmas(self, steps: int) -> Tensor:
        """(steps + 1,) decreasing from 1 (pure noise) to 0 (data)."""
        ...

    def step(self, x: Tensor, velocity: Tensor, sigma: Tensor, sigma_next: Tensor) -> Tensor:
        """x at σ_next; σ tensors broadcast against x (per sample or per frame)."""
        ...


@dataclass(frozen=True)
class ShiftedEulerScheduler:
    """Euler steps on evenly spaced, shifted noise levels."""

    shift: float = 3.0

    def sigmas(self, steps: int) -> Tensor:
        s = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)  # (steps+1,)
        return (self.shift * s / (1 + (self.shift - 1) * s)).float()  # (steps+1,)

    def step(self, x: Tensor, velocity: Tensor, sigma: Tensor, sigma_next: Tensor) -> Tensor:
        return x + (sigma_next - sigma) * velocity  # x moves along v = ε − x₀ toward data as σ falls


def _check(
    model: DualStreamMMDiT,
    text_tokens: Tensor,
    video_shape: tuple[int, ...],
    audio_shape: tuple[int, ...],
    steps: int,
    cfg_text: float,
    cfg_audio: float,
    video_cond: Tensor | None,
    video_mask: Tensor | None,
    audio_cond: Tensor | None,
    audio_mask: Tensor | None,
) -> None:
    cv, ca = model.cfg.video, model.cfg.audio
    if len(video_shape) != 5 or video_shape[1] != cv.channels:
        raise ModelError(
            f"video_shape must be (B, Cv={cv.channels}, F, H, W); got {tuple(video_shape)}",
            field="video_shape",
        )
    if len(audio_shape) != 3 or audio_shape[1] != ca.channels or audio_shape[0] != video_shape[0]:
        raise ModelError(
            f"audio_shape must be ({video_shape[0]}, Ca={ca.channels}, N); got {tuple(audio_shape)}",
            field="audio_shape",
        )
    if text_tokens.dim() != 2 or text_tokens.shape[0] != video_shape[0]:
        raise ModelError(
            f"text_tokens must be ({video_shape[0]}, L); got {tuple(text_tokens.shape)}", field="text_tokens"
        )
    for name, cond, mask in (("video", video_cond, video_mask), ("audio", audio_cond, audio_mask)):
        if (cond is None) != (mask is None):
            raise ModelError(
                f"{name}_cond and {name}_mask go together",
                field=f"{name}_mask" if mask is None else f"{name}_cond",
                hint=f"pass both, or neither; {name}_mask is 1 where {name}_cond is given",
            )
    if steps < 1:
        raise ModelError(f"steps must be >= 1, got {steps}", field="steps")
    if cfg_text < 0 or cfg_audio < 0:
        raise ModelError(f"guidance scales must be >= 0, got cfg_text={cfg_text}, cfg_audio={cfg_audio}")


@torch.no_grad()
def sample(
    model: DualStreamMMDiT,
    text_tokens: Tensor,
    *,
    video_shape: tuple[int, ...],
    audio_shape: tuple[int, ...],
    steps: int = 20,
    shift: float = 3.0,
    cfg_text: float = 4.0,
    cfg_audio: float = 1.0,
    cfg_picture: float = 1.0,
    video_cond: Tensor | None = None,
    video_mask: Tensor | None = None,
    audio_cond: Tensor | None = None,
    audio_mask: Tensor | None = None,
    video_ref: Tensor | None = None,
    generator: torch.Generator | None = None,
    scheduler: Scheduler | None = None,
    diffusion_forcing: bool = False,
) -> tuple[Tensor, Tensor]:
    """Generate video (B, Cv, F, H, W) and audio (B, Ca, N) latents from noise; given regions are pasted back.

    ``video_shape`` / ``audio_shape`` are full shapes including the batch. ``scheduler`` defaults to
    ``ShiftedEulerScheduler(shift)``.
    """
    if cfg_picture < 0:
        raise ModelError(f"cfg_picture must be >= 0, got {cfg_picture}", field="cfg_picture")
    _check(
        model, text_tokens, video_shape, audio_shape, steps, cfg_text, cfg_audio,
        video_cond, video_mask, audio_cond, audio_mask,
    )  # fmt: skip
    sched = scheduler if scheduler is not None else ShiftedEulerScheduler(shift)
    param = next(model.parameters())
    dev, dtype = param.device, param.dtype
    b = video_shape[0]
    x_v = torch.randn(video_shape, generator=generator, device=dev, dtype=dtype)  # (B, Cv, F, H, W)
    x_a = torch.randn(audio_shape, generator=generator, device=dev, dtype=dtype)  # (B, Ca, N)
    text_tokens = text_tokens.to(dev)
    # masks may arrive as bool; the paste-back below does arithmetic with them
    video_mask = video_mask.to(dev, dtype) if video_mask is not None else None
    audio_mask = audio_mask.to(dev, dtype) if audio_mask is not None else None

    # the guidance branches, stacked along the batch: (audio cond, text), (audio cond, ∅), (∅, ∅)
    use_text = cfg_text != 1.0
    use_audio = cfg_audio != 1.0 and audio_cond is not None
    use_picture = cfg_picture != 1.0 and video_cond is not None
    null = null_text_tokens(model, b, text_tokens.shape[1]).to(dev)  # (B, L)
    tokens = [text_tokens] + ([null] if use_text or use_audio else []) + ([null] if use_audio else [])
    no_audio = [False, False, True][: len(tokens)]
    if use_picture:  # one more branch: the prompt, the audio condition, but no picture condition
        tokens.append(text_tokens)
        no_audio.append(False)
    n_branch = len(tokens)
    no_picture = [False] * (n_branch - 1) + [use_picture]

    def batched(x: Tensor | None, drop: list[bool] | None = None) -> Tensor | None:
        if x is None:
            return None
        rows = [torch.zeros_like(x) if drop is not None and drop[i] else x for i in range(n_branch)]
        return torch.cat(rows)  # (n_branch*B, ...)

    vc, vm, ac, am, ref = (
        batched(video_cond, no_picture),
        batched(video_mask, no_picture),
        batched(audio_cond, no_audio),
        batched(audio_mask, no_audio),
        batched(video_ref),
    )
    tok = torch.cat(tokens)  # (n_branch*B, L)
    keep_v = fully_given(video_mask) if diffusion_forcing and video_mask is not None else None  # (B, F)
    keep_a = fully_given(audio_mask) if diffusion_forcing and audio_mask is not None else None  # (B, N)

    sigmas = sched.sigmas(steps).to(dev)  # (steps+1,)
    noise_v, noise_a = x_v.clone(), x_a.clone()  # the starting noise: given cells stay on its forward path
    for i in range(steps):
        s, s_next = sigmas[i], sigmas[i + 1]
        s_v = torch.full(video_shape[:1] + video_shape[2:3], float(s), device=dev)  # (B, F)
        s_a = torch.full(audio_shape[:1] + audio_shape[2:3], float(s), device=dev)  # (B, N)
        sn_v, sn_a = s_v.clone().fill_(float(s_next)), s_a.clone().fill_(float(s_next))
        if not diffusion_forcing:
            # as in training, a given cell enters the model as its condition noised to the current σ (the
            # model's velocity there is never trained, so the cell must not drift along it)
            if video_mask is not None:
                given_v = (1 - s) * video_cond + s * noise_v  # (B, Cv, F, H, W)
                x_v = video_mask * given_v + (1 - video_mask) * x_v
            if audio_mask is not None:
                given_a = (1 - s) * audio_cond + s * noise_a  # (B, Ca, N)
                x_a = audio_mask * given_a + (1 - audio_mask) * x_a
        if keep_v is not None:
            # given frames stay clean data at σ = 0 (they are what the rest is conditioned on)
            x_v = torch.where(keep_v[:, None, :, None, None], video_cond, x_v)  # (B, Cv, F, H, W)
            s_v, sn_v = s_v.masked_fill(keep_v, 0.0), sn_v.masked_fill(keep_v, 0.0)
        if keep_a is not None:
            x_a = torch.where(keep_a[:, None, :], audio_cond, x_a)  # (B, Ca, N)
            s_a, sn_a = s_a.masked_fill(keep_a, 0.0), sn_a.masked_fill(keep_a, 0.0)
        xv, xa = x_v.repeat(n_branch, 1, 1, 1, 1), x_a.repeat(n_branch, 1, 1)  # (n*B, ...) one per branch
        sv, sa = s_v.repeat(n_branch, 1), s_a.repeat(n_branch, 1)  # (n*B, F), (n*B, N)
        v_all, a_all = model(xv, xa, None, tok, vc, vm, ac, am, ref, sigma_video=sv, sigma_audio=sa)
        v_br, a_br = v_all.chunk(n_branch), a_all.chunk(n_branch)
        if use_audio:
            vel_v = v_br[2] + cfg_audio * (v_br[1] - v_br[2]) + cfg_text * (v_br[0] - v_br[1])
            vel_a = a_br[2] + cfg_audio * (a_br[1] - a_br[2]) + cfg_text * (a_br[0] - a_br[1])
        elif use_text:
            vel_v = v_br[1] + cfg_text * (v_br[0] - v_br[1])  # (B, Cv, F, H, W)
            vel_a = a_br[1] + cfg_text * (a_br[0] - a_br[1])  # (B, Ca, N)
        else:
            vel_v, vel_a = v_br[0], a_br[0]
        if use_picture:  # picture guidance: how much more the given picture says than its noisy self
            vel_v = vel_v + (cfg_picture - 1) * (v_br[0] - v_br[-1])
            vel_a = vel_a + (cfg_picture - 1) * (a_br[0] - a_br[-1])
        x_v = sched.step(
            x_v, vel_v, s_v[:, None, :, None, None].to(dtype), sn_v[:, None, :, None, None].to(dtype)
        )
        x_a = sched.step(x_a, vel_a, s_a[:, None, :].to(dtype), sn_a[:, None, :].to(dtype))

    if video_cond is not None and video_mask is not None:
        x_v = video_mask * video_cond + (1 - video_mask) * x_v  # given content exactly as given
    if audio_cond is not None and audio_mask is not None:
        x_a = audio_mask * audio_cond + (1 - audio_mask) * x_a
    return x_v, x_a
