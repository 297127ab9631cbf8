"""The content-addressed asset store.

A task's output lives under the hash of everything that determines it: its typed inputs and the version of the
code that made it. Same inputs → same key → the file is already there and no work is done. Files appear at their
final path only by atomic rename, so a killed run leaves no partial asset behind and a re-run resumes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from schemas.errors import ReelwrightError
from tasks.media.files import atomic_path


class StorageError(ReelwrightError):
    """The asset store or database could not be read or written."""


def _canonical(value: Any) -> Any:
    """JSON-ready canonical form of pydantic models, dataclasses, paths, fractions and containers."""
    if hasattr(value, "model_dump"):
        return _canonical(value.model_dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        return {k: _canonical(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def content_key(*parts: Any) -> str:
    """SHA-256 over the canonical JSON of ``parts`` (hex, 64 chars)."""
    blob = json.dumps([_canonical(p) for p in parts], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@cache
def code_version(*packages: str) -> str:
    """Hash of the source of the given packages (e.g. ``"tasks.video"``), so a code change invalidates caches."""
    import importlib

    h = hashlib.sha256()
    for name in sorted(packages):
        module = importlib.import_module(name)
        root = Path(module.__file__).parent if module.__file__ else None
        files = sorted(root.rglob("*.py")) if root and Path(module.__file__).name == "__init__.py" else [Path(module.__file__)]
        for f in files:
            h.update(str(f.relative_to(f.parents[1])).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class AssetStoreProtocol(Protocol):
    def path(self, kind: str, key: str, suffix: str) -> Path: ...
    def exists(self, kind: str, key: str, suffix: str) -> bool: ...
    def writing(self, kind: str, key: str, suffix: str) -> contextlib.AbstractContextManager[Path]: ...


class LocalAssetStore:
    """Assets on the local disk: ``ROOT/<kind>/<key[:2]>/<key><suffix>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the asset store at {self.root}: {exc.strerror}",
                hint="pass --cache DIR pointing to a writable folder, or set REELWRIGHT_CACHE",
            ) from None
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"the asset store {self.root} is not writable", hint="fix its permissions or use --cache DIR")

    def path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"

    def exists(self, kind: str, key: str, suffix: str) -> bool:
        return self.path(kind, key, suffix).is_file()

    @contextlib.contextmanager
    def writing(self, kind: str, key: str, suffix: str) -> Iterator[Path]:
        """Yield a temporary path; it becomes the asset only if the block finishes without error."""
        with atomic_path(self.path(kind, key, suffix)) as tmp:
            yield tmp

    def __repr__(self) -> str:
        return f"LocalAssetStore({str(self.root)!r})"


def default_store_root() -> Path:
    return Path(os.environ.get("REELWRIGHT_CACHE", Path.cwd() / ".reelwright" / "assets"))
