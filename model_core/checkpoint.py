"""Checkpoints of the dual-stream model: a directory of safetensors files plus a JSON config.

Layout of a checkpoint directory::

    config.json          {"format", "model": ModelConfig, "step", "sampling": {...}, "train": {...}}
    ema.safetensors      exponential moving average of the weights (what sampling uses by default)
    model.safetensors    the raw trained weights (not shipped: training keeps them for resuming)
    train_state/         optimizer moments, step, RNG state (safetensors + JSON), only while training
    metrics.json         the last evaluation (``reelwright model eval``), when there is one

Weights are read only with ``safetensors`` — never pickle — and checked tensor by tensor against the model the
config builds, so a checkpoint of another preset or shape fails with a message that names the first mismatches
instead of a wall of ``size mismatch`` lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model_core.config import ModelConfig, ModelError

if TYPE_CHECKING:
    import torch

    from model_core.model import DualStreamMMDiT

FORMAT = "reelwright-mmdit/1"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "tiny"
# audio_pass: after the joint pass, sample the sound again given the finished picture (video mask = 1, the
# video-to-audio mode that ``train(picture_given=...)`` teaches); off for checkpoints trained without it
# cfg_picture: guidance on the given picture in that audio pass (1 = none)
DEFAULT_SAMPLING = {"steps": 24, "shift": 1.0, "cfg_text": 3.0, "cfg_audio": 1.0, "audio_pass": False,
                    "cfg_picture": 1.0}


class CheckpointError(ModelError):
    """A checkpoint that is missing, unreadable or does not fit the model it is loaded into."""


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------


def _atomic_write(path: Path, write) -> None:  # noqa: ANN001 - write(tmp_path)
    from tasks.media.files import atomic_path

    with atomic_path(path) as tmp:
        write(tmp)


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A module's state as contiguous CPU tensors that own their memory (what safetensors requires)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}


def save_weights(path: str | Path, module_or_tensors, *, metadata: dict[str, str] | None = None) -> Path:  # noqa: ANN001
    """Write a module's state (or a name → tensor dict) as safetensors, atomically."""
    from safetensors.torch import save_file

    tensors = module_or_tensors if isinstance(module_or_tensors, dict) else state_tensors(module_or_tensors)
    path = Path(path)
    _atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT, **(metadata or {})}))
    return path


def write_config(directory: str | Path, cfg: ModelConfig, *, step: int, sampling: dict | None = None,
                 train: dict | None = None) -> Path:  # fmt: skip
    from tasks.media.files import write_text_atomic

    data = {
        "format": FORMAT,
        "model": cfg.model_dump(mode="json"),
        "step": int(step),
        "sampling": {**DEFAULT_SAMPLING, **(sampling or {})},
        "train": train or {},
    }
    path = Path(directory) / "config.json"
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
    return path


def save_checkpoint(directory: str | Path, model: DualStreamMMDiT, *, ema: DualStreamMMDiT | None = None,
                    step: int = 0, sampling: dict | None = None, train: dict | None = None,
                    raw: bool = True) -> Path:  # fmt: skip
    """Write ``config.json`` + ``ema.safetensors`` (``ema`` or, without one, ``model``) + ``model.safetensors``
    (unless ``raw=False``, as for a shipped checkpoint)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"step": str(step), "preset": model.cfg.name}
    if raw:
        save_weights(directory / "model.safetensors", model, metadata=meta)
    save_weights(directory / "ema.safetensors", ema if ema is not None else model, metadata=meta)
    write_config(directory, model.cfg, step=step, sampling=sampling, train=train)
    return directory


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def read_config(directory: str | Path) -> tuple[ModelConfig, dict]:
    """The model config and the rest of ``config.json`` of a checkpoint directory."""
    directory = Path(directory)
    path = directory / "config.json"
    if not directory.is_dir():
        raise CheckpointError(
            f"checkpoint directory {directory} does not exist",
            file=directory,
            hint="train one with `reelwright model train --preset tiny --out DIR` (or `make model`)",
        )
    if not path.is_file():
        raise CheckpointError(
            f"{directory} has no config.json, so it is not a Reelwright model checkpoint",
            file=directory,
            hint="point at the directory `reelwright model train --out DIR` wrote",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path.name}: {exc}", file=path) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            f"{path.name} has format {data.get('format') if isinstance(data, dict) else None!r}, expected {FORMAT!r}",
            file=path,
            hint="re-train or convert the checkpoint with this version of Reelwright",
        )
    try:
        cfg = ModelConfig.model_validate(data["model"])
    except KeyError:
        raise CheckpointError(f"{path.name} has no 'model' section", file=path) from None
    except ModelError as exc:
        raise CheckpointError(f"the model config in {path.name} is invalid: {exc.message}", file=path,
                              field=exc.field, hint=exc.hint) from None  # fmt: skip
    except ValueError as exc:
        raise CheckpointError(f"the model config in {path.name} is invalid: {exc}", file=path) from None
    return cfg, data


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file (CPU)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} does not exist", file=path)
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path.name} is not a readable safetensors file ({exc})",
            file=path,
            hint="the file is truncated or was not written by Reelwright; re-train or re-download it",
        ) from None


def load_weights_into(model: torch.nn.Module, tensors: dict[str, torch.Tensor], *, source: str | Path,
                      what: str = "model") -> None:  # fmt: skip
    """Copy ``tensors`` into ``model`` after checking names and shapes; mismatches raise a CheckpointError."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [(k, tuple(tensors[k].shape), tuple(v.shape)) for k, v in expected.items()
             if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)]  # fmt: skip
    if missing or unexpected or wrong:
        cfg = getattr(model, "cfg", None)
        name = f"config {cfg.name!r}" if cfg is not None else "the model"
        lines = [f"{k}: {a} in the checkpoint, {b} in {name}" for k, a, b in wrong[:4]]
        lines += [f"missing from the checkpoint: {k}" for k in missing[:3]]
        lines += [f"not in {name}: {k}" for k in unexpected[:3]]
        more = len(wrong) + len(missing) + len(unexpected) - len(lines)
        raise CheckpointError(
            f"the {what} weights in {source} do not fit {name} "
            f"({len(wrong)} shape mismatches, {len(missing)} missing, {len(unexpected)} unexpected):\n    "
            + "\n    ".join(lines) + (f"\n    … and {more} more" if more > 0 else ""),
            file=source,
            hint="load it with the preset/config it was trained with (its config.json), or train a new one",
        )
    model.load_state_dict({k: tensors[k].to(v.dtype) for k, v in expected.items()}, strict=True)


