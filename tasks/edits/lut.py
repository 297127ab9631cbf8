"""3D LUTs: ``.cube`` parsing, named looks, trilinear application.

A LUT of size N holds ``N³`` output RGB triples on a regular grid over the input cube, red varying fastest
(the Adobe/Resolve ``.cube`` convention). Frames are uint8, so the trilinear interpolation is evaluated once for
all 256³ inputs (a 48 MB table) and each frame is then a single table lookup — the same values as interpolating
per pixel, at a fraction of the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from schemas.edits import EditError


@dataclass(frozen=True, slots=True, eq=False)
class Lut3D:
    """``table`` (N, N, N, 3) float32 in 0..1 indexed ``[r, g, b]``; ``domain`` min/max per channel."""

    table: np.ndarray
    domain_min: tuple[float, float, float] = (0.0, 0.0, 0.0)
    domain_max: tuple[float, float, float] = (1.0, 1.0, 1.0)
    title: str = ""

    @property
    def size(self) -> int:
        return self.table.shape[0]


def parse_cube(path: str | Path) -> Lut3D:
    """Read an Adobe/Resolve ``.cube`` 3D LUT; errors name the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EditError(f"cannot read the LUT ({exc})", file=path, hint="pass a text .cube file") from None
    size = None
    dmin, dmax = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    title = ""
    rows: list[tuple[float, float, float]] = []
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key = line.split()[0].upper()
        try:
            if key == "TITLE":
                title = line[5:].strip().strip('"')
            elif key == "LUT_3D_SIZE":
                size = int(line.split()[1])
                if not 2 <= size <= 256:
                    raise ValueError(f"LUT_3D_SIZE {size} is outside 2..256")
            elif key == "LUT_1D_SIZE":
                raise EditError("1D LUTs are not supported", file=path, line=no, hint="export a 3D .cube LUT")
            elif key == "DOMAIN_MIN":
                dmin = tuple(float(v) for v in line.split()[1:4])  # type: ignore[assignment]
            elif key == "DOMAIN_MAX":
                dmax = tuple(float(v) for v in line.split()[1:4])  # type: ignore[assignment]
            elif key[0].isalpha():
                continue  # other keywords (LUT_3D_INPUT_RANGE …) do not change the table
            else:
                vals = line.split()
                if len(vals) != 3:
                    raise ValueError(f"expected 3 numbers, got {len(vals)}")
                rows.append((float(vals[0]), float(vals[1]), float(vals[2])))
        except ValueError as exc:
            raise EditError(
                f"bad LUT line: {exc}", file=path, line=no, hint="each data line is 'R G B' in 0..1"
            ) from None
    if size is None:
        raise EditError(
            "no LUT_3D_SIZE line", file=path, hint="a 3D .cube file declares LUT_3D_SIZE N before the data"
        )
    if len(rows) != size**3:
        raise EditError(f"expected {size**3} data lines for LUT_3D_SIZE {size}, found {len(rows)}", file=path,
                        hint="the file is truncated or the size line is wrong")  # fmt: skip
    if any(a >= b for a, b in zip(dmin, dmax, strict=True)):
        raise EditError("DOMAIN_MIN must be below DOMAIN_MAX", file=path)
    # rows run red fastest: index = r + N·g + N²·b → reshape to [b, g, r] then swap to [r, g, b]
    table = np.asarray(rows, np.float32).reshape(size, size, size, 3).transpose(2, 1, 0, 3)
    return Lut3D(np.ascontiguousarray(table), dmin, dmax, title)


def write_cube(lut: Lut3D, path: str | Path) -> None:
    from tasks.media.files import write_text_atomic

    n = lut.size
    out = [f'TITLE "{lut.title}"', f"LUT_3D_SIZE {n}", "DOMAIN_MIN 0 0 0", "DOMAIN_MAX 1 1 1"]
    t = lut.table.transpose(2, 1, 0, 3).reshape(-1, 3)
    out += [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in t]
    write_text_atomic(path, "\n".join(out) + "\n")


