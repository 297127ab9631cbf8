from __future__ import annotations

import pytest
import torch
from sqlalchemy import select
from typer.testing import CliRunner

from model_core.checkpoint import save_checkpoint
from model_core.config import preset
from model_core.finetune import checkpoint_digest
from model_core.model import DualStreamMMDiT
from storage.db import make_engine, migrate, session_scope
from storage.models import Dataset, ModelVersion, TrainingRun
from storage.repositories.feedback import add_feedback, resolve_target
from tasks.datasets.retrain import count_new_feedback
from tests.tasks.datasets.seed import seed_db

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def base_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("base")
    save_checkpoint(path, DualStreamMMDiT(preset("tiny")), step=1, sampling={"steps": 1}, raw=False)
    return path


def _rows(url: str):
    engine = make_engine(url)
    with session_scope(engine) as s:
        models = list(s.scalars(select(ModelVersion).order_by(ModelVersion.id)))
        runs = list(s.scalars(select(TrainingRun).order_by(TrainingRun.id)))
        datasets = list(s.scalars(select(Dataset).order_by(Dataset.id)))
    engine.dispose()
    return models, runs, datasets


def test_tiny_retrain_registers_child_with_lineage(prefect_harness, base_ckpt, tmp_path):
    from flows.retrain_from_feedback import retrain_from_feedback

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seeded = seed_db(url, tmp_path / "media")
    summary = retrain_from_feedback(
        db=url,
        base=str(base_ckpt),
        steps=2,
        out=str(tmp_path / "run"),
        eval_prompts=2,
        eval_steps=1,
        batch_size=2,
        pair_batch=2,
    )
    models, runs, datasets = _rows(url)
    parent, child = models
    (dataset,) = datasets
    (run,) = runs
    assert parent.checkpoint_hash == checkpoint_digest(base_ckpt) and parent.parent_id is None
    assert child.parent_id == parent.id and child.dataset_id == dataset.id
    assert child.checkpoint_hash == checkpoint_digest(tmp_path / "run" / "checkpoint")
    assert dataset.manifest_hash == summary["dataset"]["manifest_hash"]
    beats = child.metrics["sync_f1"] > child.metrics["parent_sync_f1"]
    assert child.status == ("promoted" if beats else "rejected") == summary["status"]
    assert run.status == "succeeded" and run.output_model_id == child.id and run.base_model_id == parent.id
    assert (
        run.config["dataset_hash"] == dataset.manifest_hash
        and run.metrics["sync_f1"] == child.metrics["sync_f1"]
    )
    assert parent.metrics["eval"]["n_prompts"] == 2  # the parent's evaluation is kept on the parent
    # the training run consumed the feedback: nothing new until someone rates again
    assert count_new_feedback(url).count == 0
    engine = make_engine(url)
    with session_scope(engine, write=True) as s:
        take = seeded.takes[("toy-00", 2)]
        add_feedback(s, user_id=seeded.user_id, target=resolve_target(s, take_id=take), rating=4)
    engine.dispose()
    fresh = count_new_feedback(url)
    assert fresh.count == 1 and fresh.last_run_id == run.id
    skipped = retrain_from_feedback(
        db=url,
        base=str(base_ckpt),
        steps=2,
        out=str(tmp_path / "run2"),
        min_new_feedback=2,
        eval_prompts=2,
        eval_steps=1,
    )
    assert skipped["status"] == "skipped" and "1 new feedback rows" in skipped["reason"]
    assert len(_rows(url)[1]) == 1


def _cli(args: list[str]):
    from flows.cli import app

    return CliRunner().invoke(app, args)


def test_cli_if_new_feedback_skips_without_training(base_ckpt, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_db(url, tmp_path / "media")
    result = _cli(["retrain", "--db", url, "--base", str(base_ckpt), "--if-new-feedback", "6"])
    assert result.exit_code == 0, result.output
    assert (
        "skipped: 5 new feedback rows since the start (no training run yet), fewer than --if-new-feedback 6"
        in (result.output)
    )
    assert _rows(url) == ([], [], [])


def test_cli_bad_inputs_are_clear_errors(base_ckpt, tmp_path):
    from flows.cli import main

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    assert main(["dataset", "build", "--db", url, "--out", str(tmp_path / "ds")]) == 1
    assert main(["retrain", "--db", url, "--base", str(tmp_path / "nope")]) == 1
    empty = _cli(["dataset", "build", "--db", url, "--out", str(tmp_path / "ds")])
    assert "no feedback yet" in str(empty.exception)
    missing = _cli(["retrain", "--db", url, "--base", str(tmp_path / "nope")])
    assert "--base" in str(missing.exception) and "does not exist" in str(missing.exception)
    # a base that exists but the DB has no feedback: the flow's dataset step says so
    nothing = _cli(["retrain", "--db", url, "--base", str(base_ckpt), "--if-new-feedback", "1"])
    assert nothing.exit_code == 0 and "skipped: 0 new feedback rows" in nothing.output


def test_cli_dataset_build_prints_the_registered_dataset(tmp_path):
    import json

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_db(url, tmp_path / "media")
    result = _cli(["dataset", "build", "--db", url, "--out", str(tmp_path / "ds"), "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"]["pairs"] == 6 and data["dataset_id"] == 1 and len(data["manifest_hash"]) == 64
