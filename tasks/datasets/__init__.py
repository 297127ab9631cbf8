"""Datasets from producer feedback, and the steps of the retraining loop.

* :mod:`.manifest` — the manifest format (JSONL, one record per take or preference pair), its hash, the
  latents sidecar convention for toy-world takes, and reading a manifest back.
* :mod:`.build` — from the feedback DB to a dataset directory (manifest + region masks + optional media
  copies), registered with ``storage.repositories.registry.register_dataset``.
* :mod:`.retrain` — the plain functions the ``retrain_from_feedback`` flow composes: pick the base model,
  count new feedback, fine-tune, evaluate, register and promote or reject the child, record the training run.
"""
