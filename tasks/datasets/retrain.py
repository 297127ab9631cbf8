"""The steps of the retraining loop as plain functions (``flows.retrain_from_feedback`` wraps each in a task).

Each function that touches the database opens its own engine and one short transaction (it is the boundary of
its step), so the flow body never holds a session across fine-tuning. Torch work lives in ``model_core``; the
functions here only choose what to run and record what happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from schemas.errors import ReelwrightError
from storage.db import make_engine, migrate, reelwright_home, session_scope
from storage.models import Dataset, Feedback, ModelVersion, TrainingRun


class RetrainError(ReelwrightError):
    """The retraining loop cannot run with these inputs (no base checkpoint, a bad parameter)."""


@dataclass(frozen=True, slots=True)
class BaseModel:
    """The checkpoint a run starts from and, when registered, its model version."""

    path: str
    digest: str
    model_id: int | None
    source: str  # "argument" | "promoted" | "shipped"


@dataclass(frozen=True, slots=True)
class NewFeedback:
    """Feedback rows newer than what the last successful training run's dataset was built from."""

    count: int
    after_feedback_id: int
    last_run_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _engine(db: str):  # noqa: ANN202 - Engine
    migrate(db)
    return make_engine(db)


def resolve_base(db: str, base: str | None) -> BaseModel:
    """``base`` if given, else the promoted model version's checkpoint, else the shipped tiny checkpoint.

    The directory must be a readable checkpoint (``CheckpointError`` otherwise, naming the fix)."""
    from model_core.checkpoint import DEFAULT_CHECKPOINT, CheckpointError
    from model_core.finetune import checkpoint_digest

    engine = _engine(db)
    try:
        with session_scope(engine) as session:
            promoted = None
            if base is None:
                promoted = session.scalars(
                    select(ModelVersion).where(ModelVersion.status == "promoted")
                ).first()
            path = (
                Path(base)
                if base is not None
                else Path(promoted.checkpoint_uri)
                if promoted
                else DEFAULT_CHECKPOINT
            )
            source = "argument" if base is not None else "promoted" if promoted else "shipped"
            try:
                digest = checkpoint_digest(path)
            except CheckpointError as exc:
                what = {
                    "argument": "--base",
                    "promoted": f"promoted model version {promoted.name if promoted else ''}",
                    "shipped": "the shipped checkpoint",
                }[source]
                raise CheckpointError(
                    f"{what}: {exc.message}",
                    file=exc.file,
                    hint=exc.hint or "pass --base DIR with a checkpoint directory",
                ) from None
            row = session.scalars(select(ModelVersion).where(ModelVersion.checkpoint_hash == digest)).first()
            return BaseModel(str(path.resolve()), digest, row.id if row else None, source)
    finally:
        engine.dispose()


def count_new_feedback(db: str) -> NewFeedback:
    """How many ``feedback`` rows arrived after the DB state the last succeeded training run trained on."""
    engine = _engine(db)
    try:
        with session_scope(engine) as session:
            row = session.execute(
                select(TrainingRun.id, Dataset.db_state)
                .join(Dataset, Dataset.id == TrainingRun.dataset_id)
                .where(TrainingRun.status == "succeeded")
                .order_by(TrainingRun.id.desc())
                .limit(1)
            ).first()
            after = int((row[1] or {}).get("feedback_max_id", 0)) if row else 0
            count = session.scalar(select(func.count(Feedback.id)).where(Feedback.id > after)) or 0
            return NewFeedback(int(count), after, row[0] if row else None)
    finally:
        engine.dispose()


def default_out() -> Path:
    return reelwright_home() / "models" / datetime.now(UTC).strftime("retrain-%Y%m%dT%H%M%SZ")


def register_base(db: str, base: BaseModel) -> int:
    """The model version id of ``base``, registering it (as a candidate) the first time it is used."""
    from storage.repositories.registry import register_model_version

    if base.model_id is not None:
        return base.model_id
    engine = _engine(db)
    try:
        with session_scope(engine, write=True) as session:
            row, _ = register_model_version(
                session,
                name=f"{base.source}-{base.digest[:12]}",
                checkpoint_uri=base.path,
                checkpoint_hash=base.digest,
                notes=f"registered as the base of a retraining run ({base.source})",
            )
            return row.id
    finally:
        engine.dispose()


