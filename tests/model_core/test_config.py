"""Config validation (teaching errors), presets, exact parameter counts."""

from __future__ import annotations

import pytest

from model_core.config import (
    PRESETS,
    ModelConfig,
    ModelConfigError,
    StreamConfig,
    TextConfig,
    preset,
    presets_table,
)


def _tiny_dict(**over: object) -> dict:
    return {**preset("tiny").model_dump(), **over}


def test_presets_build_and_count_in_order() -> None:
    counts = [PRESETS[n].param_count() for n in ("tiny", "small", "base", "xl")]
    assert counts == sorted(counts) and len(set(counts)) == 4
    assert counts[0] < 5e6, "tiny must stay CPU-trainable"
    assert 2e9 < counts[3] < 2e10, "xl is a production size (several billion parameters)"
    for name, cfg in PRESETS.items():
        assert cfg.name == name
        assert cfg.video.depth == cfg.audio.depth


@pytest.mark.parametrize(
    "over",
    [
        {},
        {"coupled_blocks": (1, 3), "vsa": {"enabled": True}},
        {"video": {**preset("tiny").video.model_dump(), "patch": (2, 4, 4)}, "qk_norm": False},
        {"text": {**preset("tiny").text.model_dump(), "depth": 0}},
    ],
)
def test_param_count_is_exact(over: dict) -> None:
    import torch

    from model_core.model import DualStreamMMDiT

    torch.manual_seed(0)
    cfg = ModelConfig.model_validate(_tiny_dict(**over))
    model = DualStreamMMDiT(cfg)
    assert cfg.param_count() == sum(p.numel() for p in model.parameters())


def test_presets_table_lists_every_preset() -> None:
    table = presets_table()
    for name in PRESETS:
        assert name in table
    assert "M" in table and "B" in table  # tiny/small in millions, xl in billions
    assert len(table.splitlines()) == len(PRESETS) + 2


def test_preset_overrides_and_unknown_name() -> None:
    cfg = preset("tiny", coupled_blocks=(1, 2))
    assert cfg.coupled_blocks == (1, 2) and preset("tiny").coupled_blocks == (0, 4)
    with pytest.raises(ModelConfigError, match="unknown model preset 'huge'") as err:
        preset("huge")
    assert "tiny" in str(err.value)


def test_config_is_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        preset("tiny").rope_theta = 5.0  # type: ignore[misc]


def _video(**over: object) -> dict:
    return {**preset("tiny").video.model_dump(), **over}


def _audio(**over: object) -> dict:
    return {**preset("tiny").audio.model_dump(), **over}


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"video": _video(heads=5)}, ["heads=5 does not divide width=96", "divisors"]),
        ({"video": _video(patch=(1, 3, 4))}, ["sample_size.height=16", "multiple of its patch size 3"]),
        ({"audio": _audio(patch=(3,))}, ["sample_size.audio_length=64", "patch size 3"]),
        ({"coupled_blocks": (2, 5)}, ["coupled_blocks=(2, 5)", "4 blocks"]),
        ({"coupled_blocks": (3, 1)}, ["coupled_blocks=(3, 1)"]),
        ({"audio": _audio(depth=3)}, ["video.depth=4 and audio.depth=3 differ"]),
        ({"video_rope": (8, 8, 6)}, ["sums to 22", "head dim is 24"]),
        ({"video_rope": (7, 9, 8)}, ["positive even number"]),
        ({"video_rope": (20, 2, 2)}, ["audio head dim is only 16"]),
        ({"video": _video(patch=(1, 4))}, ["video.patch must be (pt, ph, pw)"]),
        ({"audio": _audio(heads=64)}, ["is odd"]),
        ({"text": {**preset("tiny").text.model_dump(), "heads": 5}}, ["text heads=5"]),
    ],
)
def test_bad_configs_teach(over: dict, words: list[str]) -> None:
    with pytest.raises(ModelConfigError) as err:
        ModelConfig.model_validate(_tiny_dict(**over))
    for w in words:
        assert w in str(err.value)


def test_stream_and_text_configs_alone() -> None:
    s = StreamConfig(channels=4, patch=(1, 2, 2), width=64, depth=2, heads=4, latent_rate=8.0)
    assert (s.head_dim, s.patch_volume, s.token_rate) == (16, 4, 8.0)
    with pytest.raises(ModelConfigError, match="vocab >= 259"):
        TextConfig(vocab=100)


def test_unknown_text_encoder_is_a_config_error() -> None:
    from model_core.model import DualStreamMMDiT

    cfg = ModelConfig.model_validate(
        _tiny_dict(text={**preset("tiny").text.model_dump(), "encoder": "t5-nope"})
    )
    with pytest.raises(ModelConfigError, match="register_text_encoder"):
        DualStreamMMDiT(cfg)


def test_preset_overrides_merge_nested_fields_and_errors_are_model_config_errors() -> None:
    cfg = preset("tiny", vsa={"enabled": True}, video={"depth": 2}, audio={"depth": 2}, coupled_blocks=(0, 2))
    assert cfg.vsa.enabled and cfg.vsa.sparsity == preset("tiny").vsa.sparsity
    assert cfg.video.width == preset("tiny").video.width and cfg.depth == 2
    with pytest.raises(ModelConfigError, match="video.width"):
        preset("tiny", video={"width": -4})
    with pytest.raises(ModelConfigError, match="differ"):
        preset("tiny", video={"depth": 2})