@dataclass
class LoadedModel:
    """A model ready to sample, with the facts about where it came from."""

    model: DualStreamMMDiT
    config: ModelConfig
    path: Path
    meta: dict = field(default_factory=dict)
    is_ema: bool = True

    def sampling(self, *, steps: int | None = None, cfg_text: float | None = None, cfg_audio: float | None = None,
                 shift: float | None = None, audio_pass: bool | None = None, cfg_picture: float | None = None
                 ) -> dict:  # fmt: skip
        """Sampler settings: the checkpoint's recorded defaults, overridden by what is given."""
        s = {**DEFAULT_SAMPLING, **self.meta.get("sampling", {})}
        for key, value in (("steps", steps), ("cfg_text", cfg_text), ("cfg_audio", cfg_audio), ("shift", shift),
                           ("audio_pass", audio_pass), ("cfg_picture", cfg_picture)):  # fmt: skip
            if value is not None:
                s[key] = value
        return s

    def version(self) -> str:
        """A short digest of the weights and config: changes whenever samples would."""
        import hashlib

        h = hashlib.sha256(json.dumps(self.meta.get("model", {}), sort_keys=True).encode())
        for name in sorted(p.name for p in self.path.glob("*.safetensors")):
            h.update(name.encode())
            h.update((self.path / name).read_bytes())
        return h.hexdigest()[:16]

    def generate(self, prompts: list[str], *, seed: int = 0, steps: int | None = None, cfg_text: float | None = None,
                 cfg_audio: float | None = None, shift: float | None = None, batch_size: int = 16,
                 audio_pass: bool | None = None, cfg_picture: float | None = None,
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
        """Sample one clip per prompt: ``(videos (F, H, W, 3) uint8, audios (n,) float32)`` in the toy world's units.

        With ``audio_pass`` (default: the checkpoint's setting) the sound of the joint pass is replaced by a
        second pass that generates it given the finished picture (video-to-audio through the video mask).

        Deterministic for given prompts, ``seed`` and ``batch_size`` (each batch draws its noise from a generator
        seeded by ``seed`` and the batch's first index).
        """
        from model_core.latents import latent_space
        from model_core.sampler import sample

        space = latent_space(self.config)
        s = self.sampling(steps=steps, cfg_text=cfg_text, cfg_audio=cfg_audio, shift=shift, audio_pass=audio_pass,
                          cfg_picture=cfg_picture)
        videos: list[np.ndarray] = []
        audios: list[np.ndarray] = []
        for start, b, tokens, shapes, run in self._batches(prompts, s, space, seed, batch_size):
            v, a = sample(self.model, tokens, **shapes, **run)
            if s["audio_pass"]:
                v, a = self._sound_for(tokens, v, shapes, run, float(s["cfg_picture"]))
            v_np, a_np = v.float().numpy(), a.float().numpy()
            videos.extend(space.decode_video(v_np[i]) for i in range(b))
            audios.extend(space.decode_audio(a_np[i], seed=seed + start + i) for i in range(b))
        return videos, audios

    def sound_for(self, prompts: list[str], videos: list[np.ndarray], *, seed: int = 0, steps: int | None = None,
                  cfg_text: float | None = None, shift: float | None = None, cfg_picture: float | None = None,
                  batch_size: int = 16) -> list[np.ndarray]:  # fmt: skip
        """The sampler's audio pass alone: the sound for given pictures (``(F, H, W, 3) uint8`` in the toy
        world's units, e.g. the world's own clips), one per prompt, as ``(n,) float32`` waveforms."""
        import torch

        from model_core.latents import latent_space

        if len(videos) != len(prompts):
            raise CheckpointError(f"{len(prompts)} prompts but {len(videos)} pictures: give one picture per prompt",
                                  file=self.path)  # fmt: skip
        space = latent_space(self.config)
        s = self.sampling(steps=steps, cfg_text=cfg_text, shift=shift, cfg_picture=cfg_picture)
        audios: list[np.ndarray] = []
        for start, b, tokens, shapes, run in self._batches(prompts, s, space, seed, batch_size):
            given = np.stack([space.encode_video(v) for v in videos[start : start + b]])  # (B, Cv, F, h, w)
            _, a = self._sound_for(tokens, torch.from_numpy(given).float(), shapes, run, float(s["cfg_picture"]))
            a_np = a.float().numpy()
            audios.extend(space.decode_audio(a_np[i], seed=seed + start + i) for i in range(b))
        return audios

    def _batches(self, prompts: list[str], s: dict, space, seed: int, batch_size: int):  # noqa: ANN001, ANN202
        """Per batch of prompts: ``(start, size, tokens, shapes, run)``, ``run`` the sampler settings ``s`` with
        a generator seeded by ``seed`` and the batch's first index (what makes sampling deterministic)."""
        import torch

        cv, fr, h, w = space.video_shape
        ca, n = space.audio_shape
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            b = len(chunk)
            tokens, _ = self.model.text_encoder.tokenize(list(chunk))
            g = torch.Generator().manual_seed(int(seed) * 1_000_003 + start)
            run = {"steps": int(s["steps"]), "shift": float(s["shift"]), "cfg_text": float(s["cfg_text"]),
                   "cfg_audio": float(s["cfg_audio"]), "generator": g}  # fmt: skip
            yield start, b, tokens, {"video_shape": (b, cv, fr, h, w), "audio_shape": (b, ca, n)}, run

    def _sound_for(self, tokens, video, shapes: dict, run: dict, cfg_picture: float):  # noqa: ANN001, ANN202
        """The audio pass: sound sampled given every cell of ``video`` (B, Cv, F, h, w) latents."""
        import torch

        from model_core.sampler import sample

        b, _, fr, h, w = video.shape
        picture = torch.ones((b, 1, fr, h, w), dtype=video.dtype)  # (B, 1, F, h, w): every cell given
        return sample(self.model, tokens, **shapes, **run, video_cond=video.clamp(-1, 1), video_mask=picture,
                      cfg_picture=cfg_picture)  # fmt: skip


def load_checkpoint(path: str | Path | None = None, *, ema: bool = True, expect: ModelConfig | None = None
                    ) -> LoadedModel:  # fmt: skip
    """Build the model a checkpoint directory describes and load its (EMA) weights, in eval mode.

    ``expect`` (e.g. ``preset("tiny")``) additionally requires the checkpoint's architecture to equal that config.
    Without EMA weights the raw weights are used (and ``is_ema`` is False), and the other way round.
    """
    from model_core.model import DualStreamMMDiT

    directory = Path(path) if path is not None else DEFAULT_CHECKPOINT
    cfg, data = read_config(directory)
    if expect is not None:
        mine, theirs = cfg.model_dump(exclude={"name"}), expect.model_dump(exclude={"name"})
        if mine != theirs:
            diff = [k for k in theirs if mine.get(k) != theirs.get(k)]
            raise CheckpointError(
                f"checkpoint {directory} was trained with config {cfg.name!r}, which differs from {expect.name!r} "
                f"in: {', '.join(diff)}",
                file=directory,
                hint=f"use --preset {cfg.name} to continue it, or a fresh --out directory for {expect.name!r}",
            )
    order = ["ema.safetensors", "model.safetensors"] if ema else ["model.safetensors", "ema.safetensors"]
    found = [directory / f for f in order if (directory / f).is_file()]
    if not found:
        raise CheckpointError(
            f"{directory} has a config.json but no weights (ema.safetensors / model.safetensors)",
            file=directory,
            hint="the training run did not save yet; wait for it or re-run `reelwright model train`",
        )
    model = DualStreamMMDiT(cfg)
    load_weights_into(model, read_weights(found[0]), source=found[0])
    model.eval().requires_grad_(False)
    return LoadedModel(model=model, config=cfg, path=directory, meta=data, is_ema=found[0].name == "ema.safetensors")
