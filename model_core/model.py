"""The dual-stream audio-video MMDiT, in one file that reads top to bottom.

primitives (σ embedding, adaLN modulation, patchify) → RoPE with positions in seconds → attention (self, text
cross, audio↔video cross; video self-attention optionally sparse, see ``model_core.attention``) → blocks → the
model (``check_inputs``, ``forward``) → weight init.

Shape letters: B batch, Cv/Ca latent channels, F/N video frames / audio steps, H/W latent height/width,
T token count, D width, h heads, hd head dim, L text tokens, Tc conditioning rows (1 per sample for one σ, one
per temporal token for per-frame σ; each row modulates T/Tc consecutive tokens).

Conditioning is by channel concatenation: every patch embedding sees noisy latent ⊕ condition latent ⊕ mask
(1 = given, 0 = generate), so text-to-video (all zeros), image-to-video (first frame given), inpainting (any
mask) and extension (prefix frames given) are one task. Reference frames are concatenated in time *before* the
target, at negative times, with σ = 0, and sliced off the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model_core.attention import dense_attention, video_sparse_attention
from model_core.config import ModelConfig, ModelError, StreamConfig
from model_core.text import build_text_encoder

# --------------------------------------------------------------------------------------------------
# primitives


def sigma_embedding(sigma: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of σ ∈ [0, 1], scaled by 1000 so the frequencies resolve small σ steps.
    (...,) → (..., dim)."""
    half = dim // 2
    steps = torch.arange(half, device=sigma.device, dtype=torch.float32)  # (dim/2,)
    freqs = torch.exp(-math.log(10000.0) * steps / half)  # (dim/2,)
    args = sigma.float()[..., None] * 1000.0 * freqs  # (..., dim/2)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (..., 2*(dim/2))
    return F.pad(emb, (0, dim % 2))  # (..., dim)


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """adaLN: x (B, T, D) with per-row shift/scale (B, Tc, D); row r modulates tokens [r*T/Tc, (r+1)*T/Tc)."""
    b, t, d = x.shape
    xg = x.view(b, shift.shape[1], -1, d)  # (B, Tc, T/Tc, D)
    return (xg * (1 + scale[:, :, None]) + shift[:, :, None]).view(b, t, d)  # (B, T, D)


def gated(x: Tensor, gate: Tensor) -> Tensor:
    """x (B, T, D) times per-row gate (B, Tc, D)."""
    b, t, d = x.shape
    return (x.view(b, gate.shape[1], -1, d) * gate[:, :, None]).view(b, t, d)  # (B, T, D)


