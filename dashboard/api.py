"""The JSON API under ``/api``: everything the dashboard page does, for scripts and other tools too.

Every route needs a bearer token (see :mod:`dashboard.auth`); writes accept an ``Idempotency-Key`` header
(the same key with the same body returns the first result, ``Idempotent-Replayed: true``; with another body,
409). Lists are pages: ``?limit=&offset=`` → ``{items, total, limit, offset, next_offset}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dashboard import schemas as s
from dashboard.auth import ROLE_PERMISSIONS, Perm, require, sign_media
from dashboard.state import AppState
from storage.models import Episode, Render, Series, Take
from storage.repositories import catalog, feedback, metrics, registry, users
from storage.repositories.common import NotFound, Page, get_or_404, request_hash
from storage.repositories.users import Principal

router = APIRouter(prefix="/api")

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=160,
        description="a client-chosen unique key; retrying with it never stores twice",
    ),
]


def state(request: Request) -> AppState:
    return request.app.state.reelwright


State = Annotated[AppState, Depends(state)]
Reader = Annotated[Principal, Depends(require(Perm.read))]
MediaReader = Annotated[Principal, Depends(require(Perm.read, signed_media=True))]
Rater = Annotated[Principal, Depends(require(Perm.rate))]
RenderStarter = Annotated[Principal, Depends(require(Perm.render))]
Ingester = Annotated[Principal, Depends(require(Perm.ingest))]
ModelKeeper = Annotated[Principal, Depends(require(Perm.models))]
Admin = Annotated[Principal, Depends(require(Perm.admin))]


def _page(page: Page, convert) -> dict[str, Any]:  # noqa: ANN001 - row → out model
    return {
        "items": [convert(item) for item in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


def _written(response: Response, created: bool) -> None:
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    if not created:
        response.headers["Idempotent-Replayed"] = "true"


# ---------------------------------------------------------------------------------------------- who am I


@router.get("/me", response_model=s.MeOut, tags=["users"])
def me(who: Reader) -> dict:
    return {
        "id": who.user_id,
        "name": who.name,
        "role": who.role,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[who.role]),
    }


@router.get("/tags", response_model=list[s.TagOut], tags=["feedback"])
def tags(app: State, who: Reader) -> list:
    return app.db.read(lambda ss: [s.TagOut.model_validate(t) for t in feedback.list_tags(ss)])


# ------------------------------------------------------------------------------------------------ catalog


@router.get("/series", response_model=s.Page[s.SeriesOut], tags=["catalog"])
def list_series(app: State, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict:
    return app.db.read(
        lambda ss: _page(catalog.list_series(ss, limit=limit, offset=offset), s.SeriesOut.model_validate)
    )


@router.get("/series/{series_id}/episodes", response_model=s.Page[s.EpisodeOut], tags=["catalog"])
def list_episodes(series_id: int, app: State, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict:
    return app.db.read(
        lambda ss: _page(
            catalog.list_episodes(ss, series_id, limit=limit, offset=offset), s.EpisodeOut.model_validate
        )
    )


@router.get("/episodes/{episode_id}", response_model=s.EpisodeDetailOut, tags=["catalog"])
def episode_detail(episode_id: int, app: State, who: Reader) -> dict:
    def work(ss: Session) -> dict:
        episode = get_or_404(ss, Episode, episode_id)
        renders = catalog.list_renders(ss, episode_id=episode.id, limit=1)
        try:
            script_path = catalog.latest_script(ss, episode.id).path
        except NotFound:
            script_path = None
        return {
            "episode": s.EpisodeOut.model_validate(episode),
            "series": s.SeriesOut.model_validate(ss.get(Series, episode.series_id)),
            "script_path": script_path,
            "latest_render": s.RenderOut.model_validate(renders.items[0]) if renders.items else None,
        }

    return app.db.read(work)


@router.get("/episodes/{episode_id}/renders", response_model=s.Page[s.RenderOut], tags=["renders"])
def episode_renders(episode_id: int, app: State, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict:
    return app.db.read(
        lambda ss: _page(
            catalog.list_renders(ss, episode_id=episode_id, limit=limit, offset=offset),
            s.RenderOut.model_validate,
        )
    )


def _require_renderer(app: AppState) -> None:
    if not app.jobs.enabled:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="this dashboard has no renderer; start it with `reelwright serve`, which renders with the "
            "episode flow, or pass renderer= to dashboard.app.create_app",
        )


@router.post(
    "/episodes/{episode_id}/renders",
    response_model=s.RenderOut,
    status_code=status.HTTP_201_CREATED,
    tags=["renders"],
    responses={200: {"description": "replayed: the render this Idempotency-Key queued before"}},
)
def trigger_render(
    episode_id: int, body: s.RenderIn, response: Response, app: State, who: RenderStarter, key: IdemKey = None
) -> Any:
    """Queue a render of the episode's newest script and start it in the background (poll the render)."""
    _require_renderer(app)
    req = request_hash({"user": who.user_id, "episode": episode_id, **body.model_dump()})

    def work(ss: Session):  # noqa: ANN202
        render, created = catalog.queue_render(
            ss,
            episode_id=episode_id,
            requested_by=who.user_id,
            renders_root=app.renders_dir,
            backend=app.backend,
            retakes=body.retakes,
            idempotency_key=key,
            req_hash=req,
        )
        return s.RenderOut.model_validate(render), created

    out, created = app.db.write(work)
    if created:
        app.jobs.submit(out.id)
    _written(response, created)
    return out


