"""The API's request and response bodies (pydantic v2). Inputs forbid unknown fields so typos are 422s."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storage.models import MODEL_STATUSES, ROLES

T = TypeVar("T")


def _shot_id(description: str = "the plan's shot id") -> Any:
    return Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        examples=["sc01-sh03"],
        description=description,
    )


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


# ------------------------------------------------------------------------------------------------- catalog


class SeriesOut(Out):
    id: int
    title: str
    created_at: datetime


class EpisodeOut(Out):
    id: int
    series_id: int
    number: int
    title: str
    created_at: datetime


class RenderOut(Out):
    id: int
    episode_id: int
    status: str
    backend: str
    out_dir: str
    episode_uri: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    error: str | None
    qc: Any = None
    retakes: dict[str, int] | None = None
    requested_by_id: int | None = None


class TakeOut(BaseModel):
    id: int
    render_id: int
    take: int
    seed: int
    content_key: str
    asset_uri: str
    digest: str
    duration: float
    cached: bool
    created_at: datetime
    video_url: str = Field(description="a signed URL that plays this take without an Authorization header")


class ShotOut(BaseModel):
    shot_id: str
    scene_index: int
    start: float = Field(description="seconds from the episode start (a shot marker)")
    duration: float
    plan: Any = None
    take: TakeOut | None = Field(description="the take this render used")
    takes: list[TakeOut]


class RenderDetailOut(BaseModel):
    render: RenderOut
    episode: EpisodeOut
    series: SeriesOut
    shots: list[ShotOut]
    video_url: str | None = Field(description="signed URL of the episode video (HTTP range supported)")


class EpisodeDetailOut(BaseModel):
    episode: EpisodeOut
    series: SeriesOut
    script_path: str | None
    latest_render: RenderOut | None


class RenderIn(In):
    retakes: dict[str, int] | None = Field(
        default=None,
        description="{shot_id: take} to render; omitted = keep the takes the episode uses now (0 = original)",
    )

    @model_validator(mode="after")
    def _takes(self) -> RenderIn:
        for shot_id, take in (self.retakes or {}).items():
            if take < 0:
                raise ValueError(f"take {take} of {shot_id} must be ≥ 0")
        return self


# ------------------------------------------------------------------------------------------------ feedback


class RegionIn(In):
    t: float = Field(ge=0, le=86_400, description="seconds into the episode")
    x: float = Field(ge=0, le=1, description="left edge, fraction of the frame width")
    y: float = Field(ge=0, le=1, description="top edge, fraction of the frame height")
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)
    label: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _inside(self) -> RegionIn:
        if self.x + self.w > 1 + 1e-6 or self.y + self.h > 1 + 1e-6:
            raise ValueError("the rectangle must lie inside the frame (x + w ≤ 1 and y + h ≤ 1)")
        return self


class FeedbackIn(In):
    """A note on a take (``take_id``), a shot of a render (``render_id`` + ``shot_id``) or an episode."""

    episode_id: int | None = Field(default=None, ge=1)
    render_id: int | None = Field(default=None, ge=1)
    shot_id: str | None = _shot_id()
    take_id: int | None = Field(default=None, ge=1)
    rating: int | None = Field(default=None, ge=1, le=5)
    tags: list[str] = Field(default_factory=list, max_length=20)
    comment: str | None = Field(default=None, max_length=4000)
    t_start: float | None = Field(default=None, ge=0)
    t_end: float | None = Field(default=None, ge=0)
    regions: list[RegionIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackIn:
        if self.t_start is not None and self.t_end is not None and self.t_end < self.t_start:
            raise ValueError("t_end must not be before t_start")
        if self.take_id is None and self.render_id is None and self.episode_id is None:
            raise ValueError("say what the feedback is about: take_id, render_id (+ shot_id) or episode_id")
        if self.shot_id is not None and self.render_id is None and self.take_id is None:
            raise ValueError("a shot_id needs the render_id it belongs to")
        return self


class RegionOut(Out):
    t: float
    x: float
    y: float
    w: float
    h: float
    label: str | None


class FeedbackOut(BaseModel):
    id: int
    user_id: int
    target: str
    episode_id: int
    render_id: int | None
    shot_id: str | None
    take_id: int | None
    rating: int | None
    tags: list[str]
    comment: str | None
    t_start: float | None
    t_end: float | None
    regions: list[RegionOut]
    created_at: datetime


class DecisionIn(In):
    kind: Literal["approve", "retake"]
    take_id: int | None = Field(default=None, ge=1, description="approve: the take")
    render_id: int | None = Field(default=None, ge=1, description="retake: the render the shot was seen in")
    shot_id: str | None = _shot_id()
    note: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _fields(self) -> DecisionIn:
        if self.kind == "approve" and self.take_id is None:
            raise ValueError("approve needs take_id")
        if self.kind == "retake" and (self.render_id is None or self.shot_id is None):
            raise ValueError("retake needs render_id and shot_id")
        return self


class DecisionOut(Out):
    id: int
    user_id: int
    kind: str
    episode_id: int
    render_id: int | None
    shot_id: str
    take_pk: int | None
    take_number: int | None
    retake_render_id: int | None
    note: str | None
    created_at: datetime


class TagOut(Out):
    name: str
    positive: bool
    description: str


# ------------------------------------------------------------------------------------------------- metrics


class MetricsIn(In):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class MetricsOut(Out):
    id: int
    episode_id: int
    source: str
    day: date
    views: int
    watch_through: float | None
    drop_off: list[float] | None
    likes: int
    shares: int
    updated_at: datetime


class IngestOut(BaseModel):
    stored: int
    ids: list[int]


# --------------------------------------------------------------------------------------------- model loop


class DatasetIn(In):
    name: str = Field(min_length=1, max_length=200)
    manifest_uri: str = Field(min_length=1, max_length=4000)
    manifest_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    items: int = Field(ge=0)
    filters: dict[str, Any] | None = None


class DatasetOut(Out):
    id: int
    name: str
    manifest_uri: str
    manifest_hash: str
    items: int
    db_state: dict[str, Any] | None
    db_state_hash: str
    filters: dict[str, Any] | None
    created_at: datetime


class ModelVersionIn(In):
    name: str = Field(min_length=1, max_length=200)
    checkpoint_uri: str = Field(min_length=1, max_length=4000)
    checkpoint_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    parent_id: int | None = Field(default=None, ge=1)
    dataset_id: int | None = Field(default=None, ge=1)
    metrics: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = Field(default=None, max_length=4000)


class ModelStatusIn(In):
    status: Literal[MODEL_STATUSES]  # type: ignore[valid-type]
    notes: str | None = Field(default=None, max_length=4000)


class ModelVersionOut(Out):
    id: int
    name: str
    checkpoint_uri: str
    checkpoint_hash: str
    parent_id: int | None
    dataset_id: int | None
    metrics: dict[str, Any] | None
    status: str
    notes: str | None
    created_at: datetime
    decided_at: datetime | None


class TrainingRunOut(Out):
    id: int
    dataset_id: int
    base_model_id: int | None
    output_model_id: int | None
    status: str
    config: dict[str, Any] | None
    metrics: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


# --------------------------------------------------------------------------------------------------- users


class UserIn(In):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@\- ]+$")
    role: Literal[ROLES]  # type: ignore[valid-type]


class UserOut(Out):
    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime


class NewUserOut(BaseModel):
    user: UserOut
    token: str = Field(description="shown once; store it now")


class MeOut(BaseModel):
    id: int
    name: str
    role: str
    permissions: list[str]
