"""Video Sparse Attention (VSA): trainable block-sparse attention over a (T, H, W) token grid.

Why: video self-attention is quadratic in tokens and most of a token's attention mass lands on a few regions.
VSA (Zhang et al., 2025) finds those regions cheaply and attends densely only there:

1. **cubes** — the grid is cut into ``cube = (ct, ch, cw)`` blocks (4×4×4 = 64 tokens); the grid is
   zero-padded up to a multiple of the cube and padded keys are masked out;
2. **coarse stage** — queries, keys and values are mean-pooled per cube and the C cubes attend to each other
   (C² scores instead of N²). It yields (a) a coarse output per cube, a cheap global summary, and (b) for each
   query cube the ``top_k`` key cubes with the highest coarse scores;
3. **fine stage** — every query cube attends densely to the tokens of its selected cubes only (gathered with
   advanced indexing, then ``scaled_dot_product_attention`` on ``top_k * 64`` keys);
4. **gate** — ``out = fine + gate * coarse`` with a per-token, per-head gate the caller computes from the
   hidden state (a zero-initialised linear layer in the model), so a fresh model starts from pure fine
   attention.

With ``top_k`` = all cubes and no gate, the fine stage *is* dense attention (the test oracle). PyTorch's
``flex_attention`` has no backward pass on CPU, so nothing here uses it: gather + SDPA runs forward and
backward on every device. Query cubes are processed in chunks so the gathered keys stay below ``chunk_keys``
rows; with more than one chunk, backward recomputes each chunk's gather instead of storing it.

``vsa_sparsity(step, total, target)`` is the annealing schedule for training: dense first, then sparser.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from model_core.config import ModelError


def vsa_top_k(num_cubes: int, sparsity: float, top_k: int | None = None) -> int:
    """How many key cubes each query cube keeps: ``top_k`` if given, else ``ceil((1 - sparsity) * C)``, in [1,
    C]."""
    k = top_k if top_k is not None else math.ceil((1.0 - sparsity) * num_cubes - 1e-9)
    return max(1, min(num_cubes, k))


def vsa_sparsity(
    step: int, total: int, target: float, *, dense_until: float = 0.1, reach_at: float = 0.6
) -> float:
    """Sparsity for training step ``step`` of ``total``: 0 (dense) for the first ``dense_until`` fraction,
    then a linear ramp reaching ``target`` at the ``reach_at`` fraction, then ``target``.

    Starting dense lets the coarse scores become meaningful before they are trusted to pick cubes.
    """
    if total <= 0 or not 0.0 <= target < 1.0 or not 0.0 <= dense_until <= reach_at <= 1.0:
        raise ModelError(
            "vsa_sparsity needs total > 0, 0 <= target < 1, 0 <= dense_until <= reach_at <= 1; "
            f"got total={total}, target={target}, dense_until={dense_until}, reach_at={reach_at}"
        )
    frac = step / total
    if frac <= dense_until:
        return 0.0
    if frac >= reach_at or reach_at == dense_until:
        return target
    return target * (frac - dense_until) / (reach_at - dense_until)


def _to_cubes(x: Tensor, grid: tuple[int, int, int], cube: tuple[int, int, int]) -> Tensor:
    """(B, h, N, d) raster-ordered tokens → (B, h, C, S, d): C cubes of S = ct*ch*cw tokens, zero-padded."""
    b, h, _, d = x.shape
    (t, hh, w), (ct, ch, cw) = grid, cube
    x = x.view(b, h, t, hh, w, d)  # (B, h, T, H, W, d)
    pt, ph, pw = -t % ct, -hh % ch, -w % cw
    if pt or ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph, 0, pt))  # (B, h, Tp, Hp, Wp, d)
    nt, nh, nw = (t + pt) // ct, (hh + ph) // ch, (w + pw) // cw
    x = x.view(b, h, nt, ct, nh, ch, nw, cw, d)  # (B, h, nt, ct, nh, ch, nw, cw, d)
    x = x.permute(0, 1, 2, 4, 6, 3, 5, 7, 8)  # (B, h, nt, nh, nw, ct, ch, cw, d)
    return x.reshape(b, h, nt * nh * nw, ct * ch * cw, d)  # (B, h, C, S, d)


def _from_cubes(x: Tensor, grid: tuple[int, int, int], cube: tuple[int, int, int]) -> Tensor:
    """Inverse of ``_to_cubes``: (B, h, C, S, d) → (B, h, N, d), padding dropped."""
    b, h, _, _, d = x.shape
    (t, hh, w), (ct, ch, cw) = grid, cube
    nt, nh, nw = -(-t // ct), -(-hh // ch), -(-w // cw)
    x = x.view(b, h, nt, nh, nw, ct, ch, cw, d)  # (B, h, nt, nh, nw, ct, ch, cw, d)
    x = x.permute(0, 1, 2, 5, 3, 6, 4, 7, 8)  # (B, h, nt, ct, nh, ch, nw, cw, d)
    x = x.reshape(b, h, nt * ct, nh * ch, nw * cw, d)[:, :, :t, :hh, :w]  # (B, h, T, H, W, d)
    return x.reshape(b, h, t * hh * w, d)  # (B, h, N, d)


def _fine_stage(
    qb: Tensor, kb: Tensor, vb: Tensor, idx: Tensor, valid: Tensor | None, chunk_keys: int
) -> Tensor:
    """Each query cube attends to the tokens of its selected key cubes.

    qb, kb, vb: (B, h, C, S, d) cubed tokens; idx: (B, h, C, k) selected key cubes; valid: (C, S) real-token
    mask or None. The selected cubes are gathered a chunk of query cubes at a time (at most ``chunk_keys``
    gathered key rows, ~128 MB for K and V at head dim 64), then one batched SDPA call per chunk.
    Returns (B, h, C, S, d).
    """
    b, h, c, s, d = qb.shape
    k_sel = idx.shape[-1]
    bh = b * h
    kf, vf, qf = (x.reshape(bh, c, s, d) for x in (kb, vb, qb))  # (Bh, C, S, d) each
    idx = idx.reshape(bh, c, k_sel)  # (Bh, C, k)
    rows = torch.arange(bh, device=qb.device)[:, None, None]  # (Bh, 1, 1)
    step = max(1, chunk_keys // max(1, bh * k_sel * s))
    # More than one chunk means the gathered keys would be large: recompute each chunk's gather in backward
    # (activation checkpointing) instead of keeping every gathered copy alive until then.
    recompute = torch.is_grad_enabled() and step < c and any(x.requires_grad for x in (qb, kb, vb))

    def chunk(q_c: Tensor, sel: Tensor) -> Tensor:
        nc = sel.shape[1]
        ks = kf[rows, sel].reshape(bh * nc, 1, k_sel * s, d)  # (Bh*c, 1, k*S, d)
        vs = vf[rows, sel].reshape(bh * nc, 1, k_sel * s, d)  # (Bh*c, 1, k*S, d)
        mask = None
        if valid is not None:
            mask = valid[sel].reshape(bh * nc, 1, 1, k_sel * s)  # (Bh*c, 1, 1, k*S) padded keys excluded
        qs = q_c.reshape(bh * nc, 1, s, d)  # (Bh*c, 1, S, d)
        out = F.scaled_dot_product_attention(qs, ks, vs, attn_mask=mask)  # (Bh*c, 1, S, d)
        return out.view(bh, nc, s, d)  # (Bh, c, S, d)

    outs = []
    for c0 in range(0, c, step):
        q_c, sel = qf[:, c0 : c0 + step], idx[:, c0 : c0 + step]  # (Bh, c, S, d), (Bh, c, k)
        outs.append(checkpoint(chunk, q_c, sel, use_reentrant=False) if recompute else chunk(q_c, sel))
    return torch.cat(outs, dim=1).view(b, h, c, s, d)  # (B, h, C, S, d)


def video_sparse_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    grid: tuple[int, int, int],
    *,
    cube: tuple[int, int, int] = (4, 4, 4),
    top_k: int | None = None,
    sparsity: float = 0.9,
    coarse_gate: Tensor | None = None,
    chunk_keys: int = 1 << 18,
) -> Tensor:
    """Block-sparse attention of ``q`` over ``k, v`` on a token grid.

    q, k, v: ``(B, heads, N, d)`` with N = T*H*W in raster (t, h, w) order; ``grid = (T, H, W)``.
    coarse_gate: ``(B, heads, N)`` weight of the coarse output per token, or None (fine attention only).
    Returns ``(B, heads, N, d)``.
    """
    b, h, n, d = q.shape
    if math.prod(grid) != n or k.shape != q.shape or v.shape != q.shape:
        raise ModelError(
            f"video_sparse_attention: q, k, v must all be (B, heads, T*H*W, d) with grid {grid} "
            f"(N = {math.prod(grid)}); got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    scale = 1.0 / math.sqrt(d)
    padded = any(g % c for g, c in zip(grid, cube, strict=True))
    qb, kb, vb = (_to_cubes(x, grid, cube) for x in (q, k, v))  # (B, h, C, S, d) each
    c, s = qb.shape[2], qb.shape[3]
    if padded:
        valid = _to_cubes(q.new_ones(1, 1, n, 1), grid, cube)[0, 0, :, :, 0] > 0  # (C, S) True on real tokens
        count = valid.sum(-1).to(q.dtype)[:, None]  # (C, 1) real tokens per cube, >= 1 by construction
    else:
        valid, count = None, q.new_full((c, 1), float(s))

    # Coarse stage: mean-pool each cube (padding contributes zeros, so divide by the real count).
    qc, kc, vc = (x.sum(3) / count for x in (qb, kb, vb))  # (B, h, C, d) each
    scores = torch.einsum("bhid,bhjd->bhij", qc, kc) * scale  # (B, h, C, C)
    k_sel = vsa_top_k(c, sparsity, top_k)
    # the chosen key cubes per query cube; selection is discrete, gradients flow through the attention itself
    idx = scores.topk(k_sel, dim=-1).indices  # (B, h, C, k)

    if k_sel == c:
        # every cube selected: the fine stage is dense attention, run it as such (no gather, fused kernel)
        fine = _to_cubes(F.scaled_dot_product_attention(q, k, v), grid, cube)  # (B, h, C, S, d)
    else:
        fine = _fine_stage(qb, kb, vb, idx, valid, chunk_keys)  # (B, h, C, S, d)

    if coarse_gate is not None:
        coarse = torch.softmax(scores, dim=-1) @ vc  # (B, h, C, d) every cube's summary of all cubes
        gate = _to_cubes(coarse_gate[..., None], grid, cube)  # (B, h, C, S, 1)
        fine = fine + gate * coarse[:, :, :, None, :]  # (B, h, C, S, d)
    return _from_cubes(fine, grid, cube)  # (B, h, N, d)


def dense_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """The oracle: plain softmax attention over all N tokens. (B, h, N, d) → (B, h, N, d)."""
    return F.scaled_dot_product_attention(q, k, v)
