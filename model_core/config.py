"""Configuration of the dual-stream audio-video MMDiT: one frozen config per stream, size presets, parameter
counts.

A config is the only constructor argument of every module in ``model_core.model``. Everything a module needs
to know about shapes lives here and is validated here, once, with messages that say what to change — so the
model code itself never has to second-guess its sizes.

Vocabulary used below:

* *latent frame* — one time step of the video latent ``(B, Cv, F, H, W)``; ``video.latent_rate`` is latent
frames per second (for the ``tiny`` preset the "latent" is simply RGB pixels at 8 fps).
* *audio latent step* — one time step of the audio latent ``(B, Ca, N)``; ``audio.latent_rate`` is steps per
second.
* *token* — one patch; video patches are ``(pt, ph, pw)`` latent cells, audio patches ``(pa,)`` latent steps.

``presets_table()`` is what ``reelwright model presets`` prints.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.errors import ReelwrightError


class ModelError(ReelwrightError):
    """Inputs that do not fit the model: a tensor with the wrong shape, dtype or value range."""


class ModelConfigError(ModelError):
    """A model configuration that cannot be built (heads that do not divide the width, a bad patch size …)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StreamConfig(_Frozen):
    """One tower of the dual-stream transformer (video or audio).

    ``patch`` has three entries ``(pt, ph, pw)`` for video and one ``(pa,)`` for audio. ``latent_rate`` is
    latent time steps per second (video latent fps, audio latent steps per second): the model turns token
    indices into seconds with it, which is what aligns the two streams in time.
    """

    channels: int = Field(gt=0, description="latent channels (Cv or Ca)")
    patch: tuple[int, ...] = Field(description="(pt, ph, pw) for video, (pa,) for audio")
    width: int = Field(gt=0, description="hidden size D of this tower")
    depth: int = Field(gt=0, description="number of blocks; both towers must be equally deep")
    heads: int = Field(gt=0)
    mlp_ratio: float = Field(default=4.0, gt=0)
    latent_rate: float = Field(gt=0, description="latent steps per second (video: latent fps)")

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def mlp_hidden(self) -> int:
        return int(self.width * self.mlp_ratio)

    @property
    def patch_volume(self) -> int:
        return math.prod(self.patch)

    @property
    def token_rate(self) -> float:
        """Tokens per second along time (latent rate divided by the temporal patch)."""
        return self.latent_rate / self.patch[0]

    @model_validator(mode="after")
    def _check(self) -> StreamConfig:
        if any(p <= 0 for p in self.patch):
            raise ModelConfigError(f"patch sizes must be positive, got {self.patch}", field="patch")
        if self.width % self.heads:
            raise ModelConfigError(
                f"heads={self.heads} does not divide width={self.width}",
                field="heads",
                hint=f"pick heads from the divisors of {self.width}, "
                f"e.g. {_divisors_near(self.width, self.heads)}",
            )
        if self.head_dim % 2:
            raise ModelConfigError(
                f"head dim width/heads = {self.head_dim} is odd; rotary embeddings rotate pairs of channels",
                field="heads",
                hint="choose width and heads so that width/heads is even",
            )
        return self


class TextConfig(_Frozen):
    """The text encoder shared by both towers.

    ``encoder="byte"`` is the default trainable byte-level transformer (``model_core.text.ByteTextEncoder``):
    no vocabulary file, no download, deterministic. Any other name must be registered with
    ``model_core.text.register_text_encoder`` (e.g. a frozen pretrained T5/LLM wrapper); ``width`` is then the
    hidden size that encoder emits and ``depth``/``heads``/``vocab`` are ignored by it.
    """

    encoder: str = "byte"
    vocab: int = Field(default=259, gt=3, description="byte encoder: 256 bytes + pad, bos, eos")
    width: int = Field(default=64, gt=0)
    depth: int = Field(default=2, ge=0)
    heads: int = Field(default=4, gt=0)
    max_len: int = Field(default=64, gt=2, description="tokens including bos/eos; longer prompts are cut")
    mlp_ratio: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> TextConfig:
        if self.width % self.heads:
            raise ModelConfigError(
                f"text heads={self.heads} does not divide text width={self.width}",
                field="text.heads",
                hint=f"pick from the divisors of {self.width}, e.g. {_divisors_near(self.width, self.heads)}",
            )
        if self.encoder == "byte" and self.vocab < 259:
            raise ModelConfigError(
                f"the byte encoder needs vocab >= 259 (256 bytes + pad/bos/eos), got {self.vocab}",
                field="text.vocab",
            )
        return self


