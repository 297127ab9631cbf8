"""The model loop's records: datasets built from feedback, model versions, and the training runs between them.

The retraining flow (``flows.retrain_from_feedback``) writes these; the dashboard reads them and lets an admin
promote or reject a candidate. :func:`db_state` is the "parent DB state" marker a dataset records, so the
exact feedback it was built from can be told apart from what came later.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    MODEL_STATUSES,
    TRAINING_STATUSES,
    Dataset,
    Decision,
    Feedback,
    ModelVersion,
    TrainingRun,
    ViewerMetrics,
    utcnow,
)
from storage.repositories.common import InvalidInput, Page, get_or_404, insert_once, paginate


def db_state(session: Session) -> dict[str, Any]:
    """A marker of the feedback the database holds now: the highest id and row count of each feedback table,
    and the schema revision. Rows are append-only (ids only grow), so the marker names a prefix of history."""
    state: dict[str, Any] = {}
    for name, model in (("feedback", Feedback), ("decisions", Decision), ("viewer_metrics", ViewerMetrics)):
        max_id, count = session.execute(select(func.max(model.id), func.count(model.id))).one()
        state[f"{name}_max_id"] = max_id or 0
        state[f"{name}_count"] = count
    try:
        state["revision"] = session.execute(select(func.max(_alembic_version()))).scalar()
    except Exception:  # noqa: BLE001 - a database created without Alembic has no version table
        state["revision"] = None
    return state


def _alembic_version():  # noqa: ANN202 - a column expression
    from sqlalchemy import column, table

    return table("alembic_version", column("version_num")).c.version_num


def state_hash(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def register_dataset(
    session: Session,
    *,
    name: str,
    manifest_uri: str,
    manifest_hash: str,
    items: int,
    filters: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    created_by: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Dataset, bool]:
    """Record a dataset; the same manifest hash returns the existing row (a dataset is its manifest)."""
    existing = session.scalars(select(Dataset).where(Dataset.manifest_hash == manifest_hash)).first()
    if existing is not None:
        return existing, False
    state = state if state is not None else db_state(session)
    return insert_once(
        session,
        Dataset,
        key=idempotency_key,
        req_hash=None,
        build=lambda: Dataset(
            name=name,
            manifest_uri=manifest_uri,
            manifest_hash=manifest_hash,
            items=items,
            filters=filters,
            db_state=state,
            db_state_hash=state_hash(state),
            created_by_id=created_by,
        ),
    )


def register_model_version(
    session: Session,
    *,
    name: str,
    checkpoint_uri: str,
    checkpoint_hash: str,
    parent_id: int | None = None,
    dataset_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    notes: str | None = None,
) -> tuple[ModelVersion, bool]:
    """Register a checkpoint as a ``candidate``; the same checkpoint hash returns the existing version."""
    existing = session.scalars(
        select(ModelVersion).where(ModelVersion.checkpoint_hash == checkpoint_hash)
    ).first()
    if existing is not None:
        return existing, False
    if parent_id is not None:
        get_or_404(session, ModelVersion, parent_id, what="model version")
    if dataset_id is not None:
        get_or_404(session, Dataset, dataset_id)
    row = ModelVersion(
        name=name,
        checkpoint_uri=checkpoint_uri,
        checkpoint_hash=checkpoint_hash,
        parent_id=parent_id,
        dataset_id=dataset_id,
        metrics=metrics or {},
        status="candidate",
        notes=notes,
    )
    session.add(row)
    session.flush()
    return row, True


def set_model_status(
    session: Session, model_id: int, status: str, *, notes: str | None = None
) -> ModelVersion:
    """Promote, reject or return a version to candidate. Promoting demotes the current promoted one."""
    if status not in MODEL_STATUSES:
        raise InvalidInput(
            f"status {status!r} is not one of {', '.join(MODEL_STATUSES)}", field="body.status"
        )
    model = get_or_404(session, ModelVersion, model_id, what="model version")
    now = utcnow()
    if status == "promoted":
        for current in session.scalars(
            select(ModelVersion).where(ModelVersion.status == "promoted", ModelVersion.id != model.id)
        ):
            current.status, current.decided_at = "candidate", now
        session.flush()  # the partial unique index allows one promoted row at a time
    model.status, model.decided_at = status, now
    if notes is not None:
        model.notes = notes
    session.flush()
    return model


def list_model_versions(
    session: Session, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> Page[ModelVersion]:
    stmt = select(ModelVersion).order_by(ModelVersion.id.desc())
    if status is not None:
        stmt = stmt.where(ModelVersion.status == status)
    return paginate(session, stmt, limit=limit, offset=offset)


def list_datasets(session: Session, *, limit: int = 50, offset: int = 0) -> Page[Dataset]:
    return paginate(session, select(Dataset).order_by(Dataset.id.desc()), limit=limit, offset=offset)


def start_training_run(
    session: Session,
    *,
    dataset_id: int,
    base_model_id: int | None = None,
    config: dict[str, Any] | None = None,
    flow_run_id: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[TrainingRun, bool]:
    get_or_404(session, Dataset, dataset_id)
    if base_model_id is not None:
        get_or_404(session, ModelVersion, base_model_id, what="model version")
    return insert_once(
        session,
        TrainingRun,
        key=idempotency_key,
        req_hash=None,
        build=lambda: TrainingRun(
            dataset_id=dataset_id,
            base_model_id=base_model_id,
            config=config or {},
            flow_run_id=flow_run_id,
            status="running",
            started_at=utcnow(),
        ),
    )


def finish_training_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    output_model_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
) -> TrainingRun:
    if status not in TRAINING_STATUSES or status in ("queued", "running"):
        raise InvalidInput(f"a finished training run is succeeded or failed, not {status!r}", field="status")
    run = get_or_404(session, TrainingRun, run_id, what="training run")
    run.status, run.finished_at = status, utcnow()
    if output_model_id is not None:
        get_or_404(session, ModelVersion, output_model_id, what="model version")
        run.output_model_id = output_model_id
    if metrics is not None:
        run.metrics = metrics
    if error is not None:
        run.error = error
    session.flush()
    return run


def list_training_runs(session: Session, *, limit: int = 50, offset: int = 0) -> Page[TrainingRun]:
    return paginate(session, select(TrainingRun).order_by(TrainingRun.id.desc()), limit=limit, offset=offset)
