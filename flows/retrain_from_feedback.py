"""retrain_from_feedback: feedback DB → dataset → fine-tuned child → held-out evaluation → registry decision.

The flow only composes (the steps are plain functions in ``tasks.datasets`` and ``model_core.finetune``):

1. pick the base checkpoint (``base``, else the promoted model version, else the shipped tiny model);
2. with ``min_new_feedback``, stop early unless that many feedback rows arrived since the last training run;
3. build and register the dataset (same DB state → same manifest hash → the same dataset row);
4. record a training run; fine-tune (supervised rectified flow on positives + Diffusion-DPO on pairs);
5. evaluate parent and child on the same held-out prompts (``model_core.eval.evaluate``);
6. register the child with its lineage, dataset and metrics; promote it only if its sync F1 beats the
   parent's, else reject it; finish the training run (``failed`` with the error if any step raised).

Deployed weekly and on a feedback-count trigger by ``flows.deploy``.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.transient import retry_if_transient
from model_core.finetune import finetune as _finetune
from storage.db import database_url
from tasks.datasets import build as d
from tasks.datasets import retrain as r

TASK = {"cache_policy": NO_CACHE, "persist_result": False}
DB = {**TASK, "retries": 2, "retry_delay_seconds": 2, "retry_condition_fn": retry_if_transient}

resolve_base = task(r.resolve_base, name="resolve-base", **DB)
count_new_feedback = task(r.count_new_feedback, name="count-new-feedback", **DB)
build_dataset = task(d.build_and_register, name="build-dataset", **DB)
register_base = task(r.register_base, name="register-base", **DB)
start_run = task(r.start_run, name="start-training-run", **DB)
finetune = task(_finetune, name="finetune", **TASK)
evaluate = task(r.evaluate_checkpoint, name="evaluate", **TASK)
record_child = task(r.record_child, name="register-child", **DB)
finish_run = task(r.finish_run, name="finish-training-run", **DB)


@flow(name="retrain_from_feedback", task_runner=ThreadPoolTaskRunner(max_workers=2), validate_parameters=True)
def retrain_from_feedback(
    db: str | None = None,
    base: str | None = None,
    steps: int = 200,
    out: str | None = None,
    min_new_feedback: int = 0,
    since: str | None = None,
    eval_prompts: int = 48,
    eval_seed: int = 0,
    eval_steps: int | None = None,
    batch_size: int = 4,
    pair_batch: int = 4,
    lr: float = 2e-4,
    beta: float = 50.0,
    sft_weight: float = 1.0,
    dpo_weight: float = 1.0,
    threads: int = 1,
) -> dict:
    """Fine-tune the current model on producer feedback and keep the child only if it is better.

    Returns a summary: ``status`` (``skipped`` / ``promoted`` / ``rejected``), the dataset, the child model
    and both evaluations. ``threads`` is torch threads per step (one is fastest on a shared 2-core machine).
    """
    from prefect.runtime import flow_run

    if steps < 1 or eval_prompts < 2 or min_new_feedback < 0:
        raise r.RetrainError(
            f"steps ({steps}) must be ≥ 1, eval_prompts ({eval_prompts}) ≥ 2, "
            f"min_new_feedback ({min_new_feedback}) ≥ 0"
        )
    url = database_url(db)
    parent = resolve_base(url, base)
    if min_new_feedback > 0:
        fresh = count_new_feedback(url)
        if fresh.count < min_new_feedback:
            return {
                "status": "skipped",
                "reason": f"{fresh.count} new feedback rows since the last training run, "
                f"fewer than {min_new_feedback}",
                "new_feedback": fresh.as_dict(),
            }
    out_dir = Path(out) if out else r.default_out()
    dataset = build_dataset(url, out_dir / "dataset", since=since)
    parent_id = register_base(url, parent)
    config = {
        "base": parent.path,
        "base_source": parent.source,
        "steps": steps,
        "batch_size": batch_size,
        "pair_batch": pair_batch,
        "lr": lr,
        "beta": beta,
        "sft_weight": sft_weight,
        "dpo_weight": dpo_weight,
        "eval_prompts": eval_prompts,
        "eval_seed": eval_seed,
        "eval_steps": eval_steps,
        "dataset_hash": dataset.manifest_hash,
    }
    run_id = start_run(
        url,
        dataset_id=dataset.dataset_id,
        base_model_id=parent_id,
        config=config,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
    )
    try:
        parent_eval = evaluate.submit(
            parent.path, n_prompts=eval_prompts, seed=eval_seed, steps=eval_steps, threads=threads
        )
        tuned = finetune(
            parent.path,
            str(dataset.manifest),
            str(out_dir / "checkpoint"),
            steps=steps,
            batch_size=batch_size,
            pair_batch=pair_batch,
            lr=lr,
            beta=beta,
            sft_weight=sft_weight,
            dpo_weight=dpo_weight,
            threads=threads,
        )
        child_eval = evaluate(
            str(tuned.out_dir), n_prompts=eval_prompts, seed=eval_seed, steps=eval_steps, threads=threads
        )
        child = record_child(
            url,
            child_path=str(tuned.out_dir),
            parent_id=parent_id,
            dataset_id=dataset.dataset_id,
            parent_eval=parent_eval.result(),
            child_eval=child_eval,
            finetune=tuned.as_dict(),
        )
    except Exception as exc:
        finish_run(url, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(
        url,
        run_id,
        status="succeeded",
        output_model_id=child["model_id"],
        metrics={k: child["metrics"][k] for k in ("sync_f1", "parent_sync_f1", "relative_gain")},
    )
    return {
        "status": child["status"],
        "verdict": child["verdict"],
        "training_run_id": run_id,
        "dataset": dataset.as_dict(),
        "parent": {"model_id": parent_id, "path": parent.path, "source": parent.source},
        "child": {k: v for k, v in child.items() if k != "metrics"},
        "metrics": {k: v for k, v in child["metrics"].items() if k not in ("eval", "parent_eval")},
        "parent_eval": child["metrics"]["parent_eval"],
        "child_eval": child["metrics"]["eval"],
        "out": str(out_dir),
    }
