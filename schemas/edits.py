"""Edit operations: small frozen records listed in a YAML/JSON edit list, each with one ``apply(clip) -> clip``.

    - op: remove            # take an element out (tracked through motion), filled like a logo
      box: [520, 40, 80, 60]
    - op: recolor           # hue shift inside a tracked box/mask, luminance kept
      box: [100, 120, 60, 60]
      hue_shift: 120
    - op: add               # composite a PNG (alpha-aware) that follows a tracked box
      image: sticker.png
      box: [40, 40, 64, 64]
      follow: [200, 150, 50, 50]
    - op: grade             # a .cube 3D LUT or a named look
      look: teal_orange
    - op: reframe           # 16:9 → 9:16 following the subject, or a push-in / pan
      aspect: "9:16"
      mode: subject
    - op: trim              # frame-exact; audio trimmed to match
      start: 12
      end: 96
    - op: retime            # speed factor; audio retimed with atempo
      speed: 1.25

Boxes are ``[x, y, w, h]`` in pixels of the clip *as it is at that point of the list*; paths are relative to the
edit list's folder. Errors name the file, the line of the operation and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.errors import ReelwrightError

if TYPE_CHECKING:
    from tasks.edits.clip import Clip

LOOKS = ("teal_orange", "warm", "cool", "bleach_bypass", "noir")


class EditError(ReelwrightError):
    """A bad edit list or an edit that cannot be applied to this clip."""


Box = tuple[int, int, int, int]


def _check_box(v: Box | None) -> Box | None:
    if v is not None and (v[2] <= 0 or v[3] <= 0 or v[0] < 0 or v[1] < 0):
        raise ValueError("a box is [x, y, w, h] with x, y ≥ 0 and w, h > 0")
    return v


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def apply(self, clip: Clip) -> Clip:
        from tasks.edits import ops

        return getattr(ops, f"apply_{self.op}")(self, clip)  # type: ignore[attr-defined]


class _Region(_Op):
    box: Box | None = None
    mask: Path | None = None
    track: bool = True

    @field_validator("box")
    @classmethod
    def _box_ok(cls, v: Box | None) -> Box | None:
        return _check_box(v)

    @model_validator(mode="after")
    def _one_region(self) -> _Region:
        if (self.box is None) == (self.mask is None):
            raise ValueError("give exactly one of box: [x, y, w, h] or mask: file.png")
        return self


class Remove(_Region):
    """Remove an element inside ``box``/``mask``, tracked through motion, filled from other frames then inpainted."""

    op: Literal["remove"] = "remove"


class Recolor(_Region):
    """Rotate hue by ``hue_shift`` degrees (and scale saturation) inside the region; luminance is kept."""

    op: Literal["recolor"] = "recolor"
    hue_shift: float = Field(ge=-360, le=360)
    saturation: float = Field(default=1.0, ge=0, le=4)
    feather: int = Field(default=3, ge=0, le=64)


class Add(_Op):
    """Composite ``image`` (PNG with alpha) into ``box``; with ``follow`` it moves with that tracked box."""

    op: Literal["add"] = "add"
    image: Path
    box: Box
    follow: Box | None = None
    opacity: float = Field(default=1.0, ge=0, le=1)

    @field_validator("box", "follow")
    @classmethod
    def _boxes_ok(cls, v: Box | None) -> Box | None:
        return _check_box(v)


class Grade(_Op):
    """A ``.cube`` 3D LUT (trilinear) or a named ``look``, mixed in by ``strength``."""

    op: Literal["grade"] = "grade"
    lut: Path | None = None
    look: Literal["teal_orange", "warm", "cool", "bleach_bypass", "noir"] | None = None
    strength: float = Field(default=1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _one_source(self) -> Grade:
        if (self.lut is None) == (self.look is None):
            raise ValueError(f"give exactly one of lut: file.cube or look: one of {', '.join(LOOKS)}")
        return self


class Reframe(_Op):
    """Crop to ``aspect`` following the subject (``subject``), fixed ``center``, a ``push_in`` or a ``pan``."""

    op: Literal["reframe"] = "reframe"
    aspect: str = "9:16"
    mode: Literal["subject", "center", "push_in", "pan"] = "subject"
    zoom: float = Field(default=1.2, ge=1, le=4)  # push_in: final zoom
    pan_from: float = Field(default=0.0, ge=0, le=1)  # pan: crop centre as a fraction of the free width
    pan_to: float = Field(default=1.0, ge=0, le=1)
    smooth_seconds: float = Field(default=1.0, gt=0, le=10)
    size: tuple[int, int] | None = None  # output width, height (even); default: the crop's size

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, v: str) -> str:
        try:
            w, h = (float(x) for x in v.split(":"))
        except ValueError:
            raise ValueError('aspect is "W:H", e.g. "9:16"') from None
        if w <= 0 or h <= 0:
            raise ValueError('aspect is "W:H" with positive numbers')
        return v


class Trim(_Op):
    """Keep frames ``start`` (inclusive) to ``end`` (exclusive); audio is cut at the same instants."""

    op: Literal["trim"] = "trim"
    start: int = Field(default=0, ge=0)
    end: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _order(self) -> Trim:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Retime(_Op):
    """Play ``speed`` times faster (frames dropped/repeated, frame rate kept); audio tempo follows (atempo)."""

    op: Literal["retime"] = "retime"
    speed: float = Field(gt=0.125, le=8)


EditOp = Annotated[Remove | Recolor | Add | Grade | Reframe | Trim | Retime, Field(discriminator="op")]
_ADAPTER: TypeAdapter[EditOp] = TypeAdapter(EditOp)
OPS = ("remove", "recolor", "add", "grade", "reframe", "trim", "retime")


def parse_edit(data: object, *, file: str | Path | None = None, line: int | None = None) -> EditOp:
    """One operation from a mapping; errors name the file, line and field."""
    if not isinstance(data, dict):
        raise EditError(
            "an operation must be a mapping like {op: trim, start: 0, end: 48}", file=file, line=line
        )
    if data.get("op") not in OPS:
        raise EditError(
            f"unknown or missing op {data.get('op')!r}",
            file=file,
            line=line,
            field="op",
            hint=f"use one of: {', '.join(OPS)}",
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"][1:] if not isinstance(p, int)) or "op"
        raise EditError(
            err["msg"], file=file, line=line, field=loc, hint="see schemas/edits.py for each op's fields"
        ) from None


def load_edits(path: str | Path) -> tuple[EditOp, ...]:
    """Parse a YAML or JSON edit list (a list, or ``{edits: [...]}``); relative paths resolve beside the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise EditError("edit list not found", file=path, hint="pass --edits PATH to a .yaml or .json file")
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise EditError(
            f"not valid YAML/JSON: {getattr(exc, 'problem', exc)}", file=path,
            line=mark.line + 1 if mark else None, hint="check indentation and brackets on that line",
        ) from None  # fmt: skip
    if root is None:
        raise EditError("the edit list is empty", file=path, hint="list at least one operation")
    if isinstance(root, yaml.MappingNode):
        items = [v for k, v in root.value if k.value == "edits"]
        if not items:
            raise EditError(
                "expected a list of operations or a mapping with an 'edits' list", file=path, line=1
            )
        root = items[0]
    if not isinstance(root, yaml.SequenceNode):
        raise EditError("expected a list of operations", file=path, line=root.start_mark.line + 1)
    ops: list[EditOp] = []
    for node in root.value:
        line = node.start_mark.line + 1
        data = (
            yaml.safe_load(yaml.serialize(node))
            if not path.suffix.lower() == ".json"
            else json.loads(json.dumps(yaml.safe_load(yaml.serialize(node))))
        )
        op = parse_edit(data, file=path, line=line)
        ops.append(_resolve_paths(op, path.parent, path, line))
    return tuple(ops)


def _resolve_paths(op: EditOp, base: Path, file: Path, line: int) -> EditOp:
    updates = {}
    for name in ("mask", "image", "lut"):
        value = getattr(op, name, None)
        if value is None:
            continue
        full = value if value.is_absolute() else base / value
        if not full.is_file():
            raise EditError(f"{name} file {value} not found", file=file, line=line, field=name,
                            hint=f"paths are relative to {base}")  # fmt: skip
        updates[name] = full
    return op.model_copy(update=updates) if updates else op