@router.get("/renders", response_model=s.Page[s.RenderOut], tags=["renders"])
def list_renders(
    app: State,
    who: Reader,
    status_: Annotated[
        Literal["queued", "running", "succeeded", "failed"] | None, Query(alias="status")
    ] = None,
    episode_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return app.db.read(
        lambda ss: _page(
            catalog.list_renders(ss, episode_id=episode_id, status=status_, limit=limit, offset=offset),
            s.RenderOut.model_validate,
        )
    )


def _take_out(take: Take, who: Principal) -> s.TakeOut:
    return s.TakeOut(
        id=take.id,
        render_id=take.render_id,
        take=take.take,
        seed=take.seed,
        content_key=take.content_key,
        asset_uri=take.asset_uri,
        digest=take.digest,
        duration=take.duration,
        cached=take.cached,
        created_at=take.created_at,
        video_url=sign_media(who, f"/api/takes/{take.id}/video"),
    )


@router.get("/renders/{render_id}", response_model=s.RenderDetailOut, tags=["renders"])
def render_detail(render_id: int, app: State, who: Reader) -> Any:
    """The render with its shots in timeline order (shot markers), the takes, and signed video URLs."""

    def work(ss: Session) -> s.RenderDetailOut:
        view = catalog.render_detail(ss, render_id)
        has_video = _render_video_path(view.render) is not None
        return s.RenderDetailOut(
            render=s.RenderOut.model_validate(view.render),
            episode=s.EpisodeOut.model_validate(view.episode),
            series=s.SeriesOut.model_validate(view.series),
            shots=[
                s.ShotOut(
                    shot_id=v.shot_id,
                    scene_index=v.scene_index,
                    start=v.start,
                    duration=v.duration,
                    plan=v.plan,
                    take=_take_out(v.take, who) if v.take else None,
                    takes=[_take_out(t, who) for t in v.takes],
                )
                for v in view.shots
            ],
            video_url=sign_media(who, f"/api/renders/{render_id}/video") if has_video else None,
        )

    return app.db.read(work)


def _local_file(uri: str | None) -> Path | None:
    if not uri:
        return None
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
    return path if "://" not in uri[:10] or uri.startswith("file://") else None


def _render_video_path(render: Render) -> Path | None:
    for candidate in (
        _local_file(render.episode_uri),
        Path(render.out_dir) / "episode.mp4" if render.out_dir else None,
    ):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


_VIDEO_RESPONSES = {
    200: {"content": {"video/mp4": {}}, "description": "the video"},
    206: {"description": "a byte range of the video (send a Range header)"},
}


@router.get(
    "/renders/{render_id}/video", response_class=FileResponse, responses=_VIDEO_RESPONSES, tags=["media"]
)
def render_video(render_id: int, app: State, who: MediaReader) -> FileResponse:
    """The episode video; supports ``Range``. Auth: bearer token, or the signed URL from the render detail."""

    def work(ss: Session) -> Path:
        render = get_or_404(ss, Render, render_id)
        path = _render_video_path(render)
        if path is None:
            raise NotFound(f"render {render_id} has no video yet (status {render.status})", field="render_id")
        return path

    return FileResponse(app.db.read(work), media_type="video/mp4")


@router.get("/takes/{take_id}/video", response_class=FileResponse, responses=_VIDEO_RESPONSES, tags=["media"])
def take_video(take_id: int, app: State, who: MediaReader) -> FileResponse:
    """One take's video (a shot clip from the asset store); supports ``Range``."""

    def work(ss: Session) -> Path:
        take = get_or_404(ss, Take, take_id)
        path = _local_file(take.asset_uri)
        if path is None or not path.is_file():
            raise NotFound(f"take {take_id}'s file {take.asset_uri} is not on this machine", field="take_id")
        return path

    return FileResponse(app.db.read(work), media_type="video/mp4")


# ----------------------------------------------------------------------------------------------- feedback


def _feedback_out(fb: feedback.FeedbackRecord) -> s.FeedbackOut:
    return s.FeedbackOut(
        id=fb.id,
        user_id=fb.user_id,
        target=fb.target,
        episode_id=fb.episode_id,
        render_id=fb.render_id,
        shot_id=fb.shot_id,
        take_id=fb.take_pk,
        rating=fb.rating,
        tags=list(fb.tags),
        comment=fb.comment,
        t_start=fb.t_start,
        t_end=fb.t_end,
        regions=[s.RegionOut.model_validate(r) for r in fb.regions],
        created_at=fb.created_at,
    )


@router.post(
    "/feedback",
    response_model=s.FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    tags=["feedback"],
    responses={200: {"description": "replayed: the note this Idempotency-Key stored before"}},
)
def post_feedback(body: s.FeedbackIn, response: Response, app: State, who: Rater, key: IdemKey = None) -> Any:
    """Rate, tag, comment on, or mark regions of an episode, a shot of a render, or a take."""
    req = request_hash({"user": who.user_id, **body.model_dump()})

    def work(ss: Session):  # noqa: ANN202
        target = feedback.resolve_target(
            ss,
            episode_id=body.episode_id,
            render_id=body.render_id,
            shot_id=body.shot_id,
            take_id=body.take_id,
        )
        fb, created = feedback.add_feedback(
            ss,
            user_id=who.user_id,
            target=target,
            rating=body.rating,
            tags=body.tags,
            comment=body.comment,
            t_start=body.t_start,
            t_end=body.t_end,
            regions=[feedback.Region(**r.model_dump()) for r in body.regions],
            idempotency_key=key,
            req_hash=req,
        )
        return _feedback_out(fb), created

    out, created = app.db.write(work)
    _written(response, created)
    if created:
        from flows.deploy import emit_feedback_event

        emit_feedback_event(out.id)  # counts toward the retraining trigger when a Prefect server is configured
    return out


@router.get("/feedback", response_model=s.Page[s.FeedbackOut], tags=["feedback"])
def list_feedback(
    app: State,
    who: Reader,
    episode_id: Annotated[int | None, Query(ge=1)] = None,
    render_id: Annotated[int | None, Query(ge=1)] = None,
    shot_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return app.db.read(
        lambda ss: _page(
            feedback.list_feedback(
                ss, episode_id=episode_id, render_id=render_id, shot_id=shot_id, limit=limit, offset=offset
            ),
            _feedback_out,
        )
    )


@router.post(
    "/decisions",
    response_model=s.DecisionOut,
    status_code=status.HTTP_201_CREATED,
    tags=["feedback"],
    responses={200: {"description": "replayed"}},
)
def post_decision(body: s.DecisionIn, response: Response, app: State, who: Rater, key: IdemKey = None) -> Any:
    """Approve a take, or request a retake of a shot (queues and starts a render with its next take)."""
    req = request_hash({"user": who.user_id, **body.model_dump()})
    if body.kind == "retake":
        if Perm.render not in ROLE_PERMISSIONS[who.role]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {who.role!r} cannot request renders")
        _require_renderer(app)

    def work(ss: Session):  # noqa: ANN202
        if body.kind == "approve":
            decision, created = feedback.approve_take(
                ss,
                user_id=who.user_id,
                take_id=body.take_id,
                note=body.note,
                idempotency_key=key,
                req_hash=req,
            )
        else:
            decision, created = feedback.request_retake(
                ss,
                user_id=who.user_id,
                render_id=body.render_id,
                shot_id=body.shot_id,
                renders_root=app.renders_dir,
                backend=app.backend,
                note=body.note,
                idempotency_key=key,
                req_hash=req,
            )
        return s.DecisionOut.model_validate(decision), created

    out, created = app.db.write(work)
    if created and out.retake_render_id is not None:
        app.jobs.submit(out.retake_render_id)
    _written(response, created)
    return out


@router.get("/decisions", response_model=s.Page[s.DecisionOut], tags=["feedback"])
def list_decisions(
    app: State,
    who: Reader,
    episode_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return app.db.read(
        lambda ss: _page(
            feedback.list_decisions(ss, episode_id=episode_id, limit=limit, offset=offset),
            s.DecisionOut.model_validate,
        )
    )


# ------------------------------------------------------------------------------------------------ metrics


def _validate_records(raw: list[dict[str, Any]]) -> list[metrics.MetricRecord]:
    from pydantic import ValidationError

    records, errors = [], []
    for i, item in enumerate(raw):
        try:
            records.append(metrics.MetricRecord.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ["body", "records", i, *err["loc"]]
                errors.append(
                    {"loc": loc, "field": ".".join(map(str, loc)), "msg": err["msg"], "type": err["type"]}
                )
    if errors:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=errors)
    return records


def _ingest(app: AppState, who: Principal, records: list[metrics.MetricRecord], key: str | None) -> dict:
    rows = app.db.write(
        lambda ss: [r.id for r in metrics.ingest(ss, records, user_id=who.user_id, idempotency_key=key)]
    )
    return {"stored": len(rows), "ids": rows}


@router.post("/metrics", response_model=s.IngestOut, tags=["metrics"])
def post_metrics(body: s.MetricsIn, app: State, who: Ingester, key: IdemKey = None) -> dict:
    """Viewer metrics as JSON records (see ``MetricRecord``): one row per episode, source and day (re-posting
    the same day replaces it)."""
    return _ingest(app, who, _validate_records(body.records), key)


@router.post(
    "/metrics/import",
    response_model=s.IngestOut,
    tags=["metrics"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_metrics(
    request: Request,
    who: Ingester,
    format: Annotated[Literal["csv", "jsonl"], Query(description="csv or jsonl")] = "csv",
    key: IdemKey = None,
) -> dict:
    """Viewer metrics as a CSV or JSONL document in the request body (a bad row → 422 naming its line)."""
    app: AppState = request.app.state.reelwright
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="the body is not UTF-8 text"
        ) from None
    records = await run_in_threadpool(metrics.parse_records, text, format, source_name=f"upload.{format}")
    return await run_in_threadpool(_ingest, app, who, records, key)


@router.get("/episodes/{episode_id}/metrics", response_model=s.Page[s.MetricsOut], tags=["metrics"])
def episode_metrics(episode_id: int, app: State, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict:
    return app.db.read(
        lambda ss: _page(
            metrics.list_metrics(ss, episode_id, limit=limit, offset=offset), s.MetricsOut.model_validate
        )
    )


# --------------------------------------------------------------------------------------------- model loop


@router.get("/models", response_model=s.Page[s.ModelVersionOut], tags=["models"])
def list_models(
    app: State,
    who: Reader,
    status_: Annotated[Literal["candidate", "promoted", "rejected"] | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return app.db.read(
        lambda ss: _page(
            registry.list_model_versions(ss, status=status_, limit=limit, offset=offset),
            s.ModelVersionOut.model_validate,
        )
    )


@router.post(
    "/models", response_model=s.ModelVersionOut, status_code=status.HTTP_201_CREATED, tags=["models"]
)
def register_model(body: s.ModelVersionIn, response: Response, app: State, who: ModelKeeper) -> Any:
    """Register a checkpoint as a candidate (the same checkpoint hash returns the existing version, 200)."""

    def work(ss: Session):  # noqa: ANN202
        row, created = registry.register_model_version(ss, **body.model_dump())
        return s.ModelVersionOut.model_validate(row), created

    out, created = app.db.write(work)
    _written(response, created)
    return out


@router.post("/models/{model_id}/status", response_model=s.ModelVersionOut, tags=["models"])
def set_model_status(model_id: int, body: s.ModelStatusIn, app: State, who: ModelKeeper) -> Any:
    """Promote (demoting the current one), reject, or return to candidate."""
    return app.db.write(
        lambda ss: s.ModelVersionOut.model_validate(
            registry.set_model_status(ss, model_id, body.status, notes=body.notes)
        )
    )


@router.get("/datasets", response_model=s.Page[s.DatasetOut], tags=["models"])
def list_datasets(app: State, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict:
    return app.db.read(
        lambda ss: _page(registry.list_datasets(ss, limit=limit, offset=offset), s.DatasetOut.model_validate)
    )


@router.post("/datasets", response_model=s.DatasetOut, status_code=status.HTTP_201_CREATED, tags=["models"])
def register_dataset(
    body: s.DatasetIn, response: Response, app: State, who: ModelKeeper, key: IdemKey = None
) -> Any:
    """Record a dataset manifest with the DB state marker of now (the same manifest hash returns it, 200)."""

    def work(ss: Session):  # noqa: ANN202
        row, created = registry.register_dataset(
            ss, **body.model_dump(), created_by=who.user_id, idempotency_key=key
        )
        return s.DatasetOut.model_validate(row), created

    out, created = app.db.write(work)
    _written(response, created)
    return out


@router.get("/training-runs", response_model=s.Page[s.TrainingRunOut], tags=["models"])
def list_training_runs(app: State, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict:
    return app.db.read(
        lambda ss: _page(
            registry.list_training_runs(ss, limit=limit, offset=offset), s.TrainingRunOut.model_validate
        )
    )


# -------------------------------------------------------------------------------------------------- users


@router.get("/users", response_model=list[s.UserOut], tags=["users"])
def list_users(app: State, who: Admin) -> list:
    return app.db.read(lambda ss: [s.UserOut.model_validate(u) for u in users.list_users(ss)])


@router.post("/users", response_model=s.NewUserOut, status_code=status.HTTP_201_CREATED, tags=["users"])
def add_user(body: s.UserIn, app: State, who: Admin) -> Any:
    """Create a user; the response carries their token, shown this once."""

    def work(ss: Session) -> s.NewUserOut:
        user, token = users.create_user(ss, body.name, body.role, label=f"issued by {who.name}")
        return s.NewUserOut(user=s.UserOut.model_validate(user), token=token)

    return app.db.write(work)
