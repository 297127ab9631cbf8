"""Checkpoints: safetensors round trip, and clear errors for wrong presets, shapes and broken files."""

from __future__ import annotations

import json

import pytest
import torch

from model_core.checkpoint import CheckpointError, load_checkpoint, read_config, save_checkpoint
from model_core.config import preset
from model_core.model import DualStreamMMDiT

torch.set_num_threads(1)


def _model(seed: int = 0, **over) -> DualStreamMMDiT:
    torch.manual_seed(seed)
    model = DualStreamMMDiT(preset("tiny", **over))
    with torch.no_grad():  # leave the zero-init identity so outputs depend on every weight
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return model


def _inputs(model: DualStreamMMDiT):
    g = torch.Generator().manual_seed(1)
    s = model.cfg.sample_size
    tokens, _ = model.text_encoder.tokenize(["a red rubber ball bouncing fast", "two blue glass balls"])
    return (torch.randn(2, 3, s.frames, s.height, s.width, generator=g), torch.randn(2, 8, s.audio_length, generator=g),
            torch.tensor([0.3, 0.8]), tokens)  # fmt: skip


def test_round_trip_reproduces_outputs(tmp_path) -> None:
    model = _model()
    ema = _model(seed=5)
    save_checkpoint(tmp_path / "ck", model, ema=ema, step=42, sampling={"cfg_text": 2.5})
    cfg, meta = read_config(tmp_path / "ck")
    assert cfg == model.cfg and meta["step"] == 42 and meta["sampling"]["cfg_text"] == 2.5
    x = _inputs(model)
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.is_ema and not loaded.model.training
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(*x), ema.eval()(*x), rtol=0, atol=0)
        raw = load_checkpoint(tmp_path / "ck", ema=False)
        assert not raw.is_ema
        torch.testing.assert_close(raw.model(*x), model.eval()(*x), rtol=0, atol=0)
    assert loaded.sampling()["cfg_text"] == 2.5 and loaded.sampling(cfg_text=1.0)["cfg_text"] == 1.0
    assert loaded.version() == load_checkpoint(tmp_path / "ck").version()


def test_weights_of_another_shape_are_a_clear_error(tmp_path) -> None:
    save_checkpoint(tmp_path / "ck", _model())
    # the config says tiny, but the weights come from a wider model
    wide = _model(video={"width": 128, "heads": 4}, video_rope=(12, 10, 10))
    save_checkpoint(tmp_path / "wide", wide)
    (tmp_path / "ck" / "ema.safetensors").write_bytes((tmp_path / "wide" / "ema.safetensors").read_bytes())
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "ck")
    text = str(err.value)
    assert "do not fit config 'tiny'" in text and "(128," in text and "(96," in text and "shape mismatches" in text
    assert "fix:" in text


def test_expecting_another_preset_is_a_clear_error(tmp_path) -> None:
    save_checkpoint(tmp_path / "ck", _model())
    with pytest.raises(CheckpointError, match=r"differs from 'small' in: .*video"):
        load_checkpoint(tmp_path / "ck", expect=preset("small"))
    assert load_checkpoint(tmp_path / "ck", expect=preset("tiny")).config.name == "tiny"


def test_missing_and_broken_checkpoints(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist") as err:
        load_checkpoint(tmp_path / "nope")
    assert "reelwright model train" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_checkpoint(tmp_path / "empty")
    save_checkpoint(tmp_path / "ck", _model())
    (tmp_path / "ck" / "ema.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(tmp_path / "ck")
    (tmp_path / "ck" / "ema.safetensors").unlink()
    (tmp_path / "ck" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        load_checkpoint(tmp_path / "ck")
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    cfg["format"] = "something-else"
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="expected 'reelwright-mmdit/1'"):
        load_checkpoint(tmp_path / "ck")
    cfg["format"] = "reelwright-mmdit/1"
    cfg["model"]["video"]["heads"] = 5
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="model config in config.json is invalid"):
        load_checkpoint(tmp_path / "ck")


def test_shipped_checkpoint_when_present() -> None:
    from model_core.checkpoint import DEFAULT_CHECKPOINT

    if not (DEFAULT_CHECKPOINT / "ema.safetensors").is_file():
        pytest.skip("no shipped checkpoint in this tree")
    loaded = load_checkpoint()
    assert loaded.config == preset("tiny") and loaded.is_ema
    assert (DEFAULT_CHECKPOINT / "ema.safetensors").stat().st_size < 20e6


def test_audio_pass_keeps_the_picture_and_replaces_the_sound(tmp_path) -> None:
    torch.manual_seed(0)
    model = DualStreamMMDiT(preset("tiny"))
    for p in model.parameters():  # a non-trivial model: zero-initialised outputs would make both passes equal
        p.data.add_(0.02 * torch.randn_like(p))
    save_checkpoint(tmp_path, model, ema=model, step=1)
    loaded = load_checkpoint(tmp_path)
    assert loaded.sampling()["audio_pass"] is False  # checkpoints without the setting keep the joint pass
    kw = dict(seed=3, steps=2, cfg_text=1.0)
    v_joint, a_joint = loaded.generate(["a red ball"], audio_pass=False, **kw)
    v_two, a_two = loaded.generate(["a red ball"], audio_pass=True, **kw)
    assert (v_joint[0] == v_two[0]).all()  # the picture is given to the audio pass and kept exactly
    assert not torch.allclose(torch.from_numpy(a_joint[0]), torch.from_numpy(a_two[0]))
