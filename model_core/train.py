"""Train the dual-stream model on the toy world, on the fly, with resumable safetensors checkpoints.

``train("tiny", steps=…, out_dir=…)`` draws batch ``s`` from clips ``s*B … s*B+B-1`` of ``ToyWorld(seed)``
(so a resumed run sees exactly the data the uninterrupted run would have), encodes them with the fixed latent space
(``model_core.latents``) and minimises the rectified-flow loss (``model_core.flow``) with AdamW, linear warm-up then
cosine decay, gradient clipping and an EMA of the weights. Captions are sometimes shortened (no material, no
motion) so short prompts are in distribution, and dropped to the empty prompt for classifier-free guidance.

Written to ``out_dir``: ``model.safetensors``, ``ema.safetensors``, ``config.json`` (see ``model_core.checkpoint``),
``train_state/`` (optimizer moments, RNG state, step: everything resuming needs), ``loss.jsonl`` (one line per
``log_every`` steps) and ``loss.png``. Video Sparse Attention, when the config enables it, is annealed from dense
to its target sparsity over the first half of training.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model_core.checkpoint import (
    CheckpointError,
    load_weights_into,
    read_config,
    read_weights,
    save_checkpoint,
    save_weights,
)
from model_core.config import ModelConfig, ModelError, preset
from model_core.latents import ToyLatentSpace, latent_space
from model_core.toyworld import ToyWorld

log = logging.getLogger("reelwright.model.train")

TEXT_DROPOUT = 0.1  # fraction of empty prompts: the unconditional branch of classifier-free guidance
# fraction of clips whose picture is given clean through the masked-conditioning interface (video mask = 1), so
# only the sound is learnt: the model's video-to-audio mode, which the sampler's audio pass uses
PICTURE_GIVEN = 0.2
ONSET_RISE = 0.3  # latent units (log10 energy / 2.2): a band climbing this much in one step starts an impact
ONSET_REACH = 2  # latent steps either side of a rise that share its weight (±31 ms at 64 steps/s)
SHORT_CAPTION = 0.15  # chance of leaving out the material, and (independently) the motion phrase


@dataclass(frozen=True, slots=True)
class TrainResult:
    out_dir: Path
    step: int
    start_step: int
    seconds: float
    last_loss: float | None
    stopped_early: bool


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------


def training_caption(scene, rng: np.random.Generator) -> str:  # noqa: ANN001 - toyworld.Scene
    return scene.caption(material=rng.random() >= SHORT_CAPTION, motion=rng.random() >= SHORT_CAPTION)


def make_batch(world: ToyWorld, space: ToyLatentSpace, indices: range) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Latents ``(B, 3, F, h, w)``, ``(B, C, N)`` and captions of the given clip indices (deterministic)."""
    videos, audios, captions = [], [], []
    for i in indices:
        clip = world.clip(i)
        videos.append(space.encode_video(clip.video))
        audios.append(space.encode_audio(clip.audio))
        captions.append(training_caption(clip.scene, np.random.default_rng([world.seed, i, 0xCA9])))
    return np.stack(videos), np.stack(audios), captions


def onset_weights(audio, extra: float, rise: float = ONSET_RISE, reach: int = ONSET_REACH):  # noqa: ANN001, ANN201
    """Per-step audio loss weights ``(B, N)`` for latents ``(B, C, N)``: ``1 + extra`` within ``reach`` steps of a
    step where some band rises by at least ``rise`` over the step before (an impact's onset), 1 elsewhere.

    An impact is a few steps of a 64-step clip, so a plain mean lets the model trade a missed burst against the
    steady rest; weighting the onsets makes missing one cost what it costs the sync metric.
    """
    import torch

    up = (audio[:, :, 1:] - audio[:, :, :-1]).amax(dim=1) >= rise  # (B, N-1): step k+1 rose over step k
    hit = torch.nn.functional.pad(up.float(), (1, 0))[:, None]  # (B, 1, N)
    near = torch.nn.functional.max_pool1d(hit, 2 * reach + 1, stride=1, padding=reach)[:, 0]  # (B, N)
    return 1.0 + extra * near


class _Prefetch:
    """Builds the next batches on a background thread while torch computes (numpy releases the GIL)."""

    def __init__(self, make: Callable[[int], tuple], first: int, last: int, depth: int = 3) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(make, first, last), daemon=True)
        self._thread.start()

    def _run(self, make: Callable[[int], tuple], first: int, last: int) -> None:
        for step in range(first, last):
            if self._stop.is_set():
                return
            try:
                item = (step, make(step), None)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised there
                item = (step, None, exc)
            while not self._stop.is_set():
                try:
                    self._q.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue

    def get(self) -> tuple[int, tuple]:
        step, batch, exc = self._q.get()
        if exc is not None:
            raise exc
        return step, batch

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------------------
# Schedule, EMA, state
# --------------------------------------------------------------------------------------------------------------


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay to ``peak / 10`` at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def ema_update(ema_model, model, decay: float) -> None:  # noqa: ANN001
    import torch

    with torch.no_grad():
        for pe, p in zip(ema_model.parameters(), model.parameters(), strict=True):
            pe.lerp_(p.detach(), 1.0 - decay)
        for be, b in zip(ema_model.buffers(), model.buffers(), strict=True):
            be.copy_(b)


