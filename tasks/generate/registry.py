"""Choose a generation backend by name — called only at the composition root (CLI, flow parameters)."""

from __future__ import annotations

from functools import lru_cache

from schemas.errors import ConfigError
from tasks.generate.protocol import GenerationBackend

BACKENDS = ("animatic", "mmdit", "remote")


@lru_cache(maxsize=8)
def make_backend(name: str, option: str | None = None) -> GenerationBackend:
    """``animatic`` (procedural storyboard, CPU, default), ``mmdit`` (model_core checkpoint: ``option`` = path),
    ``remote`` (an inference server: ``option`` = base URL)."""
    if name == "animatic":
        from tasks.generate.animatic import AnimaticBackend

        return AnimaticBackend()
    if name == "mmdit":
        from tasks.generate.mmdit import MMDiTBackend

        return MMDiTBackend(checkpoint=option)
    if name == "remote":
        if not option:
            raise ConfigError(
                "the remote backend needs the inference server's URL",
                field="backend",
                hint="pass --backend-option http://HOST:PORT (start one with `reelwright model serve`)",
            )
        from tasks.generate.remote import RemoteBackend

        return RemoteBackend(option)
    raise ConfigError(
        f"unknown backend {name!r}", field="backend", hint=f"use one of: {', '.join(BACKENDS)}"
    )
