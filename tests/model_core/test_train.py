"""Training: the loss falls, checkpoints are written, and a resumed run continues exactly where it stopped."""

from __future__ import annotations

import json

import pytest
import torch

from model_core.checkpoint import CheckpointError, load_checkpoint, read_config, read_weights
from model_core.config import preset
from model_core.train import learning_rate, make_batch, onset_weights, plot_losses, train

FAST = dict(batch_size=2, lr=2e-3, log_every=2, save_every=100, threads=1, warmup=1)


def test_a_few_steps_reduce_the_loss_and_write_a_checkpoint(tmp_path) -> None:
    result = train("tiny", steps=8, out_dir=tmp_path, **FAST)
    assert result.step == 8 and result.start_step == 0 and not result.stopped_early
    records = [json.loads(line) for line in (tmp_path / "loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6, 8]
    assert records[-1]["loss"] < records[0]["loss"]  # from a zero-output model the loss falls at once
    for name in ("model.safetensors", "ema.safetensors", "config.json", "loss.png", "train_state/train_state.json",
                 "train_state/optimizer.safetensors"):
        assert (tmp_path / name).is_file(), name
    cfg, meta = read_config(tmp_path)
    assert cfg == preset("tiny") and meta["step"] == 8 and meta["train"]["batch_size"] == 2
    assert load_checkpoint(tmp_path).meta["step"] == 8


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path) -> None:
    straight = tmp_path / "straight"
    split = tmp_path / "split"
    train("tiny", steps=6, out_dir=straight, **FAST)

    def crash(record: dict) -> None:
        if record["step"] == 4:
            raise KeyboardInterrupt  # killed after the step-2 save, before the step-4 one

    with pytest.raises(KeyboardInterrupt):
        train("tiny", steps=6, out_dir=split, **{**FAST, "save_every": 2}, on_log=crash)
    assert read_config(split)[1]["step"] == 2
    resumed = train("tiny", steps=6, out_dir=split, **{**FAST, "save_every": 2})
    assert resumed.start_step == 2 and resumed.step == 6
    a, b = read_weights(straight / "model.safetensors"), read_weights(split / "model.safetensors")
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst < 1e-5
    steps = [json.loads(line)["step"] for line in (split / "loss.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]  # the log was not duplicated by the resume


def test_resuming_into_another_architecture_is_refused(tmp_path) -> None:
    train("tiny", steps=1, out_dir=tmp_path, **FAST)
    other = preset("tiny", coupled_blocks=(1, 3))
    with pytest.raises(CheckpointError, match="different architecture"):
        train(other, steps=2, out_dir=tmp_path, **FAST)


def test_batches_are_deterministic_latents_with_captions() -> None:
    from model_core.latents import latent_space
    from model_core.toyworld import ToyWorld

    space = latent_space(preset("tiny"))
    world = ToyWorld(0, space.world)
    v, a, caps = make_batch(world, space, range(4, 7))
    v2, a2, caps2 = make_batch(world, space, range(4, 7))
    assert v.shape == (3, *space.video_shape) and a.shape == (3, *space.audio_shape)
    assert (v == v2).all() and (a == a2).all() and caps == caps2
    assert all("ball" in c for c in caps)


def test_learning_rate_schedule() -> None:
    assert learning_rate(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert learning_rate(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert learning_rate(100, 100, 1.0, 10) == pytest.approx(0.1)
    assert learning_rate(55, 100, 1.0, 10) == pytest.approx(0.55)


def test_loss_plot(tmp_path) -> None:
    from PIL import Image

    recs = [{"step": s, "loss": 2.0 / s, "video": 1.0 / s, "audio": 1.0 / s} for s in range(1, 30)]
    path = plot_losses(recs, tmp_path / "loss.png")
    img = Image.open(path)
    assert img.size == (720, 400)
    assert len(set(img.getdata())) > 3  # lines were drawn


torch.set_num_threads(1)


def test_picture_given_must_be_a_fraction(tmp_path) -> None:
    from model_core.config import ModelError

    with pytest.raises(ModelError, match="picture_given"):
        train("tiny", steps=1, out_dir=tmp_path, picture_given=1.0, **FAST)


def test_picture_given_clips_train_only_the_sound(tmp_path) -> None:
    """With every clip's picture given (0.99 ≈ all of a 2-clip batch at this seed) the video loss is empty."""
    records: list[dict] = []
    train("tiny", steps=2, out_dir=tmp_path, picture_given=0.99, on_log=records.append, **FAST)
    assert records and records[-1]["video"] == 0.0 and records[-1]["audio"] > 0.0
    assert read_config(tmp_path)[1]["train"]["picture_given"] == 0.99


def test_onset_weights_mark_the_impacts_of_a_clip() -> None:
    """Weights are 1 + extra within two latent steps of each impact's onset and 1 away from every impact."""
    from model_core.latents import latent_space
    from model_core.toyworld import ToyWorld

    space = latent_space(preset("tiny"))
    clip = ToyWorld(5, space.world).clip(1)  # one red wood ball, one floor bounce at 0.495 s (latent step ~32)
    audio = torch.from_numpy(space.encode_audio(clip.audio))[None]  # (1, C, N)
    w = onset_weights(audio, 4.0)[0]
    heavy = torch.nonzero(w > 1).flatten().tolist()
    steps = [round(e[0] * space.audio_rate) for e in clip.events]
    assert len(steps) == 1 and heavy and set(w.unique().tolist()) == {1.0, 5.0}
    assert all(abs(k - steps[0]) <= 4 for k in heavy), (heavy, steps)
    assert len(heavy) <= 2 * 2 + 1 + 1


def test_onset_weight_is_checked_and_recorded(tmp_path) -> None:
    from model_core.config import ModelError

    with pytest.raises(ModelError, match="onset_weight"):
        train("tiny", steps=1, out_dir=tmp_path / "bad", onset_weight=-1.0, **FAST)
    records: list[dict] = []
    train("tiny", steps=1, out_dir=tmp_path / "ok", onset_weight=3.0, on_log=records.append, **FAST)
    assert records and records[-1]["audio"] > 0.0
    assert read_config(tmp_path / "ok")[1]["train"]["onset_weight"] == 3.0


def test_warm_start_begins_from_the_checkpoints_weights_and_records_it(tmp_path) -> None:
    base = tmp_path / "base"
    train("tiny", steps=4, out_dir=base, **FAST)
    warm = tmp_path / "warm"
    records: list[dict] = []
    result = train("tiny", steps=2, out_dir=warm, **{**FAST, "lr": 0.0}, init_from=base, on_log=records.append)
    assert result.start_step == 0 and result.step == 2
    a, b = read_weights(base / "ema.safetensors"), read_weights(warm / "model.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) == 0.0  # lr 0: the warm model is the base's EMA
    info = read_config(warm)[1]["train"]["init_from"]
    assert info["path"] == str(base) and info["step"] == 4 and len(info["digest"]) == 64
    cold = train("tiny", steps=2, out_dir=tmp_path / "cold", **{**FAST, "lr": 0.0})
    assert cold.last_loss > result.last_loss  # a zero-initialised model predicts worse than the trained one


def test_warm_start_from_another_architecture_is_refused(tmp_path) -> None:
    train("tiny", steps=1, out_dir=tmp_path / "base", **FAST)
    with pytest.raises(CheckpointError, match="different architecture"):
        train(preset("tiny", coupled_blocks=(1, 3)), steps=1, out_dir=tmp_path / "w", **FAST, init_from=tmp_path / "base")
