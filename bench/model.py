"""Model benchmark: training/sampling throughput of ``tiny`` and ``small``; Video Sparse Attention vs dense.

Run: ``.venv/bin/python bench/model.py`` (≈ 3-5 min on one CPU thread). Writes ``bench/results/model.json``.

* Throughput counts tokens = video tokens + audio tokens per sample × batch. Training = one forward,
  backward and AdamW step of the rectified-flow loss; sampling = denoising token-steps per second with text
  CFG (two batched branches per step). ``small`` runs at a reduced sample size (stated in the JSON) so it fits
  the time budget.
* Attention: batch 1, 2 heads, head dim 64, token grids of 16×16×16 (4k), 16×32×32 (16k) and 32×32×32 (32k),
  VSA at sparsity 0.9 (4×4×4 cubes, top-k = 10 % of cubes); timings run the whole algorithm (coarse stage,
  top-k, fine stage, coarse branch gated at 0.1), fastest of the timed repeats. Error vs dense is the fine
  output (coarse gate off, the configuration that equals dense at full top-k), measured on random inputs
  (diffuse attention, the worst case for sparsity) and on inputs whose attention is local (queries/keys from
  smooth position features, as in real video).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "model.json"

from model_core.attention import dense_attention, video_sparse_attention, vsa_top_k  # noqa: E402
from model_core.config import ModelConfig, preset  # noqa: E402
from model_core.flow import rectified_flow_loss  # noqa: E402
from model_core.model import DualStreamMMDiT  # noqa: E402
from model_core.sampler import sample  # noqa: E402


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` runs: on a shared box the minimum is the least contaminated by other load."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def model_throughput(cfg: ModelConfig, batch: int, train_steps: int, sample_steps: int) -> dict:
    torch.manual_seed(0)
    model = DualStreamMMDiT(cfg)
    s = cfg.sample_size
    pv, pa = cfg.video.patch, cfg.audio.patch[0]
    tokens = (s.frames // pv[0]) * (s.height // pv[1]) * (s.width // pv[2]) + s.audio_length // pa
    v0 = torch.randn(batch, cfg.video.channels, s.frames, s.height, s.width)
    a0 = torch.randn(batch, cfg.audio.channels, s.audio_length)
    text, _ = model.text_encoder.tokenize(["two red rubber balls bouncing"] * batch)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step() -> None:
        loss, _ = rectified_flow_loss(model, v0, a0, text, generator=torch.Generator().manual_seed(0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    train_step()  # warm-up: allocator, AdamW state
    t_train = timed(train_step, train_steps)
    model.eval()
    t0 = time.perf_counter()
    shapes = {"video_shape": tuple(v0.shape), "audio_shape": tuple(a0.shape)}
    sample(
        model, text, **shapes, steps=sample_steps, cfg_text=4.0, generator=torch.Generator().manual_seed(0)
    )
    t_sample = time.perf_counter() - t0
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "batch": batch,
        "sample_size": s.model_dump(),
        "tokens_per_sample": tokens,
        "train_step_s": round(t_train, 3),
        "train_tokens_per_s": round(batch * tokens / t_train, 1),
        "sample_steps": sample_steps,
        "sample_s": round(t_sample, 3),
        "sample_token_steps_per_s": round(batch * tokens * sample_steps / t_sample, 1),
    }


def local_qkv(grid: tuple[int, int, int], heads: int, d: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    axes = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in grid], indexing="ij")
    pos = torch.stack(axes, -1).view(-1, 3)  # (N, 3)
    freqs = 0.5 * torch.randn(3, d // 2, generator=g)
    feat = 3 * torch.cat([torch.cos(pos @ freqs), torch.sin(pos @ freqs)], -1)  # (N, d)
    n = pos.shape[0]
    q = feat + 0.1 * torch.randn(1, heads, n, d, generator=g)
    k = feat + 0.1 * torch.randn(1, heads, n, d, generator=g)
    return q, k, torch.randn(1, heads, n, d, generator=g)


def attention_case(grid: tuple[int, int, int], heads: int, d: int, sparsity: float, repeats: int) -> dict:
    n = grid[0] * grid[1] * grid[2]
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, heads, n, d, generator=g) for _ in range(3))
    gate = torch.full((1, heads, n), 0.1)

    def vsa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return video_sparse_attention(q, k, v, grid, sparsity=sparsity, coarse_gate=gate)

    def fwd_bwd(fn: Callable, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
        qq, kk, vv = (t.detach().requires_grad_() for t in (q, k, v))
        fn(qq, kk, vv).sum().backward()

    out = {"tokens": n, "grid": list(grid), "heads": heads, "head_dim": d, "sparsity": sparsity,
           "top_k_cubes": vsa_top_k(n // 64, sparsity), "cubes": n // 64}  # fmt: skip
    with torch.no_grad():
        ref = dense_attention(q, k, v)
        sparse = video_sparse_attention(q, k, v, grid, sparsity=sparsity)  # fine stage only: vs the oracle
        out["random_inputs_max_abs_err"] = round((sparse - ref).abs().max().item(), 4)
        out["random_inputs_mean_abs_err"] = round((sparse - ref).abs().mean().item(), 4)
        out["random_inputs_dense_mean_abs"] = round(ref.abs().mean().item(), 4)
        ql, kl, vl = local_qkv(grid, heads, d)
        ref_l = dense_attention(ql, kl, vl)
        fine_l = video_sparse_attention(ql, kl, vl, grid, sparsity=sparsity)
        out["local_inputs_max_abs_err"] = round((fine_l - ref_l).abs().max().item(), 4)
        out["local_inputs_mean_abs_err"] = round((fine_l - ref_l).abs().mean().item(), 4)
        out["local_inputs_dense_mean_abs"] = round(ref_l.abs().mean().item(), 4)
        out["dense_fwd_s"] = round(timed(lambda: dense_attention(q, k, v), repeats), 4)
        out["vsa_fwd_s"] = round(timed(lambda: vsa(q, k, v), repeats), 4)
    out["dense_fwd_bwd_s"] = round(timed(lambda: fwd_bwd(dense_attention, q, k, v), repeats), 4)
    out["vsa_fwd_bwd_s"] = round(timed(lambda: fwd_bwd(vsa, q, k, v), repeats), 4)
    out["speedup_fwd"] = round(out["dense_fwd_s"] / out["vsa_fwd_s"], 2)
    out["speedup_fwd_bwd"] = round(out["dense_fwd_bwd_s"] / out["vsa_fwd_bwd_s"], 2)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)  # --help only
    torch.set_num_threads(1)  # the box is shared; one thread makes the numbers comparable run to run
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    tiny = preset("tiny")
    small = preset("small", sample_size={"frames": 4, "height": 16, "width": 16, "audio_length": 16})
    models = {
        "tiny": model_throughput(tiny, batch=4, train_steps=3, sample_steps=4),
        "small (reduced sample size)": model_throughput(small, batch=1, train_steps=2, sample_steps=2),
    }
    attn = []
    for grid, repeats in (((16, 16, 16), 3), ((16, 32, 32), 2), ((32, 32, 32), 1)):
        attn.append(attention_case(grid, heads=2, d=64, sparsity=0.9, repeats=repeats))
        sys.stderr.write(json.dumps(attn[-1]) + "\n")
    at16 = next(a for a in attn if a["tokens"] == 16384)
    result = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_avg_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        },  # fmt: skip
        "models": models,
        "attention": attn,
        "target_3x_at_16k": {
            "fwd": at16["speedup_fwd"] >= 3.0,
            "fwd_bwd": at16["speedup_fwd_bwd"] >= 3.0,
            "speedup_fwd": at16["speedup_fwd"],
            "speedup_fwd_bwd": at16["speedup_fwd_bwd"],
        },
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