def _save_train_state(directory: Path, opt, generator, step: int, extra: dict) -> None:  # noqa: ANN001
    from tasks.media.files import write_text_atomic

    directory.mkdir(parents=True, exist_ok=True)
    sd = opt.state_dict()
    tensors = {"generator": generator.get_state().clone()}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            tensors[f"state.{idx}.{key}"] = value.detach().cpu().contiguous().clone()
    save_weights(directory / "optimizer.safetensors", tensors, metadata={"step": str(step)})
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    write_text_atomic(directory / "train_state.json",
                      json.dumps({"step": step, "param_groups": groups, **extra}, indent=2) + "\n")  # fmt: skip


def _load_train_state(directory: Path, opt, generator) -> dict:  # noqa: ANN001
    path = directory / "train_state.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path.name}: {exc}", file=path,
                              hint="delete the train_state folder to start over from the saved weights") from None
    tensors = read_weights(directory / "optimizer.safetensors")
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("state."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    try:
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"the optimizer state in {directory} does not fit this model: {exc}",
                              file=directory, hint="train into a fresh --out directory") from None  # fmt: skip
    generator.set_state(tensors["generator"])
    return meta


# --------------------------------------------------------------------------------------------------------------
# Loss curve
# --------------------------------------------------------------------------------------------------------------


def plot_losses(records: list[dict], path: str | Path) -> Path:
    """Draw total / video / audio loss against step (log y axis) as a PNG with Pillow."""
    from PIL import Image, ImageDraw

    w, h, left, bottom, top, right = 720, 400, 60, 40, 20, 20
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    series = {"loss": (20, 20, 20), "video": (40, 100, 220), "audio": (220, 80, 40)}
    pts = [r for r in records if all(r.get(k, 0) > 0 for k in series)]
    d.rectangle([left, top, w - right, h - bottom], outline=(0, 0, 0))
    if pts:
        steps = [r["step"] for r in pts]
        lo = math.log10(min(min(r[k] for k in series) for r in pts))
        hi = math.log10(max(max(r[k] for k in series) for r in pts))
        hi = hi if hi > lo else lo + 1
        s0, s1 = min(steps), max(max(steps), min(steps) + 1)

        def xy(step: float, value: float) -> tuple[float, float]:
            x = left + (step - s0) / (s1 - s0) * (w - left - right)
            y = top + (hi - math.log10(value)) / (hi - lo) * (h - top - bottom)
            return x, y

        for exp in range(math.floor(lo), math.ceil(hi) + 1):
            for m in (1, 2, 5):
                v = m * 10.0**exp
                if lo <= math.log10(v) <= hi:
                    _, y = xy(s0, v)
                    d.line([left, y, w - right, y], fill=(225, 225, 225))
                    d.text((4, y - 6), f"{v:g}", fill=(0, 0, 0))
        for name, colour in series.items():
            line = [xy(r["step"], r[name]) for r in pts]
            if len(line) > 1:
                d.line(line, fill=colour, width=2)
            d.text((w - right - 200 + 70 * list(series).index(name), top + 4), name, fill=colour)
        d.text((left, h - bottom + 6), f"step {s0}", fill=(0, 0, 0))
        d.text((w - right - 80, h - bottom + 6), f"step {s1}", fill=(0, 0, 0))
    d.text((left + 200, h - bottom + 6), "rectified-flow loss (log scale)", fill=(0, 0, 0))
    from tasks.media.files import atomic_path

    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)


def _warm_start(source: Path, cfg: ModelConfig, model, ema_model) -> tuple[dict, dict | None]:  # noqa: ANN001
    """Load ``source``'s sampled weights into both models (DualStreamMMDiT); what to record about it in the new
    checkpoint, and its sampling defaults."""
    from model_core.checkpoint import load_checkpoint
    from model_core.finetune import checkpoint_digest

    loaded = load_checkpoint(source)
    if loaded.config.model_dump(exclude={"name"}) != cfg.model_dump(exclude={"name"}):
        raise CheckpointError(
            f"{source} holds a {loaded.config.name!r} model with a different architecture than {cfg.name!r}",
            file=source,
            hint="pass the preset that checkpoint was trained with (see its config.json)",
        )
    state = loaded.model.state_dict()
    model.load_state_dict(state)
    ema_model.load_state_dict(state)
    previous = loaded.meta.get("train") if isinstance(loaded.meta.get("train"), dict) else {}
    log.info("warm start from %s (trained %s steps)", source, previous.get("step", "?"))
    info = {"path": str(source), "digest": checkpoint_digest(source), "step": previous.get("step"),
            "train_seconds": previous.get("train_seconds")}  # fmt: skip
    return info, loaded.meta.get("sampling")