def patchify_video(x: Tensor, patch: tuple[int, ...]) -> Tensor:
    """(B, C, F, H, W) → (B, T, C*pt*ph*pw) tokens in raster (t, h, w) order."""
    b, c, f, h, w = x.shape
    pt, ph, pw = patch
    x = x.view(b, c, f // pt, pt, h // ph, ph, w // pw, pw)  # (B, C, F', pt, H', ph, W', pw)
    x = x.permute(0, 2, 4, 6, 1, 3, 5, 7)  # (B, F', H', W', C, pt, ph, pw)
    return x.reshape(b, (f // pt) * (h // ph) * (w // pw), c * pt * ph * pw)  # (B, T, C*pv)


def unpatchify_video(x: Tensor, patch: tuple[int, ...], channels: int, grid: tuple[int, int, int]) -> Tensor:
    """(B, T, C*pt*ph*pw) → (B, C, F, H, W); inverse of ``patchify_video``."""
    b = x.shape[0]
    (pt, ph, pw), (t, h, w) = patch, grid
    x = x.view(b, t, h, w, channels, pt, ph, pw)  # (B, F', H', W', C, pt, ph, pw)
    x = x.permute(0, 4, 1, 5, 2, 6, 3, 7)  # (B, C, F', pt, H', ph, W', pw)
    return x.reshape(b, channels, t * pt, h * ph, w * pw)  # (B, C, F, H, W)


def patchify_audio(x: Tensor, patch: int) -> Tensor:
    """(B, C, N) → (B, N/pa, C*pa)."""
    b, c, n = x.shape
    x = x.view(b, c, n // patch, patch).permute(0, 2, 1, 3)  # (B, N/pa, C, pa)
    return x.reshape(b, n // patch, c * patch)  # (B, T, C*pa)


def unpatchify_audio(x: Tensor, patch: int, channels: int) -> Tensor:
    """(B, N/pa, C*pa) → (B, C, N)."""
    b, t, _ = x.shape
    return x.view(b, t, channels, patch).permute(0, 2, 1, 3).reshape(b, channels, t * patch)  # (B, C, N)


# --------------------------------------------------------------------------------------------------
# RoPE with temporal positions in seconds
#
# The time rotation uses `video_rope[0]` channels with frequencies in radians per SECOND, shared by both
# towers: freq_i = video_token_rate * theta^(-2i/dt). In the video tower that is exactly the classic
# per-token-index RoPE (angle = t_index * theta^(-2i/dt)); in the audio tower the per-index frequency is
# scaled by video_token_rate / audio_token_rate — the "RoPE frequency scaling by the ratio of latent rates". A
# video token and an audio token at the same instant therefore get the same rotation, and cross-modal
# attention (which rotates both sides by time only) sees only their time difference in seconds.


def video_token_seconds(cfg: ModelConfig, frames: int, ref_frames: int = 0) -> Tensor:
    """Start time (s) of each temporal video token, token index · pt / fps: reference tokens first, at
    negative times ending ``ref_time_offset`` seconds before the target starts, then the target from 0."""
    pt, rate = cfg.video.patch[0], cfg.video.latent_rate
    target = torch.arange(frames // pt, dtype=torch.float64) * pt / rate  # (F',)
    ref_idx = torch.arange(ref_frames // pt, dtype=torch.float64) * pt - ref_frames  # (Fr',) frames, < 0
    ref = ref_idx / rate - cfg.ref_time_offset  # (Fr',) seconds
    return torch.cat([ref, target])  # (Fr' + F',)


def audio_token_seconds(cfg: ModelConfig, length: int) -> Tensor:
    """Start time (s) of each audio token, token index · pa / rate."""
    pa, rate = cfg.audio.patch[0], cfg.audio.latent_rate
    return torch.arange(length // pa, dtype=torch.float64) * pa / rate  # (N',)


def _freqs(dim: int, theta: float) -> Tensor:
    return theta ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (dim/2,)


def time_angles(cfg: ModelConfig, seconds: Tensor, head_dim: int) -> Tensor:
    """Rotation angles (T, head_dim/2): the shared time rotation in the first dt/2 pairs, then zeros
    (channels that carry no position)."""
    dt = cfg.rope_time_dim
    ang = seconds[:, None] * (cfg.video.token_rate * _freqs(dt, cfg.rope_theta))  # (T, dt/2) radians
    return F.pad(ang, (0, head_dim // 2 - dt // 2))  # (T, head_dim/2)


def video_rope_angles(cfg: ModelConfig, seconds: Tensor, height: int, width: int) -> Tensor:
    """3-D RoPE for video self-attention: (T*H*W, hd/2) = [time in seconds | row index | column index]."""
    _, dh, dw = cfg.video_rope
    t, n_hw = seconds.shape[0], height * width
    ang_t = time_angles(cfg, seconds, cfg.rope_time_dim)  # (T, dt/2)
    ang_h = torch.arange(height, dtype=torch.float64)[:, None] * _freqs(dh, cfg.rope_theta)  # (H, dh/2)
    ang_w = torch.arange(width, dtype=torch.float64)[:, None] * _freqs(dw, cfg.rope_theta)  # (W, dw/2)
    parts = [
        ang_t[:, None, None].expand(t, height, width, -1),  # (T, H, W, dt/2)
        ang_h[None, :, None].expand(t, height, width, -1),  # (T, H, W, dh/2)
        ang_w[None, None, :].expand(t, height, width, -1),  # (T, H, W, dw/2)
    ]
    return torch.cat(parts, dim=-1).reshape(t * n_hw, -1)  # (T*H*W, hd/2)


@dataclass(frozen=True)
class Rotary:
    """cos/sin tables (T, hd/2) for one token sequence in one head-dim space."""

    cos: Tensor
    sin: Tensor

    @staticmethod
    def of(angles: Tensor, like: Tensor) -> Rotary:
        return Rotary(angles.cos().to(like), angles.sin().to(like))


def apply_rope(x: Tensor, rot: Rotary) -> Tensor:
    """Rotate channel pairs (2i, 2i+1) of x (B, h, T, hd) by the angles of each token."""
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, h, T, hd/2) each
    r1 = x1 * rot.cos - x2 * rot.sin  # (B, h, T, hd/2)
    r2 = x1 * rot.sin + x2 * rot.cos  # (B, h, T, hd/2)
    out = torch.stack([r1, r2], dim=-1)  # (B, h, T, hd/2, 2)
    return out.flatten(-2)  # (B, h, T, hd), pairs interleaved back in place


# --------------------------------------------------------------------------------------------------
# attention


@dataclass(frozen=True)
class VSARun:
    """How the video self-attention runs sparse in this forward pass: token grid (T, H, W) and the
    sparsity."""

    grid: tuple[int, int, int]
    cube: tuple[int, int, int]
    top_k: int | None
    sparsity: float


class Attention(nn.Module):
    """Multi-head attention from ``dim_q`` queries onto ``dim_kv`` context, in the query tower's head space.

    q/k RMS-norm keeps attention logits bounded as widths grow (no logit blow-up in bf16); RoPE is applied
    after it. With ``vsa`` the (video) self-attention runs Video Sparse Attention on a token grid, with a
    per-head coarse gate predicted from the hidden state.
    """

    def __init__(self, dim_q: int, dim_kv: int, heads: int, *, qk_norm: bool, vsa: bool = False) -> None:
        super().__init__()
        self.heads = heads
        hd = dim_q // heads
        self.q = nn.Linear(dim_q, dim_q)
        self.k = nn.Linear(dim_kv, dim_q)
        self.v = nn.Linear(dim_kv, dim_q)
        self.out = nn.Linear(dim_q, dim_q)
        self.q_norm = nn.RMSNorm(hd) if qk_norm else nn.Identity()
        self.k_norm = nn.RMSNorm(hd) if qk_norm else nn.Identity()
        self.coarse_gate = nn.Linear(dim_q, heads) if vsa else None

    def _heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, -1).transpose(1, 2)  # (B, h, T, hd)

    def forward(
        self,
        x: Tensor,
        ctx: Tensor,
        *,
        rot_q: Rotary | None = None,
        rot_k: Rotary | None = None,
        key_mask: Tensor | None = None,
        vsa: VSARun | None = None,
    ) -> Tensor:
        b, t, d = x.shape
        q = self.q_norm(self._heads(self.q(x)))  # (B, h, T, hd)
        k = self.k_norm(self._heads(self.k(ctx)))  # (B, h, S, hd)
        v = self._heads(self.v(ctx))  # (B, h, S, hd)
        if rot_q is not None:
            q = apply_rope(q, rot_q)  # (B, h, T, hd)
        if rot_k is not None:
            k = apply_rope(k, rot_k)  # (B, h, S, hd)
        if vsa is not None and self.coarse_gate is not None:
            gate = self.coarse_gate(x).transpose(1, 2)  # (B, h, T)
            sparse = {"cube": vsa.cube, "top_k": vsa.top_k, "sparsity": vsa.sparsity}
            o = video_sparse_attention(q, k, v, vsa.grid, coarse_gate=gate, **sparse)  # (B, h, T, hd)
        elif key_mask is not None:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])  # (B, h, T, hd)
        else:
            o = dense_attention(q, k, v)  # (B, h, T, hd)
        return self.out(o.transpose(1, 2).reshape(b, t, d))  # (B, T, D)


class CrossModalAttention(nn.Module):
    """Gated attention from one tower onto the other (``audio_to_video_attn`` lives in the video tower's
    space).

    Both sides are rotated by *time only* (seconds), so a video query attends to audio keys by time offset.
    The tanh gate starts at zero: a fresh coupling is the identity and the pretrained single-stream behaviour
    is kept until the gate learns to open.
    """

    def __init__(self, query: StreamConfig, context: StreamConfig, *, qk_norm: bool) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(query.width)
        self.norm_kv = nn.LayerNorm(context.width)
        self.attn = Attention(query.width, context.width, query.heads, qk_norm=qk_norm)
        self.gate = nn.Parameter(torch.zeros(query.width))

    def forward(self, x: Tensor, ctx: Tensor, rot_q: Rotary, rot_k: Rotary) -> Tensor:
        o = self.attn(self.norm_q(x), self.norm_kv(ctx), rot_q=rot_q, rot_k=rot_k)  # (B, Tq, Dq)
        return torch.tanh(self.gate) * o  # (B, Tq, Dq)


# --------------------------------------------------------------------------------------------------
# blocks


class TowerBlock(nn.Module):
    """One stream's half of a block: adaLN-zero self-attention, text cross-attention, adaLN-zero MLP.

    The audio↔video exchange sits between text cross-attention and the MLP and is run by ``DualStreamBlock``.
    """

    def __init__(self, s: StreamConfig, text_width: int, *, qk_norm: bool, vsa: bool) -> None:
        super().__init__()
        d = s.width
        self.adaLN = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))  # shift/scale/gate for attention and MLP
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False)
        self.attn = Attention(d, d, s.heads, qk_norm=qk_norm, vsa=vsa)
        self.norm_text = nn.LayerNorm(d)
        self.text_attn = Attention(d, text_width, s.heads, qk_norm=qk_norm)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(d, s.mlp_hidden), nn.GELU(approximate="tanh"), nn.Linear(s.mlp_hidden, d)
        )

    def attend(
        self, x: Tensor, mod: Tensor, rot: Rotary, text: Tensor, text_mask: Tensor, vsa: VSARun | None
    ) -> Tensor:
        shift, scale, gate = mod.chunk(6, dim=-1)[:3]  # (B, Tc, D) each
        y = modulate(self.norm1(x), shift, scale)  # (B, T, D)
        x = x + gated(self.attn(y, y, rot_q=rot, rot_k=rot, vsa=vsa), gate)  # (B, T, D)
        return x + self.text_attn(self.norm_text(x), text, key_mask=text_mask)  # (B, T, D)

    def feed_forward(self, x: Tensor, mod: Tensor) -> Tensor:
        shift, scale, gate = mod.chunk(6, dim=-1)[3:]  # (B, Tc, D) each
        return x + gated(self.mlp(modulate(self.norm2(x), shift, scale)), gate)  # (B, T, D)


@dataclass(frozen=True)
class StreamState:
    """Per-forward, per-stream context a block needs.

    mod_c: conditioning rows (B, Tc, D) (σ embedding + pooled text); rot: self-attention RoPE (T, hd/2);
    rot_time_self: time-only RoPE of this stream's tokens in its own head space (for its queries);
    rot_time_other: time-only RoPE of this stream's tokens in the *other* tower's head space (as keys there).
    """

    cond: Tensor
    rot: Rotary
    rot_time_self: Rotary
    rot_time_other: Rotary


class DualStreamBlock(nn.Module):
    """A video block and an audio block run in lockstep; in ``coupled_blocks`` they exchange information
    through ``audio_to_video_attn`` (video queries, audio keys) and ``video_to_audio_attn`` (audio queries,
    video keys)."""

    def __init__(self, cfg: ModelConfig, index: int) -> None:
        super().__init__()
        start, stop = cfg.coupled_blocks
        self.video = TowerBlock(cfg.video, cfg.text.width, qk_norm=cfg.qk_norm, vsa=cfg.vsa.enabled)
        self.audio = TowerBlock(cfg.audio, cfg.text.width, qk_norm=cfg.qk_norm, vsa=False)
        self.coupled = start <= index < stop
        if self.coupled:
            self.audio_to_video_attn = CrossModalAttention(cfg.video, cfg.audio, qk_norm=cfg.qk_norm)
            self.video_to_audio_attn = CrossModalAttention(cfg.audio, cfg.video, qk_norm=cfg.qk_norm)

    def forward(
        self,
        v: Tensor,
        a: Tensor,
        vs: StreamState,
        as_: StreamState,
        text: tuple[Tensor, Tensor],
        vsa: VSARun | None,
    ) -> tuple[Tensor, Tensor]:
        v_mod = self.video.adaLN(vs.cond)  # (B, Tcv, 6Dv)
        a_mod = self.audio.adaLN(as_.cond)  # (B, Tca, 6Da)
        v = self.video.attend(v, v_mod, vs.rot, text[0], text[1], vsa)  # (B, Tv, Dv)
        a = self.audio.attend(a, a_mod, as_.rot, text[0], text[1], None)  # (B, Ta, Da)
        if self.coupled:
            # both directions read the same pre-exchange states: neither stream sees the other's update first
            dv = self.audio_to_video_attn(v, a, vs.rot_time_self, as_.rot_time_other)  # (B, Tv, Dv)
            da = self.video_to_audio_attn(a, v, as_.rot_time_self, vs.rot_time_other)  # (B, Ta, Da)
            v, a = v + dv, a + da
        v = self.video.feed_forward(v, v_mod)  # (B, Tv, Dv)
        a = self.audio.feed_forward(a, a_mod)  # (B, Ta, Da)
        return v, a


class StreamIO(nn.Module):
    """A stream's input and output ends: patch embedding of noisy ⊕ cond ⊕ mask, σ MLP, pooled-text
    projection, final adaLN + linear back to latent patches."""

    def __init__(self, s: StreamConfig, cfg: ModelConfig) -> None:
        super().__init__()
        d, pv = s.width, s.patch_volume
        self.embed = nn.Linear((2 * s.channels + 1) * pv, d)
        self.sigma_mlp = nn.Sequential(nn.Linear(cfg.time_embed_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.text_pool = nn.Linear(cfg.text.width, d)
        self.final_norm = nn.LayerNorm(d, elementwise_affine=False)
        self.final_adaLN = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.final = nn.Linear(d, s.channels * pv)
        self.time_embed_dim = cfg.time_embed_dim

    def condition(self, sigma_rows: Tensor, pooled_text: Tensor) -> Tensor:
        """σ rows (B, Tc) and pooled text (B, Dt) → conditioning rows (B, Tc, D)."""
        c = self.sigma_mlp(sigma_embedding(sigma_rows, self.time_embed_dim).to(pooled_text))  # (B, Tc, D)
        return c + self.text_pool(pooled_text)[:, None]  # (B, Tc, D)

    def output(self, x: Tensor, cond: Tensor) -> Tensor:
        shift, scale = self.final_adaLN(cond).chunk(2, dim=-1)  # (B, Tc, D) each
        return self.final(modulate(self.final_norm(x), shift, scale))  # (B, T, C*pv)


# --------------------------------------------------------------------------------------------------
# the model


@dataclass(frozen=True)
class StreamInputs:
    """One stream's checked inputs.

    latent: noisy x_t — video (B, Cv, F, H, W), audio (B, Ca, N).
    cond:   given content, same shape as latent (zeros where nothing is given).
    mask:   (B, 1, F, H, W) / (B, 1, N), 1 = given/keep, 0 = generate.
    sigma:  noise level per temporal latent step, video (B, F), audio (B, N).
    """

    latent: Tensor
    cond: Tensor
    mask: Tensor
    sigma: Tensor


class DualStreamMMDiT(nn.Module):
    """Video tower + audio tower of equal depth sharing one text encoder, predicting rectified-flow
    velocities."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.text_encoder = build_text_encoder(cfg.text)
        self.video_io = StreamIO(cfg.video, cfg)
        self.audio_io = StreamIO(cfg.audio, cfg)
        self.blocks = nn.ModuleList(DualStreamBlock(cfg, i) for i in range(cfg.depth))
        self.initialize_weights()

    # -- boundary checks ---------------------------------------------------------------------------

    def check_inputs(
        self,
        video: Tensor,
        audio: Tensor,
        sigma: Tensor | None,
        text_tokens: Tensor,
        *,
        video_cond: Tensor | None = None,
        video_mask: Tensor | None = None,
        audio_cond: Tensor | None = None,
        audio_mask: Tensor | None = None,
        video_ref: Tensor | None = None,
        sigma_video: Tensor | None = None,
        sigma_audio: Tensor | None = None,
    ) -> tuple[StreamInputs, StreamInputs]:
        """Validate every input against the config and each other; fill defaults. Raises ``ModelError``."""
        cv, ca = self.cfg.video, self.cfg.audio
        pt, ph, pw = cv.patch
        pa = ca.patch[0]
        _tensor("video", video, 5, f"(B, Cv={cv.channels}, F, H, W)")
        b, c, f, h, w = video.shape
        if c != cv.channels or f % pt or h % ph or w % pw or min(f, h, w) == 0:
            raise ModelError(
                f"video has shape {tuple(video.shape)}; expected (B, Cv={cv.channels}, F, H, W) "
                f"with F a multiple of {pt}, H of {ph}, W of {pw}",
                field="video",
            )
        _tensor("audio", audio, 3, f"(B, Ca={ca.channels}, N)")
        if audio.shape[0] != b or audio.shape[1] != ca.channels or audio.shape[2] % pa or audio.shape[2] == 0:
            raise ModelError(
                f"audio has shape {tuple(audio.shape)}; expected ({b}, Ca={ca.channels}, N) "
                f"with N a multiple of {pa}",
                field="audio",
            )
        n = audio.shape[2]
        if text_tokens.dtype != torch.int64 or text_tokens.dim() != 2 or text_tokens.shape[0] != b:
            raise ModelError(
                f"text_tokens must be int64 of shape ({b}, L); "
                f"got {text_tokens.dtype} {tuple(text_tokens.shape)}",
                field="text_tokens",
                hint="use model.text_encoder.tokenize(prompts)[0]",
            )
        if text_tokens.shape[1] > self.text_encoder.max_len:
            raise ModelError(
                f"text_tokens has {text_tokens.shape[1]} tokens, "
                f"more than text.max_len={self.text_encoder.max_len}",
                field="text_tokens",
            )
        vocab = getattr(self.text_encoder, "vocab", None)
        if (
            vocab is not None
            and text_tokens.numel()
            and (text_tokens.min() < 0 or text_tokens.max() >= vocab)
        ):
            raise ModelError(f"text_tokens ids must lie in [0, {vocab})", field="text_tokens")

        def sig(name: str, given: Tensor | None, length: int) -> Tensor:
            if given is None:
                if sigma is None:
                    raise ModelError(f"pass sigma (B,) or {name} (B, {length})", field="sigma")
                _tensor("sigma", sigma, 1, f"({b},)")
                if sigma.shape[0] != b:
                    raise ModelError(f"sigma has shape {tuple(sigma.shape)}; expected ({b},)", field="sigma")
                given = sigma[:, None].expand(b, length)  # (B, length)
            elif given.shape != (b, length) or not given.is_floating_point():
                raise ModelError(
                    f"{name} has shape {tuple(given.shape)}; expected a float tensor ({b}, {length})",
                    field=name,
                )
            if given.numel() and (given.min() < 0 or given.max() > 1):
                raise ModelError(f"{name} must lie in [0, 1]", field=name)
            return given

        s_v = sig("sigma_video", sigma_video, f)  # (B, F)
        s_a = sig("sigma_audio", sigma_audio, n)  # (B, N)
        # one σ per token: frames inside a temporal patch must share it
        if pt > 1 and not torch.equal(s_v.view(b, -1, pt), s_v.view(b, -1, pt)[..., :1].expand(b, -1, pt)):
            raise ModelError(
                f"sigma_video must be equal within each group of {pt} frames (video.patch[0])",
                field="sigma_video",
            )
        if pa > 1 and not torch.equal(s_a.view(b, -1, pa), s_a.view(b, -1, pa)[..., :1].expand(b, -1, pa)):
            raise ModelError(
                f"sigma_audio must be equal within each group of {pa} steps (audio.patch[0])",
                field="sigma_audio",
            )

        vc, vm = cond_pair("video", video, video_cond, video_mask)
        ac, am = cond_pair("audio", audio, audio_cond, audio_mask)
        if video_ref is not None:
            _tensor("video_ref", video_ref, 5, f"({b}, {c}, Fr, {h}, {w})")
            if video_ref.shape[:2] != (b, c) or video_ref.shape[3:] != (h, w) or video_ref.shape[2] % pt:
                raise ModelError(
                    f"video_ref has shape {tuple(video_ref.shape)}; expected ({b}, {c}, Fr, {h}, {w}) "
                    f"with Fr a multiple of {pt}",
                    field="video_ref",
                )
        return StreamInputs(video, vc, vm, s_v), StreamInputs(audio, ac, am, s_a)

    # -- forward -----------------------------------------------------------------------------------

    def forward(
        self,
        video: Tensor,
        audio: Tensor,
        sigma: Tensor | None,
        text_tokens: Tensor,
        video_cond: Tensor | None = None,
        video_mask: Tensor | None = None,
        audio_cond: Tensor | None = None,
        audio_mask: Tensor | None = None,
        video_ref: Tensor | None = None,
        *,
        sigma_video: Tensor | None = None,
        sigma_audio: Tensor | None = None,
        vsa_sparsity: float | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Velocity predictions (B, Cv, F, H, W) and (B, Ca, N) for noisy latents at noise level σ.

        ``sigma`` (B,) is one noise level per sample; ``sigma_video`` (B, F) / ``sigma_audio`` (B, N) give one
        per latent step instead (diffusion forcing) and win over ``sigma``. ``vsa_sparsity`` overrides
        ``cfg.vsa.sparsity`` for this call (sparsity annealing during training).
        """
        cfg = self.cfg
        vin, ain = self.check_inputs(
            video,
            audio,
            sigma,
            text_tokens,
            video_cond=video_cond,
            video_mask=video_mask,
            audio_cond=audio_cond,
            audio_mask=audio_mask,
            video_ref=video_ref,
            sigma_video=sigma_video,
            sigma_audio=sigma_audio,
        )
        b, _, f, h, w = video.shape
        pt, ph, pw = cfg.video.patch
        pa = cfg.audio.patch[0]
        dtype = video.dtype

        # text: one encoder, read by both towers; the pooled vector joins σ in the adaLN conditioning
        text_mask = text_tokens != self.text_encoder.pad_id  # (B, L)
        text = self.text_encoder(text_tokens, text_mask).to(dtype)  # (B, L, Dt)
        weights = text_mask.to(dtype)[..., None]  # (B, L, 1)
        pooled = (text * weights).sum(1) / weights.sum(1).clamp_min(1.0)  # (B, Dt)

        # video tokens: [reference frames | target], each as noisy ⊕ cond ⊕ mask
        x_v = torch.cat([vin.latent, vin.cond, vin.mask.to(dtype)], dim=1)  # (B, 2Cv+1, F, H, W)
        fr = 0 if video_ref is None else video_ref.shape[2]
        sig_v = vin.sigma[:, ::pt]  # (B, F')
        if video_ref is not None:
            # references are clean given content: σ = 0, cond = themselves, mask = 1
            ones = torch.ones_like(video_ref[:, :1])  # (B, 1, Fr, H, W)
            ref = torch.cat([video_ref, video_ref, ones], dim=1)  # (B, 2Cv+1, Fr, H, W)
            x_v = torch.cat([ref, x_v], dim=2)  # (B, 2Cv+1, Fr+F, H, W)
            sig_v = torch.cat([sig_v.new_zeros(b, fr // pt), sig_v], dim=1)  # (B, Fr'+F')
        grid = ((fr + f) // pt, h // ph, w // pw)
        v = self.video_io.embed(patchify_video(x_v, cfg.video.patch))  # (B, Tv, Dv)
        if bool((sig_v == sig_v[:, :1]).all()):
            sig_v = sig_v[:, :1]  # one row per sample modulates every token: cheaper than one per frame
        c_v = self.video_io.condition(sig_v, pooled)  # (B, Tcv, Dv)

        x_a = torch.cat([ain.latent, ain.cond, ain.mask.to(dtype)], dim=1)  # (B, 2Ca+1, N)
        a = self.audio_io.embed(patchify_audio(x_a, pa))  # (B, Ta, Da)
        sig_a = ain.sigma[:, ::pa]  # (B, Ta)
        if bool((sig_a == sig_a[:, :1]).all()):
            sig_a = sig_a[:, :1]
        c_a = self.audio_io.condition(sig_a, pooled)  # (B, Tca, Da)

        # rotary tables: positions in seconds (see the RoPE section)
        t_v = video_token_seconds(cfg, f, fr)  # (Tv',)
        t_a = audio_token_seconds(cfg, audio.shape[2])  # (Ta,)
        hd_v, hd_a = cfg.video.head_dim, cfg.audio.head_dim
        t_v_tok = t_v.repeat_interleave(grid[1] * grid[2])  # (Tv,) time of every video token
        vs = StreamState(
            cond=c_v,
            rot=Rotary.of(video_rope_angles(cfg, t_v, grid[1], grid[2]), v),
            rot_time_self=Rotary.of(time_angles(cfg, t_v_tok, hd_v), v),
            rot_time_other=Rotary.of(time_angles(cfg, t_v_tok, hd_a), v),
        )
        as_ = StreamState(
            cond=c_a,
            rot=Rotary.of(time_angles(cfg, t_a, hd_a), a),
            rot_time_self=Rotary.of(time_angles(cfg, t_a, hd_a), a),
            rot_time_other=Rotary.of(time_angles(cfg, t_a, hd_v), a),
        )
        vsa = None
        if cfg.vsa.enabled:
            vsa = VSARun(
                grid,
                cfg.vsa.cube,
                cfg.vsa.top_k if vsa_sparsity is None else None,
                cfg.vsa.sparsity if vsa_sparsity is None else vsa_sparsity,
            )

        for block in self.blocks:
            v, a = block(v, a, vs, as_, (text, text_mask), vsa)  # (B, Tv, Dv), (B, Ta, Da)

        v = self.video_io.output(v, c_v)  # (B, Tv, Cv*pv)
        v = unpatchify_video(v, cfg.video.patch, cfg.video.channels, grid)  # (B, Cv, Fr+F, H, W)
        a = unpatchify_audio(self.audio_io.output(a, c_a), pa, cfg.audio.channels)  # (B, Ca, N)
        return v[:, :, fr:], a  # references sliced off: (B, Cv, F, H, W), (B, Ca, N)

    # -- weight init -------------------------------------------------------------------------------

    def initialize_weights(self) -> None:
        """DiT/PixArt init: xavier linears, zero biases; zero adaLN, final layers, text cross-attention
        outputs, VSA coarse gates and audio↔video gates, so every fresh block is the identity and the output
        is zero."""

        def base(m: nn.Module) -> None:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

        # the text encoder initialises itself: a registered pretrained encoder must keep its loaded weights
        for name, module in self.named_modules():
            if not name.startswith("text_encoder"):
                base(module)
        for io in (self.video_io, self.audio_io):
            for lin in (io.sigma_mlp[0], io.sigma_mlp[2]):
                nn.init.normal_(lin.weight, std=0.02)
            for lin in (io.final_adaLN[1], io.final):
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)
        for block in self.blocks:
            for tower in (block.video, block.audio):
                nn.init.zeros_(tower.adaLN[1].weight)
                nn.init.zeros_(tower.adaLN[1].bias)
                nn.init.zeros_(tower.text_attn.out.weight)
                nn.init.zeros_(tower.text_attn.out.bias)
                if tower.attn.coarse_gate is not None:
                    nn.init.zeros_(tower.attn.coarse_gate.weight)
                    nn.init.zeros_(tower.attn.coarse_gate.bias)
            if block.coupled:
                nn.init.zeros_(block.audio_to_video_attn.gate)
                nn.init.zeros_(block.video_to_audio_attn.gate)


def _tensor(name: str, x: object, dims: int, expected: str) -> None:
    if not isinstance(x, Tensor) or x.dim() != dims or not x.is_floating_point():
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise ModelError(f"{name} must be a float tensor {expected}; got {got}", field=name)


def cond_pair(name: str, latent: Tensor, cond: Tensor | None, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Condition latent and mask for one stream; both absent = generate everything (zeros)."""
    if (cond is None) != (mask is None):
        raise ModelError(
            f"{name}_cond and {name}_mask go together",
            field=f"{name}_mask" if mask is None else f"{name}_cond",
            hint=f"pass both, or neither for pure generation; {name}_mask is 1 where {name}_cond is given",
        )
    mask_shape = (latent.shape[0], 1, *latent.shape[2:])
    if cond is None or mask is None:
        return torch.zeros_like(latent), latent.new_zeros(mask_shape)
    if cond.shape != latent.shape:
        raise ModelError(
            f"{name}_cond has shape {tuple(cond.shape)}; expected {tuple(latent.shape)} (like {name})",
            field=f"{name}_cond",
        )
    if tuple(mask.shape) != mask_shape:
        raise ModelError(
            f"{name}_mask has shape {tuple(mask.shape)}; expected {mask_shape} (1 = given, 0 = generate)",
            field=f"{name}_mask",
        )
    return cond, mask.to(latent.dtype)