class VSAConfig(_Frozen):
    """Video Sparse Attention for the video self-attention (see ``model_core.attention``).

    The token grid (T, H, W) is cut into ``cube``-sized blocks; each query cube attends densely to the
    ``top_k`` key cubes its coarse (mean-pooled) attention scores highest. ``top_k`` wins over ``sparsity``
    when both are set; ``sparsity`` is the fraction of cubes skipped (0.9 keeps 10 %).
    """

    enabled: bool = False
    cube: tuple[int, int, int] = (4, 4, 4)
    sparsity: float = Field(default=0.9, ge=0.0, lt=1.0)
    top_k: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> VSAConfig:
        if any(c <= 0 for c in self.cube):
            raise ModelConfigError(f"VSA cube sizes must be positive, got {self.cube}", field="vsa.cube")
        return self


class SampleSize(_Frozen):
    """Default latent sizes a preset is trained and sampled at: video (frames, height, width), audio
    length."""

    frames: int = Field(gt=0)
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    audio_length: int = Field(gt=0, description="audio latent steps")


class ModelConfig(_Frozen):
    """The whole model. ``video_rope`` splits the video head dim into (time, height, width) rotary channels.

    Audio rotates its first ``video_rope[0]`` head channels by time with the *same* frequencies as video
    (positions in seconds), the rest of its head channels carry no position. ``coupled_blocks=(start, stop)``
    is the half-open range of blocks that have the gated audio↔video cross-attention.
    """

    name: str = "custom"
    video: StreamConfig
    audio: StreamConfig
    text: TextConfig = TextConfig()
    vsa: VSAConfig = VSAConfig()
    sample_size: SampleSize
    coupled_blocks: tuple[int, int]
    video_rope: tuple[int, int, int]
    rope_theta: float = Field(default=10000.0, gt=1.0)
    ref_time_offset: float = Field(
        default=1.0,
        ge=0.0,
        description="seconds of gap between the last reference frame and the target start",
    )
    time_embed_dim: int = Field(default=256, gt=0, description="sinusoidal sigma features before the MLP")
    qk_norm: bool = True

    @property
    def depth(self) -> int:
        return self.video.depth

    @property
    def rope_time_dim(self) -> int:
        return self.video_rope[0]

    def video_tokens(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
        pt, ph, pw = self.video.patch
        return frames // pt, height // ph, width // pw

    def audio_tokens(self, length: int) -> int:
        return length // self.audio.patch[0]

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        v, a, s = self.video, self.audio, self.sample_size
        if len(v.patch) != 3:
            raise ModelConfigError(
                f"video.patch must be (pt, ph, pw), got {v.patch}", field="video.patch", hint="e.g. (1, 2, 2)"
            )
        if len(a.patch) != 1:
            raise ModelConfigError(
                f"audio.patch must be (pa,), got {a.patch}", field="audio.patch", hint="e.g. (1,)"
            )
        if v.depth != a.depth:
            raise ModelConfigError(
                f"video.depth={v.depth} and audio.depth={a.depth} differ; "
                "the towers run block by block in lockstep",
                field="audio.depth",
                hint="give both streams the same depth",
            )
        start, stop = self.coupled_blocks
        if not 0 <= start <= stop <= v.depth:
            raise ModelConfigError(
                f"coupled_blocks={self.coupled_blocks} is not a range inside the {v.depth} blocks",
                field="coupled_blocks",
                hint=f"use (start, stop) with 0 <= start <= stop <= {v.depth}; "
                f"(0, {v.depth}) couples every block",
            )
        for name, size, p in (
            ("frames", s.frames, v.patch[0]),
            ("height", s.height, v.patch[1]),
            ("width", s.width, v.patch[2]),
            ("audio_length", s.audio_length, a.patch[0]),
        ):
            if size % p:
                raise ModelConfigError(
                    f"sample_size.{name}={size} is not a multiple of its patch size {p}",
                    field=f"sample_size.{name}",
                    hint=f"use {size - size % p or p} or {size + p - size % p}",
                )
        dt, dh, dw = self.video_rope
        if any(d <= 0 or d % 2 for d in self.video_rope):
            raise ModelConfigError(
                f"video_rope={self.video_rope}: every axis needs a positive even number of channels "
                "(rotary embeddings rotate channel pairs)",
                field="video_rope",
            )
        if dt + dh + dw != v.head_dim:
            raise ModelConfigError(
                f"video_rope={self.video_rope} sums to {dt + dh + dw} but the video head dim is {v.head_dim}",
                field="video_rope",
                hint=f"split {v.head_dim} into three even parts, e.g. {_rope_split(v.head_dim)}",
            )
        if dt > a.head_dim:
            raise ModelConfigError(
                f"the shared time rotary uses {dt} channels but the audio head dim is only {a.head_dim}",
                field="video_rope",
                hint="lower video_rope[0] or give audio fewer, wider heads",
            )
        return self

    def param_count(self) -> int:
        """Exact number of parameters of ``DualStreamMMDiT(self)`` (including the default text encoder).

        Computed from the config without building the model, so production sizes can be counted on a laptop;
        ``tests/model_core/test_config.py`` checks it against the built ``tiny`` model.
        """
        return sum(self.param_breakdown().values())

    def param_breakdown(self) -> dict[str, int]:
        v, a, t = self.video, self.audio, self.text
        dv, da, dtxt = v.width, a.width, t.width

        def lin(i: int, o: int, bias: bool = True) -> int:
            return i * o + (o if bias else 0)

        def norm(d: int) -> int:  # LayerNorm with affine
            return 2 * d

        def attn(dq: int, dkv: int, heads: int) -> int:  # q from dq, k/v from dkv, out back to dq
            hd = dq // heads
            qk = 2 * hd if self.qk_norm else 0  # RMSNorm weights on q and k heads
            return lin(dq, dq) + 2 * lin(dkv, dq) + lin(dq, dq) + qk

        def mlp(d: int, hidden: int) -> int:
            return lin(d, hidden) + lin(hidden, d)

        def tower_block(s: StreamConfig, other: int, coupled: bool, vsa: bool) -> int:
            d = s.width
            n = lin(d, 6 * d)  # adaLN: shift/scale/gate for attention and MLP
            n += attn(d, d, s.heads) + mlp(d, s.mlp_hidden)
            n += norm(d) + attn(d, dtxt, s.heads)  # text cross-attention
            if vsa:
                n += lin(d, s.heads)  # coarse-branch gate
            if coupled:
                n += (
                    norm(d) + norm(other) + attn(d, other, s.heads) + d
                )  # norms of both sides, attention, tanh gate
            return n

        start, stop = self.coupled_blocks
        blocks = sum(
            tower_block(v, da, start <= i < stop, self.vsa.enabled)
            + tower_block(a, dv, start <= i < stop, False)
            for i in range(v.depth)
        )

        def embed(s: StreamConfig) -> int:
            d = s.width
            n = lin((2 * s.channels + 1) * s.patch_volume, d)  # patch embedding of noisy ⊕ cond ⊕ mask
            n += lin(self.time_embed_dim, d) + lin(d, d)  # sigma MLP
            n += lin(dtxt, d)  # pooled text → conditioning vector
            n += lin(d, 2 * d) + lin(d, s.channels * s.patch_volume)  # final adaLN + linear
            return n

        text = 0
        if t.encoder == "byte":
            hidden = int(t.width * t.mlp_ratio)
            layer = (
                norm(t.width)
                + lin(t.width, 3 * t.width)
                + lin(t.width, t.width)
                + norm(t.width)
                + mlp(t.width, hidden)
            )
            text = t.vocab * t.width + t.max_len * t.width + t.depth * layer + norm(t.width)
        return {"video": embed(v), "audio": embed(a), "blocks": blocks, "text": text}


def _divisors_near(n: int, target: int) -> list[int]:
    divs = [d for d in range(1, n + 1) if n % d == 0]
    return sorted(divs, key=lambda d: abs(d - target))[:3]


def _rope_split(head_dim: int) -> tuple[int, int, int]:
    """A reasonable (time, height, width) split: about a third each, all even, time taking the remainder."""
    hw = 2 * (head_dim // 6)
    return head_dim - 2 * hw, hw, hw


def _make_presets() -> dict[str, ModelConfig]:
    tiny = ModelConfig(
        name="tiny",
        # 3-channel "latent" = RGB pixels (toy world 32x32 px, 2x area-downsampled to 16x16, see
        # model_core.latents) at 16 fps; 1x4x4 patches -> 4x4 tokens per frame, 256 per 16-frame (1 s) clip.
        # (2x4x4 patches trained 4x slower per sample to coherent balls: one 96-wide token had to draw 96
        # values of two frames, and the samples stayed speckled — see model_core/checkpoints/tiny/README.md.)
        video=StreamConfig(channels=3, patch=(1, 4, 4), width=96, depth=4, heads=4, latent_rate=16.0),
        # 8-channel audio latent at 64 steps/s (e.g. an 8-band envelope); 2-step patches -> 32 tokens per
        # second.
        audio=StreamConfig(channels=8, patch=(2,), width=64, depth=4, heads=4, latent_rate=64.0),
        text=TextConfig(width=64, depth=2, heads=4, max_len=64),
        vsa=VSAConfig(enabled=False),
        sample_size=SampleSize(frames=16, height=16, width=16, audio_length=64),
        coupled_blocks=(0, 4),
        video_rope=(8, 8, 8),
        time_embed_dim=64,
    )
    small = ModelConfig(
        name="small",
        # a 16-channel VAE latent (8x spatial, 4x temporal compression) at 6 latent fps, 384x256 px vertical.
        video=StreamConfig(channels=16, patch=(1, 2, 2), width=512, depth=12, heads=8, latent_rate=6.0),
        audio=StreamConfig(channels=16, patch=(1,), width=384, depth=12, heads=6, latent_rate=25.0),
        text=TextConfig(width=384, depth=4, heads=6, max_len=128),
        vsa=VSAConfig(enabled=True, sparsity=0.75),
        sample_size=SampleSize(frames=12, height=48, width=32, audio_length=50),
        coupled_blocks=(2, 12),
        video_rope=(20, 22, 22),
    )
    base = ModelConfig(
        name="base",
        video=StreamConfig(channels=16, patch=(1, 2, 2), width=1152, depth=28, heads=16, latent_rate=6.0),
        audio=StreamConfig(channels=16, patch=(1,), width=768, depth=28, heads=12, latent_rate=25.0),
        text=TextConfig(width=768, depth=8, heads=12, max_len=256),
        vsa=VSAConfig(enabled=True, sparsity=0.875),
        sample_size=SampleSize(frames=24, height=96, width=56, audio_length=100),
        coupled_blocks=(4, 28),
        video_rope=(24, 24, 24),
    )
    xl = ModelConfig(
        name="xl",
        # 1080x1920 is reached by the cascade; the base pass runs a 480x848 latent grid for ~15 s.
        video=StreamConfig(channels=16, patch=(1, 2, 2), width=2560, depth=36, heads=20, latent_rate=6.0),
        audio=StreamConfig(channels=16, patch=(1,), width=1536, depth=36, heads=12, latent_rate=25.0),
        text=TextConfig(width=2048, depth=12, heads=16, max_len=512),
        vsa=VSAConfig(enabled=True, sparsity=0.9),
        sample_size=SampleSize(frames=90, height=106, width=60, audio_length=375),
        coupled_blocks=(0, 36),
        video_rope=(44, 42, 42),
    )
    return {c.name: c for c in (tiny, small, base, xl)}


PRESETS: dict[str, ModelConfig] = _make_presets()


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return out


def preset(name: str, **overrides: object) -> ModelConfig:
    """A preset by name with optional overrides; dict values merge into the nested config they name:
    ``preset("tiny", vsa={"enabled": True}, video={"depth": 2}, audio={"depth": 2})`` changes only those
    fields. An invalid result raises ``ModelConfigError`` (type errors included), never a bare pydantic error.
    """
    if name not in PRESETS:
        raise ModelConfigError(f"unknown model preset {name!r}", hint=f"choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]
    if not overrides:
        return cfg
    try:
        return ModelConfig.model_validate(_merge(cfg.model_dump(), overrides))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ModelConfigError(
            f"preset {name!r} with overrides {overrides}: {first['msg']}", field=where or None
        ) from err


def _human(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def presets_table() -> str:
    """One line per preset: parameter count (total and per part), widths, depth, default sample size."""
    head = (
        f"{'preset':<7} {'params':>8} {'blocks':>8} {'text':>8}  {'video D/A D':>11} {'depth':>5}  "
        "sample (F×H×W, audio)"
    )
    lines = [head, "-" * len(head)]
    for name, cfg in PRESETS.items():
        parts = cfg.param_breakdown()
        s = cfg.sample_size
        lines.append(
            f"{name:<7} {_human(sum(parts.values())):>8} {_human(parts['blocks']):>8} "
            f"{_human(parts['text']):>8}  "
            f"{f'{cfg.video.width}/{cfg.audio.width}':>11} {cfg.depth:>5}  "
            f"{s.frames}×{s.height}×{s.width}, {s.audio_length}"
        )
    return "\n".join(lines)
