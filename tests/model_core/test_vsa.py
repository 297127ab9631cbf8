"""Video Sparse Attention against the dense oracle; backward on CPU; sparsity schedule; model-level
equivalence."""

from __future__ import annotations

import pytest
import torch

from model_core.attention import (
    _fine_stage,
    _from_cubes,
    _to_cubes,
    dense_attention,
    video_sparse_attention,
    vsa_sparsity,
    vsa_top_k,
)
from model_core.config import ModelError

torch.set_num_threads(1)


def rand_qkv(
    grid: tuple[int, int, int], d: int = 16, heads: int = 2, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    n = grid[0] * grid[1] * grid[2]
    return tuple(torch.randn(2, heads, n, d, generator=g) for _ in range(3))


def local_qkv(grid: tuple[int, int, int], d: int = 32, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Queries and keys built from smooth position features: attention mass is local, as in real video."""
    g = torch.Generator().manual_seed(seed)
    axes = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in grid], indexing="ij")
    pos = torch.stack(axes, -1).view(-1, 3)  # (N, 3)
    freqs = 0.5 * torch.randn(3, d // 2, generator=g)
    feat = 3 * torch.cat([torch.cos(pos @ freqs), torch.sin(pos @ freqs)], -1)  # (N, d)
    n = pos.shape[0]
    q = feat + 0.1 * torch.randn(1, 2, n, d, generator=g)
    k = feat + 0.1 * torch.randn(1, 2, n, d, generator=g)
    return q, k, torch.randn(1, 2, n, d, generator=g)


@pytest.mark.parametrize(
    ("grid", "cube"), [((8, 8, 8), (4, 4, 4)), ((5, 6, 7), (4, 4, 4)), ((4, 8, 8), (2, 4, 4))]
)
def test_full_top_k_without_gate_equals_dense(grid: tuple, cube: tuple) -> None:
    q, k, v = rand_qkv(grid)
    out = video_sparse_attention(q, k, v, grid, cube=cube, top_k=10**6)
    assert out.shape == q.shape
    torch.testing.assert_close(out, dense_attention(q, k, v), atol=1e-5, rtol=1e-5)
    # the gathered, chunked fine stage with every cube selected is dense attention too (padding masked out)
    qb, kb, vb = (_to_cubes(t, grid, cube) for t in (q, k, v))
    n_cubes = qb.shape[2]
    idx = torch.arange(n_cubes).flip(0).expand(*qb.shape[:3], n_cubes)  # order of the cubes must not matter
    valid = _to_cubes(torch.ones(1, 1, q.shape[2], 1), grid, cube)[0, 0, :, :, 0] > 0
    fine = _from_cubes(_fine_stage(qb, kb, vb, idx, valid, chunk_keys=3000), grid, cube)
    torch.testing.assert_close(fine, dense_attention(q, k, v), atol=1e-5, rtol=1e-5)


def test_cube_layout_round_trips_with_padding() -> None:
    x = torch.randn(1, 2, 5 * 6 * 7, 3)
    cubes = _to_cubes(x, (5, 6, 7), (4, 4, 4))
    assert cubes.shape == (1, 2, 2 * 2 * 2, 64, 3)
    assert torch.equal(_from_cubes(cubes, (5, 6, 7), (4, 4, 4)), x)


def test_coarse_branch_is_mean_pooled_cube_attention() -> None:
    grid, cube = (4, 8, 8), (4, 4, 4)
    q, k, v = rand_qkv(grid, heads=1)
    gate = torch.full(q.shape[:3], 0.5)
    out = video_sparse_attention(q, k, v, grid, cube=cube, top_k=4, coarse_gate=gate)

    # reference: pool each 4x4x4 cube by hand, attend between the 4 cubes, broadcast back to the tokens
    def pool(x: torch.Tensor) -> torch.Tensor:
        x = x.view(2, 1, 4, 2, 4, 2, 4, -1)  # (B, h, T, nh, ch, nw, cw, d)
        return x.mean(dim=(2, 4, 6)).reshape(2, 1, 4, -1)  # (B, h, C, d) cubes in (nh, nw) order

    att = torch.softmax(pool(q) @ pool(k).transpose(-1, -2) / 16**0.5, -1) @ pool(v)  # (B, h, C, d)
    coarse = att.view(2, 1, 1, 2, 1, 2, 1, -1).expand(2, 1, 4, 2, 4, 2, 4, -1).reshape(q.shape)
    torch.testing.assert_close(out, dense_attention(q, k, v) + 0.5 * coarse, atol=1e-5, rtol=1e-5)
    zero = video_sparse_attention(q, k, v, grid, cube=cube, top_k=2, coarse_gate=torch.zeros_like(gate))
    torch.testing.assert_close(zero, video_sparse_attention(q, k, v, grid, cube=cube, top_k=2))


def test_error_shrinks_with_top_k_and_stays_bounded_on_local_attention() -> None:
    grid = (8, 8, 8)  # 8 cubes
    q, k, v = local_qkv(grid)
    dense = dense_attention(q, k, v)
    scale = dense.abs().mean()
    errs = [
        (video_sparse_attention(q, k, v, grid, top_k=kk) - dense).abs().mean() / scale for kk in (1, 2, 4, 8)
    ]
    assert errs[0] > errs[1] > errs[2] > errs[3]
    assert errs[3] < 1e-5
    assert errs[2] < 0.05, "keeping half the cubes must keep nearly all of a local attention's mass"
    # fine + a small coarse contribution: still close to dense, and the coarse term is what moved it
    gate = torch.full(q.shape[:3], 0.1)
    both = video_sparse_attention(q, k, v, grid, top_k=4, coarse_gate=gate)
    assert ((both - dense).abs().mean() / scale) < 0.15
    assert ((both - dense).abs().max()) <= 2 * v.abs().max() + 0.1 * v.abs().max()


def test_backward_on_cpu_matches_dense_at_full_top_k() -> None:
    grid = (4, 8, 8)
    q, k, v = (t.requires_grad_() for t in rand_qkv(grid))
    video_sparse_attention(q, k, v, grid, top_k=4, chunk_keys=512).square().sum().backward()
    grads = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    dense_attention(q, k, v).square().sum().backward()
    for g, t in zip(grads, (q, k, v), strict=True):
        torch.testing.assert_close(g, t.grad, atol=1e-4, rtol=1e-4)


def test_backward_sparse_reaches_q_k_v_and_gate() -> None:
    grid = (8, 8, 8)
    q, k, v = (t.requires_grad_() for t in rand_qkv(grid, seed=3))
    gate = torch.zeros(q.shape[:3], requires_grad=True)
    out = video_sparse_attention(q, k, v, grid, sparsity=0.75, coarse_gate=gate)
    out.square().mean().backward()
    for t in (q, k, v, gate):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
    # small chunks switch on per-chunk recomputation in backward: same values, same gradients
    grads = [t.grad.clone() for t in (q, k, v, gate)]
    for t in (q, k, v, gate):
        t.grad = None
    out2 = video_sparse_attention(q, k, v, grid, sparsity=0.75, coarse_gate=gate, chunk_keys=600)
    torch.testing.assert_close(out2, out)
    out2.square().mean().backward()
    for g, t in zip(grads, (q, k, v, gate), strict=True):
        torch.testing.assert_close(t.grad, g, atol=1e-6, rtol=1e-5)


def test_top_k_from_sparsity() -> None:
    assert vsa_top_k(512, 0.9) == 52
    assert vsa_top_k(8, 0.0) == 8
    assert vsa_top_k(8, 0.99) == 1
    assert vsa_top_k(8, 0.9, top_k=3) == 3
    assert vsa_top_k(8, 0.9, top_k=100) == 8


def test_sparsity_schedule_starts_dense_and_anneals() -> None:
    values = [vsa_sparsity(s, 1000, 0.9) for s in range(0, 1001, 50)]
    assert values[0] == 0.0 and values[2] == 0.0  # dense for the first 10 %
    assert values[-1] == pytest.approx(0.9) and vsa_sparsity(600, 1000, 0.9) == pytest.approx(0.9)
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert 0.0 < vsa_sparsity(350, 1000, 0.9) < 0.9
    with pytest.raises(ModelError, match="target"):
        vsa_sparsity(1, 10, 1.5)


def test_bad_shapes_raise() -> None:
    q, k, v = rand_qkv((4, 4, 4))
    with pytest.raises(ModelError, match=r"grid \(4, 4, 5\)"):
        video_sparse_attention(q, k, v, (4, 4, 5))


def test_model_with_dense_equivalent_vsa_matches_dense_model() -> None:
    from tests.model_core.test_model import build, inputs, unzero

    dense_model = build()
    unzero(dense_model)
    sparse_model = build(vsa={"enabled": True, "sparsity": 0.0})
    missing, unexpected = sparse_model.load_state_dict(dense_model.state_dict(), strict=False)
    assert unexpected == [] and all("coarse_gate" in m for m in missing)
    x = inputs(dense_model)
    ref = torch.randn(2, 3, 2, 16, 16)  # 6 x 4 x 4 token grid: padded to 8 x 4 x 4 inside VSA
    v_dense, a_dense = dense_model(**x, video_ref=ref)
    v_sparse, a_sparse = sparse_model(**x, video_ref=ref)
    torch.testing.assert_close(v_sparse, v_dense, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(a_sparse, a_dense, atol=1e-4, rtol=1e-4)
    # at real sparsity (2 cubes, keep 1) the video output moves, but stays finite
    v_s, _ = sparse_model(**x, video_ref=ref, vsa_sparsity=0.75)
    assert torch.isfinite(v_s).all() and not torch.allclose(v_s, v_dense, atol=1e-5)
