"""Fine-tune a checkpoint on producer feedback: supervised rectified flow on positives + Diffusion-DPO on
pairs.

A dataset (``tasks.datasets``) gives toy-world takes with their prompt, seed and sampled latents, and
preference pairs (winner, loser) of takes of the same shot. Each optimizer step minimises

    sft_weight · L_RF(positives) + dpo_weight · L_DPO(pairs)

* ``L_RF`` is the training objective itself (:func:`model_core.flow.rectified_flow_loss`) on the approved /
  well-rated takes: rejection-sampling fine-tuning on the model's own best outputs.
* ``L_DPO`` is the Diffusion-DPO objective (Wallace et al. 2023) in rectified-flow form: winner and loser
  latents are noised at the same σ with the same ε; with ``e(m, x) = ‖v_m(x_t) − (ε − x)‖²`` (mean over the
  latent),

      L_DPO = −log sigmoid(−β · [(e(θ, x_w) − e(ref, x_w)) − (e(θ, x_l) − e(ref, x_l))])

  where ``ref`` is a frozen copy of the base. It is log 2 while the policy equals the reference and falls as
  the policy fits the winner better *than the reference does*, relative to the loser — a preference, anchored
  so the model cannot drift off by simply fitting everything worse.

The result is a normal checkpoint directory (``config.json`` + ``ema.safetensors`` + ``model.safetensors``)
whose ``train`` section records the base, the dataset hash and the fine-tuning settings, plus
``finetune.jsonl`` (one line per ``log_every`` steps).

Latents come from each take's ``.latents.npz`` sidecar; without one they are regenerated from the take's toy
prompt and seed with :func:`sample_latents` — exact when the base checkpoint is the model that made the take
(the ``mmdit`` backend samples a 1-second shot the same way).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model_core.checkpoint import CheckpointError, load_checkpoint, read_config, save_checkpoint
from model_core.config import ModelError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from model_core.checkpoint import LoadedModel
    from model_core.model import DualStreamMMDiT

log = logging.getLogger("reelwright.model.finetune")


class FinetuneError(ModelError):
    """Fine-tuning cannot start: nothing usable in the dataset, bad settings."""


# ------------------------------------------------------------------------------------------------------------
# Checkpoint identity and latents
# ------------------------------------------------------------------------------------------------------------


def checkpoint_digest(path: str | Path) -> str:
    """SHA-256 of what sampling uses: the model config and the sampled weights (``ema`` else ``model``)."""
    directory = Path(path)
    cfg, data = read_config(directory)
    weights = next(
        (directory / n for n in ("ema.safetensors", "model.safetensors") if (directory / n).is_file()), None
    )
    if weights is None:
        raise CheckpointError(
            f"{directory} has a config.json but no weights",
            file=directory,
            hint="point at a finished checkpoint directory",
        )
    h = hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode())
    h.update(json.dumps(data.get("sampling", {}), sort_keys=True).encode())
    with open(weights, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sample_latents(
    loaded: LoadedModel, prompt: str, seed: int, *, steps: int | None = None, cfg_text: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One clip's latents ``video (3, F, h, w)``, ``audio (C, N)`` for ``prompt`` and ``seed``.

    The noise is drawn exactly as :meth:`LoadedModel.generate` draws it for a one-prompt batch (and so as the
    ``mmdit`` backend does for a shot of one segment): decoding these latents gives that clip.
    """
    import torch

    from model_core.latents import latent_space
    from model_core.sampler import sample

    space = latent_space(loaded.config)
    s = loaded.sampling(steps=steps, cfg_text=cfg_text)
    tokens, _ = loaded.model.text_encoder.tokenize([prompt])  # (1, L)
    g = torch.Generator().manual_seed(int(seed) * 1_000_003)
    v, a = sample(
        loaded.model,
        tokens,
        video_shape=(1, *space.video_shape),
        audio_shape=(1, *space.audio_shape),
        steps=int(s["steps"]),
        shift=float(s["shift"]),
        cfg_text=float(s["cfg_text"]),
        cfg_audio=float(s["cfg_audio"]),
        generator=g,
    )
    return v[0].float().numpy(), a[0].float().numpy()