def start_run(
    db: str, *, dataset_id: int, base_model_id: int, config: dict[str, Any], flow_run_id: str | None
) -> int:
    from storage.repositories.registry import start_training_run

    engine = _engine(db)
    try:
        with session_scope(engine, write=True) as session:
            run, _ = start_training_run(
                session,
                dataset_id=dataset_id,
                base_model_id=base_model_id,
                config=config,
                flow_run_id=flow_run_id,
            )
            return run.id
    finally:
        engine.dispose()


def finish_run(
    db: str,
    run_id: int,
    *,
    status: str,
    output_model_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    from storage.repositories.registry import finish_training_run

    engine = _engine(db)
    try:
        with session_scope(engine, write=True) as session:
            finish_training_run(
                session, run_id, status=status, output_model_id=output_model_id, metrics=metrics, error=error
            )
    finally:
        engine.dispose()


def evaluate_checkpoint(
    path: str, *, n_prompts: int, seed: int, steps: int | None, threads: int
) -> dict[str, Any]:
    """``model_core.eval.evaluate`` on held-out prompts, reduced to what the registry keeps."""
    import torch

    from model_core.eval import evaluate

    torch.set_num_threads(max(1, min(2, threads)))
    report = evaluate(path, n_prompts=n_prompts, seed=seed, steps=steps)
    return {
        "checkpoint": report["checkpoint"],
        "n_prompts": n_prompts,
        "seed": seed,
        "sampler": report["sampler"],
        "generated": report["generated"],
        "sampling_seconds": report["sampling_seconds"],
    }


def record_child(
    db: str,
    *,
    child_path: str,
    parent_id: int,
    dataset_id: int,
    parent_eval: dict[str, Any],
    child_eval: dict[str, Any],
    finetune: dict[str, Any],
) -> dict[str, Any]:
    """Register the fine-tuned checkpoint (lineage, dataset, metrics); promote it only if its held-out sync F1
    beats its parent's, else reject it. The parent's evaluation is stored on the parent when it has none yet.
    """
    from model_core.finetune import checkpoint_digest
    from storage.repositories.registry import register_model_version, set_model_status

    digest = checkpoint_digest(child_path)
    parent_f1 = float(parent_eval["generated"]["sync_f1"])
    child_f1 = float(child_eval["generated"]["sync_f1"])
    gain = (child_f1 - parent_f1) / parent_f1 if parent_f1 > 0 else (float("inf") if child_f1 > 0 else 0.0)
    metrics = {
        "sync_f1": child_f1,
        "parent_sync_f1": parent_f1,
        "relative_gain": round(gain, 4) if gain != float("inf") else None,
        "colour_adherence": child_eval["generated"]["colour_adherence"],
        "parent_colour_adherence": parent_eval["generated"]["colour_adherence"],
        "eval": child_eval,
        "parent_eval": parent_eval,
        "finetune": finetune,
    }
    beats = child_f1 > parent_f1
    engine = _engine(db)
    try:
        with session_scope(engine, write=True) as session:
            parent = session.get(ModelVersion, parent_id)
            if parent is not None and not (parent.metrics or {}).get("eval"):
                parent.metrics = {**(parent.metrics or {}), "sync_f1": parent_f1, "eval": parent_eval}
            row, created = register_model_version(
                session,
                name=f"ft-{digest[:12]}",
                checkpoint_uri=str(Path(child_path).resolve()),
                checkpoint_hash=digest,
                parent_id=parent_id,
                dataset_id=dataset_id,
                metrics=metrics,
                notes=f"fine-tuned from model {parent_id} on dataset {dataset_id}",
            )
            verdict = f"held-out sync F1 {child_f1:.4f} vs parent {parent_f1:.4f}: " + (
                "promoted" if beats else "rejected (does not beat its parent)"
            )
            set_model_status(session, row.id, "promoted" if beats else "rejected", notes=verdict)
            return {
                "model_id": row.id,
                "name": row.name,
                "created": created,
                "checkpoint_hash": digest,
                "status": "promoted" if beats else "rejected",
                "verdict": verdict,
                "metrics": metrics,
            }
    finally:
        engine.dispose()