def trilinear(lut: Lut3D, rgb: np.ndarray) -> np.ndarray:
    """Trilinear lookup of float RGB (…, 3) in the LUT's domain; returns float32 0..1."""
    n = lut.size
    lo, hi = np.asarray(lut.domain_min, np.float32), np.asarray(lut.domain_max, np.float32)
    pos = np.clip((rgb - lo) / (hi - lo), 0, 1) * (n - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int32), n - 2)
    f = pos - i0
    r0, g0, b0 = i0[..., 0], i0[..., 1], i0[..., 2]
    fr, fg, fb = f[..., 0:1], f[..., 1:2], f[..., 2:3]
    t = lut.table
    c00 = t[r0, g0, b0] * (1 - fr) + t[r0 + 1, g0, b0] * fr
    c10 = t[r0, g0 + 1, b0] * (1 - fr) + t[r0 + 1, g0 + 1, b0] * fr
    c01 = t[r0, g0, b0 + 1] * (1 - fr) + t[r0 + 1, g0, b0 + 1] * fr
    c11 = t[r0, g0 + 1, b0 + 1] * (1 - fr) + t[r0 + 1, g0 + 1, b0 + 1] * fr
    c0 = c00 * (1 - fg) + c10 * fg
    c1 = c01 * (1 - fg) + c11 * fg
    return c0 * (1 - fb) + c1 * fb


class LutApplier:
    """Apply a LUT to uint8 frames through a precomputed 256³ table (exactly the trilinear values)."""

    def __init__(self, lut: Lut3D, strength: float = 1.0) -> None:
        levels = np.arange(256, dtype=np.float32) / 255
        table = np.empty((256, 256, 256, 3), np.uint8)
        g, b = np.meshgrid(levels, levels, indexing="ij")
        for r in range(256):  # one red slice at a time keeps the float temporaries small
            rgb = np.stack([np.full_like(g, levels[r]), g, b], axis=-1)
            out = trilinear(lut, rgb)
            if strength < 1:
                out = strength * out + (1 - strength) * rgb
            table[r] = np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)
        self.table = table

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.table[frame[..., 0], frame[..., 1], frame[..., 2]]


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3 - 2 * x)


@lru_cache(maxsize=8)
def look(name: str, size: int = 33) -> Lut3D:
    """A named look as a 3D LUT: teal_orange, warm, cool, bleach_bypass, noir."""
    v = np.linspace(0, 1, size, dtype=np.float32)
    r, g, b = np.meshgrid(v, v, v, indexing="ij")
    rgb = np.stack([r, g, b], axis=-1)
    luma = (0.2126 * r + 0.7152 * g + 0.0722 * b)[..., None]
    if name == "teal_orange":
        # shadows toward teal, highlights and skin toward orange, luminance kept
        shadow, high = np.array([-0.06, 0.02, 0.07]), np.array([0.08, 0.02, -0.07])
        w = _smoothstep(luma)
        out = rgb + (1 - w) * shadow * (1 - luma) * 1.6 + w * high * luma * 1.2
        out = out + (luma - (0.2126 * out[..., :1] + 0.7152 * out[..., 1:2] + 0.0722 * out[..., 2:])) * 1.0
    elif name == "warm":
        out = rgb * np.array([1.06, 1.0, 0.9]) + np.array([0.015, 0.005, -0.01])
    elif name == "cool":
        out = rgb * np.array([0.92, 0.99, 1.07]) + np.array([-0.01, 0.0, 0.015])
    elif name == "bleach_bypass":
        # overlay of the image with its own luminance at reduced saturation: contrast up, colour down
        desat = 0.55 * rgb + 0.45 * luma
        overlay = np.where(luma < 0.5, 2 * desat * luma, 1 - 2 * (1 - desat) * (1 - luma))
        out = 0.6 * overlay + 0.4 * desat
    elif name == "noir":
        c = np.clip((luma - 0.5) * 1.35 + 0.5, 0, 1)
        out = np.repeat(_smoothstep(c) * 0.9 + c * 0.1, 3, axis=-1)
    else:
        raise EditError(
            f"unknown look {name!r}", field="look", hint="use teal_orange, warm, cool, bleach_bypass or noir"
        )
    return Lut3D(np.clip(out, 0, 1).astype(np.float32), title=name)