def save_latents(path: str | Path, video: np.ndarray, audio: np.ndarray) -> Path:
    """Write a take's latents sidecar (``video``, ``audio`` float32), atomically."""
    from tasks.media.files import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, video=np.asarray(video, np.float32), audio=np.asarray(audio, np.float32))
    return path


def load_latents(path: str | Path, loaded: LoadedModel) -> tuple[np.ndarray, np.ndarray]:
    from model_core.latents import latent_space

    space = latent_space(loaded.config)
    try:
        with np.load(path) as z:
            video, audio = z["video"].astype(np.float32), z["audio"].astype(np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise FinetuneError(
            f"cannot read latents {path}: {exc}",
            file=path,
            hint="delete the sidecar to regenerate it from the take's prompt and seed",
        ) from None
    if video.shape != space.video_shape or audio.shape != space.audio_shape:
        raise FinetuneError(
            f"latents {path} have shapes {video.shape} / {audio.shape}; the base model's latent space is "
            f"{space.video_shape} / {space.audio_shape}",
            file=path,
            hint="fine-tune the checkpoint that generated these takes",
        )
    return video, audio


# ------------------------------------------------------------------------------------------------------------
# Examples from a manifest
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Examples:
    """Stacked training tensors: positives ``(P, …)`` and pairs ``(Q, …)`` with their prompts."""

    pos_video: np.ndarray  # (P, 3, F, h, w)
    pos_audio: np.ndarray  # (P, C, N)
    pos_prompts: list[str]
    win_video: np.ndarray  # (Q, 3, F, h, w)
    win_audio: np.ndarray  # (Q, C, N)
    lose_video: np.ndarray  # (Q, 3, F, h, w)
    lose_audio: np.ndarray  # (Q, C, N)
    pair_prompts: list[str]
    stats: dict[str, int]


def load_examples(manifest, loaded: LoadedModel, *, regenerate: bool = True) -> Examples:  # noqa: ANN001
    """Positives and pairs of a :class:`tasks.datasets.manifest.Manifest` that the toy model can train on.

    Takes without toy info are skipped (counted in ``stats``); missing latents are regenerated with ``loaded``
    when ``regenerate`` is set.
    """
    from model_core.latents import latent_space

    space = latent_space(loaded.config)
    cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    stats = {"skipped_not_toy": 0, "regenerated": 0, "from_sidecar": 0, "skipped_no_latents": 0}

    def latents(take_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        if take_id in cache:
            return cache[take_id]
        rec = manifest.takes[take_id]
        out = None
        if rec.get("toy") is None:
            stats["skipped_not_toy"] += 1
        elif rec.get("latents"):
            lat = rec["latents"]
            path = manifest.root / lat["file"] if lat.get("file") else Path(lat["uri"])
            if path.is_file():
                out = load_latents(path, loaded)
                stats["from_sidecar"] += 1
        if out is None and rec.get("toy") is not None:
            if regenerate:
                toy = rec["toy"]
                out = sample_latents(
                    loaded,
                    toy["prompt"],
                    int(toy["seed"]),
                    steps=toy.get("steps"),
                    cfg_text=toy.get("cfg_text"),
                )
                stats["regenerated"] += 1
            else:
                stats["skipped_no_latents"] += 1
        cache[take_id] = out
        return out

    pv, pa, pp = [], [], []
    for rec in manifest.positives():
        z = latents(rec["id"])
        if z is not None:
            pv.append(z[0])
            pa.append(z[1])
            pp.append(rec["toy"]["prompt"])
    wv, wa, lv, la, qp = [], [], [], [], []
    for pair in manifest.pairs:
        w, lo = latents(pair["winner"]), latents(pair["loser"])
        if w is None or lo is None:
            continue
        wv.append(w[0])
        wa.append(w[1])
        lv.append(lo[0])
        la.append(lo[1])
        qp.append(manifest.takes[pair["winner"]]["toy"]["prompt"])

    def stack(xs: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        return np.stack(xs).astype(np.float32) if xs else np.zeros((0, *shape), np.float32)

    vs, as_ = space.video_shape, space.audio_shape
    stats.update(positives=len(pv), pairs=len(qp))
    return Examples(
        stack(pv, vs),
        stack(pa, as_),
        pp,
        stack(wv, vs),
        stack(wa, as_),
        stack(lv, vs),
        stack(la, as_),
        qp,
        stats,
    )


# ------------------------------------------------------------------------------------------------------------
# The preference loss
# ------------------------------------------------------------------------------------------------------------


def velocity_errors(
    model: DualStreamMMDiT,
    video_x0: Tensor,
    audio_x0: Tensor,
    tokens: Tensor,
    sigma: Tensor,
    eps_v: Tensor,
    eps_a: Tensor,
) -> Tensor:
    """Per-sample ``‖v(x_t) − (ε − x₀)‖²`` (mean over video cells + mean over audio cells), shape ``(B,)``.

    ``sigma (B,)`` is one noise level per sample, shared by both streams (as in training)."""
    b, _, f = video_x0.shape[:3]
    n = audio_x0.shape[2]
    s_v, s_a = (
        sigma[:, None].expand(b, f).contiguous(),
        sigma[:, None].expand(b, n).contiguous(),
    )  # (B, F), (B, N)
    sv = sigma.to(video_x0.dtype)[:, None, None, None, None]  # (B, 1, 1, 1, 1)
    sa = sigma.to(audio_x0.dtype)[:, None, None]  # (B, 1, 1)
    xt_v = (1 - sv) * video_x0 + sv * eps_v  # (B, Cv, F, H, W)
    xt_a = (1 - sa) * audio_x0 + sa * eps_a  # (B, Ca, N)
    v_pred, a_pred = model(
        xt_v, xt_a, None, tokens, None, None, None, None, None, sigma_video=s_v, sigma_audio=s_a
    )
    err_v = (v_pred.float() - (eps_v - video_x0).float()).square().flatten(1).mean(1)  # (B,)
    err_a = (a_pred.float() - (eps_a - audio_x0).float()).square().flatten(1).mean(1)  # (B,)
    return err_v + err_a


def dpo_loss(
    policy: DualStreamMMDiT,
    reference: DualStreamMMDiT,
    win: tuple[Tensor, Tensor],
    lose: tuple[Tensor, Tensor],
    tokens: Tensor,
    *,
    beta: float,
    generator: torch.Generator | None = None,
    sigma: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Diffusion-DPO loss of winner ``(video, audio)`` over loser latents (see the module docstring).

    Winner and loser share σ (logit-normal unless given) and ε. Returns ``(loss, parts)``: ``accuracy`` (share
    of pairs where the policy's advantage favours the winner), ``margin`` (mean of the bracket ×(−β)),
    detached.
    """
    import torch
    import torch.nn.functional as F

    from model_core.flow import logit_normal

    wv, wa = win
    lv, la = lose
    if wv.shape != lv.shape or wa.shape != la.shape or wv.shape[0] != tokens.shape[0]:
        raise FinetuneError(
            f"winner {tuple(wv.shape)}/{tuple(wa.shape)} and loser {tuple(lv.shape)}/{tuple(la.shape)} "
            f"latents must match, with one prompt per pair ({tokens.shape[0]})"
        )
    if beta <= 0:
        raise FinetuneError(f"beta must be positive, got {beta}", field="beta")
    q = wv.shape[0]
    if sigma is None:
        sigma = logit_normal((q,), generator=generator, device=wv.device)  # (Q,)
    eps_v = torch.randn(wv.shape, generator=generator, device=wv.device, dtype=wv.dtype)  # (Q, Cv, F, H, W)
    eps_a = torch.randn(wa.shape, generator=generator, device=wa.device, dtype=wa.dtype)  # (Q, Ca, N)
    both_v, both_a = torch.cat([wv, lv]), torch.cat([wa, la])  # (2Q, ...)
    s2, ev2, ea2, tok2 = (
        torch.cat([sigma, sigma]),
        torch.cat([eps_v, eps_v]),
        torch.cat([eps_a, eps_a]),
        torch.cat([tokens, tokens]),
    )
    err = velocity_errors(policy, both_v, both_a, tok2, s2, ev2, ea2)  # (2Q,)
    with torch.no_grad():
        err_ref = velocity_errors(reference, both_v, both_a, tok2, s2, ev2, ea2)  # (2Q,)
    diff = err - err_ref  # (2Q,) how much worse the policy fits than the reference
    inside = diff[:q] - diff[q:]  # (Q,) negative when the policy improved more on the winner
    logits = -beta * inside
    loss = -F.logsigmoid(logits).mean()
    parts = {
        "accuracy": (logits > 0).float().mean().detach(),
        "margin": logits.mean().detach(),
        "win_err": err[:q].mean().detach(),
        "lose_err": err[q:].mean().detach(),
    }
    return loss, parts


# ------------------------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FinetuneResult:
    out_dir: Path
    steps: int
    seconds: float
    positives: int
    pairs: int
    last: dict[str, float]
    stats: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
            "positives": self.positives,
            "pairs": self.pairs,
            "last": self.last,
            "stats": self.stats,
        }


def finetune(
    base: str | Path | None,
    dataset: str | Path,
    out_dir: str | Path,
    *,
    steps: int = 200,
    batch_size: int = 4,
    pair_batch: int = 4,
    lr: float = 2e-4,
    beta: float = 50.0,
    sft_weight: float = 1.0,
    dpo_weight: float = 1.0,
    ema: float = 0.98,
    grad_clip: float = 1.0,
    seed: int = 0,
    threads: int = 2,
    log_every: int = 10,
    regenerate: bool = True,
) -> FinetuneResult:
    """Fine-tune checkpoint ``base`` (default: the shipped tiny model) on the dataset (directory or manifest).

    Writes a checkpoint to ``out_dir``. Raises :class:`FinetuneError` when the dataset has neither a positive
    nor a pair the model can use, or a setting is out of range; :class:`CheckpointError` for a bad ``base``.
    """
    import torch

    from model_core.flow import rectified_flow_loss
    from model_core.model import DualStreamMMDiT
    from model_core.train import TEXT_DROPOUT, ema_update, learning_rate
    from tasks.datasets.manifest import read_manifest

    if steps < 1 or batch_size < 1 or pair_batch < 1:
        raise FinetuneError(
            f"steps ({steps}), batch_size ({batch_size}) and pair_batch ({pair_batch}) must be ≥ 1"
        )
    if sft_weight < 0 or dpo_weight < 0 or sft_weight + dpo_weight == 0:
        raise FinetuneError(f"weights must be ≥ 0 and not both 0 (sft {sft_weight}, dpo {dpo_weight})")
    torch.set_num_threads(max(1, min(2, threads)))
    manifest = read_manifest(dataset)
    loaded = load_checkpoint(base, ema=True)
    ex = load_examples(manifest, loaded, regenerate=regenerate)
    use_sft = sft_weight > 0 and len(ex.pos_prompts) > 0
    use_dpo = dpo_weight > 0 and len(ex.pair_prompts) > 0
    if not (use_sft or use_dpo):
        raise FinetuneError(
            f"dataset {manifest.path} has no usable positives or pairs ({ex.stats})",
            file=manifest.path,
            hint="fine-tuning needs toy-world takes (shot plan {'toy': {'prompt': …}}) rated ≥ 4, approved, "
            "or in preference pairs",
        )
    cfg = loaded.config
    torch.manual_seed(seed)
    policy = DualStreamMMDiT(cfg)
    policy.load_state_dict(loaded.model.state_dict())
    reference = loaded.model.eval().requires_grad_(False)  # frozen copy of the base
    ema_model = DualStreamMMDiT(cfg)
    ema_model.load_state_dict(policy.state_dict())
    ema_model.requires_grad_(False).eval()
    opt = torch.optim.AdamW(policy.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    warmup = max(1, min(20, steps // 10))
    encoder = policy.text_encoder
    pos_v, pos_a = torch.from_numpy(ex.pos_video), torch.from_numpy(ex.pos_audio)
    win = (torch.from_numpy(ex.win_video), torch.from_numpy(ex.win_audio))
    lose = (torch.from_numpy(ex.lose_video), torch.from_numpy(ex.lose_audio))

    def draw(n: int, k: int) -> np.ndarray:
        return rng.choice(n, size=k, replace=n < k) if n > 0 else np.zeros(0, int)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "finetune.jsonl"
    log_path.write_text("", encoding="utf-8")
    t0 = time.perf_counter()
    last: dict[str, float] = {}
    acc: dict[str, float] = {}
    policy.train()
    for step in range(steps):
        cur_lr = learning_rate(step, steps, lr, warmup)
        for group in opt.param_groups:
            group["lr"] = cur_lr
        loss = torch.zeros(())
        parts: dict[str, float] = {}
        if use_sft:
            idx = draw(len(ex.pos_prompts), batch_size)
            tokens, _ = encoder.tokenize([ex.pos_prompts[i] for i in idx])  # (B, L)
            sft, sft_parts = rectified_flow_loss(
                policy, pos_v[idx], pos_a[idx], tokens, generator=gen, text_dropout=TEXT_DROPOUT
            )
            loss = loss + sft_weight * sft
            parts["sft"] = sft.item()
        if use_dpo:
            idx = draw(len(ex.pair_prompts), pair_batch)
            tokens, _ = encoder.tokenize([ex.pair_prompts[i] for i in idx])  # (Q, L)
            dpo, dpo_parts = dpo_loss(
                policy,
                reference,
                (win[0][idx], win[1][idx]),
                (lose[0][idx], lose[1][idx]),
                tokens,
                beta=beta,
                generator=gen,
            )
            loss = loss + dpo_weight * dpo
            parts.update(
                dpo=dpo.item(),
                dpo_accuracy=dpo_parts["accuracy"].item(),
                dpo_margin=dpo_parts["margin"].item(),
            )
        if not torch.isfinite(loss):
            raise FinetuneError(
                f"the fine-tuning loss became {loss.item()} at step {step}", hint="lower --lr or beta"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        parts["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(policy.parameters(), grad_clip))
        opt.step()
        ema_update(ema_model, policy, min(ema, (1 + step) / (10 + step)))
        parts["loss"] = loss.item()
        for k, v in parts.items():
            acc[k] = acc.get(k, 0.0) + v
        n_acc = (step % log_every) + 1
        if (step + 1) % log_every == 0 or step + 1 == steps:
            last = {k: round(v / n_acc, 5) for k, v in acc.items()}
            rec = {
                "step": step + 1,
                **last,
                "lr": round(cur_lr, 7),
                "elapsed": round(time.perf_counter() - t0, 1),
            }
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            log.info("finetune step %d/%d %s", step + 1, steps, last)
            acc = {}
    seconds = time.perf_counter() - t0
    info = {
        "finetune": {
            "base": str(loaded.path),
            "base_digest": checkpoint_digest(loaded.path),
            "dataset": str(manifest.path),
            "dataset_hash": manifest.hash,
            "steps": steps,
            "batch_size": batch_size,
            "pair_batch": pair_batch,
            "lr": lr,
            "beta": beta,
            "sft_weight": sft_weight,
            "dpo_weight": dpo_weight,
            "ema": ema,
            "seed": seed,
            "positives": len(ex.pos_prompts),
            "pairs": len(ex.pair_prompts),
            "seconds": round(seconds, 1),
            "examples": ex.stats,
        },
        "base_train": loaded.meta.get("train", {}),
    }
    save_checkpoint(
        out,
        policy,
        ema=ema_model,
        step=int(loaded.meta.get("step", 0)) + steps,
        train=info,
        sampling=loaded.meta.get("sampling"),
    )
    return FinetuneResult(
        out.resolve(), steps, seconds, len(ex.pos_prompts), len(ex.pair_prompts), last, ex.stats
    )
