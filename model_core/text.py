"""The text encoder both towers cross-attend to — one instance, owned by the model, behind a small protocol.

The default is ``ByteTextEncoder``: UTF-8 bytes are the vocabulary (no tokenizer file, no download, the same
ids on every machine), followed by a small pre-norm transformer trained together with the diffusion model. It
is what ``tiny`` needs: the toy world's prompts are a few words long.

Plugging in a frozen pretrained encoder (a T5 or an MLLM, as SkyReels-V4 does) takes three steps and no change
to the model:

1. write a ``torch.nn.Module`` with the ``TextEncoder`` shape: ``width`` (hidden size it emits), ``max_len``,
   ``pad_id``, ``tokenize(list[str]) -> (tokens (B, L) int64, mask (B, L) bool)`` and
   ``forward(tokens, mask) -> (B, L, width)``; freeze its weights with ``requires_grad_(False)`` in
   ``__init__``;
2. ``register_text_encoder("t5-xxl", lambda text_cfg: MyT5(text_cfg))`` before the model is built;
3. set ``ModelConfig.text = TextConfig(encoder="t5-xxl", width=4096, max_len=512)``.

The model builds the encoder with ``build_text_encoder(cfg.text)``; the projections from ``width`` into each
tower are the model's own trainable layers. ``ModelConfig.param_count()`` counts only the byte encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model_core.config import ModelConfigError, ModelError, TextConfig


@runtime_checkable
class TextEncoder(Protocol):
    """What the model needs from a text encoder."""

    width: int
    max_len: int
    pad_id: int

    def tokenize(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        """Token ids ``(B, L)`` int64 and a validity mask ``(B, L)`` bool (False on padding)."""
        ...

    def __call__(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """Hidden states ``(B, L, width)``."""
        ...


class _EncoderLayer(nn.Module):
    """Pre-norm transformer layer with bidirectional, padding-masked self-attention."""

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.width)
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width)
        self.proj = nn.Linear(cfg.width, cfg.width)
        self.norm2 = nn.LayerNorm(cfg.width)
        hidden = int(cfg.width * cfg.mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, cfg.width)
        )

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads)  # (B, L, 3, h, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # (B, h, L, hd) each
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])  # (B, h, L, hd)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))  # (B, L, D)
        return x + self.mlp(self.norm2(x))  # (B, L, D)


class ByteTextEncoder(nn.Module):
    """UTF-8 bytes → ids 3..258 (0 = pad, 1 = bos, 2 = eos) → learned positions → ``depth`` transformer
    layers."""

    pad_id = 0
    bos_id = 1
    eos_id = 2

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.width = cfg.width
        self.max_len = cfg.max_len
        self.vocab = cfg.vocab
        self.embed = nn.Embedding(cfg.vocab, cfg.width)
        self.pos = nn.Parameter(torch.zeros(cfg.max_len, cfg.width))
        self.layers = nn.ModuleList(_EncoderLayer(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.width)
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def tokenize(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        """Deterministic: bos, the prompt's UTF-8 bytes (cut to fit), eos, then pad to the longest prompt."""
        if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
            raise ModelError("tokenize expects a list of strings", hint='wrap one prompt as ["..."]')
        rows = [
            [self.bos_id, *(b + 3 for b in p.encode("utf-8")[: self.max_len - 2]), self.eos_id]
            for p in prompts
        ]
        length = max((len(r) for r in rows), default=2)
        tokens = torch.full((len(rows), length), self.pad_id, dtype=torch.int64)  # (B, L)
        for i, r in enumerate(rows):
            tokens[i, : len(r)] = torch.tensor(r, dtype=torch.int64)
        return tokens, tokens != self.pad_id

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        n = tokens.shape[1]
        x = self.embed(tokens) + self.pos[:n]  # (B, L, D)
        for layer in self.layers:
            x = layer(x, mask)  # (B, L, D)
        return self.norm(x)  # (B, L, D)


TextEncoderFactory = Callable[[TextConfig], nn.Module]
_REGISTRY: dict[str, TextEncoderFactory] = {"byte": ByteTextEncoder}


def register_text_encoder(name: str, factory: TextEncoderFactory) -> None:
    """Make ``TextConfig(encoder=name)`` build ``factory(text_cfg)``; the module must satisfy
    ``TextEncoder``."""
    _REGISTRY[name] = factory


def build_text_encoder(cfg: TextConfig) -> nn.Module:
    if cfg.encoder not in _REGISTRY:
        raise ModelConfigError(
            f"no text encoder registered under {cfg.encoder!r}",
            field="text.encoder",
            hint=f"use one of {sorted(_REGISTRY)} or call model_core.text.register_text_encoder first",
        )
    enc = _REGISTRY[cfg.encoder](cfg)
    if not isinstance(enc, TextEncoder) or enc.width != cfg.width:
        raise ModelConfigError(
            f"text encoder {cfg.encoder!r} does not satisfy the TextEncoder protocol with width {cfg.width}",
            field="text.encoder",
            hint="it needs width, max_len, pad_id, tokenize() and forward(tokens, mask) -> (B, L, width)",
        )
    return enc