# --------------------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------------------


def train(
    preset_name: str | ModelConfig = "tiny",
    steps: int = 3000,
    out_dir: str | Path = "model_core/checkpoints/tiny",
    *,
    resume: bool = True,
    batch_size: int = 16,
    lr: float = 1e-3,
    ema: float = 0.999,
    grad_clip: float = 1.0,
    seed: int = 0,
    warmup: int | None = None,
    log_every: int = 25,
    save_every: int = 500,
    max_minutes: float | None = None,
    threads: int = 2,
    picture_given: float = PICTURE_GIVEN,
    onset_weight: float = 0.0,
    init_from: str | Path | None = None,
    on_log: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train (or continue training) a model of ``preset_name`` for ``steps`` optimizer steps in total.

    With ``resume`` and a previous run's ``train_state`` in ``out_dir``, training continues at its step with the
    same optimizer moments, RNG and data stream; a different architecture there is an error, not an overwrite.
    ``max_minutes`` stops early (saving first) when the wall-clock budget is spent. ``picture_given`` is the
    fraction of clips trained as video-to-audio (their picture passed clean as the condition, mask 1).
    ``onset_weight`` adds that much weight to the audio error around impact onsets (:func:`onset_weights`).
    ``init_from`` warm-starts a new run from another checkpoint's sampled (EMA) weights — a fresh optimizer,
    warm-up and schedule over ``steps`` — for training on past a finished run whose optimizer state is gone
    (a shipped checkpoint keeps only its EMA weights). A resumable run in ``out_dir`` takes precedence.
    """
    import torch

    from model_core.flow import rectified_flow_loss
    from model_core.model import DualStreamMMDiT

    cfg = preset_name if isinstance(preset_name, ModelConfig) else preset(preset_name)
    if steps < 1 or batch_size < 1:
        raise ModelError(f"steps ({steps}) and batch_size ({batch_size}) must be positive")
    if not 0.0 <= picture_given < 1.0:
        raise ModelError(f"picture_given={picture_given} must be in [0, 1)", field="picture_given")
    if onset_weight < 0:
        raise ModelError(f"onset_weight={onset_weight} must be ≥ 0", field="onset_weight")
    space = latent_space(cfg)
    world = ToyWorld(seed, space.world)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, threads))
    torch.manual_seed(seed)
    warmup = warmup if warmup is not None else max(1, min(200, steps // 10))

    model = DualStreamMMDiT(cfg)
    ema_model = DualStreamMMDiT(cfg)
    ema_model.load_state_dict(model.state_dict())
    ema_model.requires_grad_(False).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)

    start = 0
    previous_sampling = None
    state_dir = out / "train_state"
    if resume and (state_dir / "train_state.json").is_file():
        saved_cfg, saved = read_config(out)
        previous_sampling = saved.get("sampling")
        if saved_cfg.model_dump(exclude={"name"}) != cfg.model_dump(exclude={"name"}):
            raise CheckpointError(
                f"{out} holds a run of config {saved_cfg.name!r} with a different architecture than {cfg.name!r}",
                file=out,
                hint="pass the preset it was trained with, --no-resume to overwrite, or another --out directory",
            )
        load_weights_into(model, read_weights(out / "model.safetensors"), source=out / "model.safetensors")
        load_weights_into(ema_model, read_weights(out / "ema.safetensors"), source=out / "ema.safetensors", what="EMA")
        meta = _load_train_state(state_dir, opt, gen)
        start = int(meta["step"])
        if meta.get("seed", seed) != seed or meta.get("batch_size", batch_size) != batch_size:
            log.warning("resuming with seed/batch size %s/%s instead of %s/%s: the data stream changes",
                        seed, batch_size, meta.get("seed"), meta.get("batch_size"))
        log.info("resuming %s at step %d", out, start)

    init_info = None
    if init_from is not None and start == 0:
        init_info, previous_sampling = _warm_start(Path(init_from), cfg, model, ema_model)  # and its sampler

    log_path = out / "loss.jsonl"
    records: list[dict] = []
    if log_path.is_file() and start > 0:
        for line in log_path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r.get("step", 0) <= start:
                records.append(r)
    log_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    train_info = {
        "preset": cfg.name, "steps": steps, "batch_size": batch_size, "lr": lr, "ema": ema, "grad_clip": grad_clip,
        "seed": seed, "warmup": warmup, "text_dropout": TEXT_DROPOUT, "picture_given": picture_given, "onset_weight": onset_weight, "world": asdict(space.world),
        "threads": threads,
    }  # fmt: skip
    if init_info is not None:
        train_info["init_from"] = init_info
    elif start > 0 and isinstance(previous_train := saved.get("train"), dict) and "init_from" in previous_train:
        train_info["init_from"] = previous_train["init_from"]
    elapsed_before = float(records[-1].get("elapsed", 0.0)) if records else 0.0

    def save(step: int, elapsed: float, stopped_early: bool) -> None:
        info = {**train_info, "step": step, "train_seconds": round(elapsed, 1), "stopped_early": stopped_early}
        save_checkpoint(out, model, ema=ema_model, step=step, train=info, sampling=previous_sampling)
        _save_train_state(state_dir, opt, gen, step, {"seed": seed, "batch_size": batch_size, "total_steps": steps})
        if records:
            plot_losses(records, out / "loss.png")

    def make(step: int) -> tuple:
        return make_batch(world, space, range(step * batch_size, (step + 1) * batch_size))

    vsa_target = cfg.vsa.sparsity if cfg.vsa.enabled else None
    t0 = time.perf_counter()
    prefetch = _Prefetch(make, start, steps)
    acc = {"loss": 0.0, "video": 0.0, "audio": 0.0, "grad_norm": 0.0, "n": 0}
    step = start
    stopped_early = False
    last_loss = None
    model.train()
    try:
        while step < steps:
            _, (v_np, a_np, captions) = prefetch.get()
            video = torch.from_numpy(v_np)  # (B, 3, F, h, w)
            audio = torch.from_numpy(a_np)  # (B, C, N)
            tokens, _ = model.text_encoder.tokenize(captions)  # (B, L)
            cur_lr = learning_rate(step, steps, lr, warmup)
            for group in opt.param_groups:
                group["lr"] = cur_lr
            sparsity = None
            if vsa_target is not None:
                sparsity = vsa_target * min(1.0, step / max(1, steps // 2))
            video_cond = video_mask = None
            if picture_given > 0:
                given = torch.rand((video.shape[0],), generator=gen) < picture_given  # (B,)
                video_mask = given.to(video.dtype)[:, None, None, None, None].expand(
                    -1, 1, *video.shape[2:]
                ).contiguous()  # (B, 1, F, h, w)
                video_cond = video * video_mask  # (B, 3, F, h, w)
            loss, parts = rectified_flow_loss(
                model, video, audio, tokens, generator=gen, text_dropout=TEXT_DROPOUT, vsa_sparsity=sparsity,
                video_cond=video_cond, video_mask=video_mask,
                audio_step_weight=onset_weights(audio, onset_weight) if onset_weight > 0 else None,
            )
            if not torch.isfinite(loss):
                raise ModelError(f"the loss became {loss.item()} at step {step}",
                                 hint="lower --lr or --grad-clip; resume continues from the last saved step")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            step += 1
            ema_update(ema_model, model, min(ema, (1 + step) / (10 + step)))
            acc["loss"] += loss.item()
            acc["video"] += parts["video"].item()
            acc["audio"] += parts["audio"].item()
            acc["grad_norm"] += float(grad_norm)
            acc["n"] += 1
            elapsed = elapsed_before + time.perf_counter() - t0
            if step % log_every == 0 or step == steps:
                n = acc.pop("n")
                rec = {"step": step, **{k: round(v / n, 5) for k, v in acc.items()}, "lr": round(cur_lr, 7),
                       "elapsed": round(elapsed, 1)}  # fmt: skip
                if sparsity is not None:
                    rec["vsa_sparsity"] = round(sparsity, 3)
                records.append(rec)
                with log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
                last_loss = rec["loss"]
                acc = {"loss": 0.0, "video": 0.0, "audio": 0.0, "grad_norm": 0.0, "n": 0}
                log.info("step %d/%d loss %.4f (video %.4f, audio %.4f) lr %.2e %.0fs", step, steps, rec["loss"],
                         rec["video"], rec["audio"], cur_lr, elapsed)
                if on_log is not None:
                    on_log(rec)
            if step % save_every == 0 and step < steps:
                save(step, elapsed, False)
            if max_minutes is not None and elapsed > 60 * max_minutes and step < steps:
                stopped_early = True
                log.warning("time budget of %.1f min spent at step %d of %d: stopping", max_minutes, step, steps)
                break
    finally:
        prefetch.close()
    elapsed = elapsed_before + time.perf_counter() - t0
    if step > start or not (out / "ema.safetensors").is_file():
        save(step, elapsed, stopped_early)
    return TrainResult(out, step, start, elapsed, last_loss, stopped_early)
