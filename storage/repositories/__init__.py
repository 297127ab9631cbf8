"""Repositories for the feedback side of the database (run records live in :mod:`storage.repository`).

Each module's functions take an open Session (sessions at the boundary) and flush, never commit:

* :mod:`.common` — errors (``NotFound``, ``InvalidInput``, ``IdempotencyConflict``), idempotent inserts,
  pages.
* :mod:`.users` — users, API tokens (shown once, stored hashed), authentication.
* :mod:`.catalog` — series → episodes → renders → shots/takes for the dashboard; queueing renders and retakes.
* :mod:`.feedback` — ratings, tags, comments, time ranges, regions; decisions; the tag taxonomy.
* :mod:`.metrics` — viewer metrics from the API, CSV or JSONL.
* :mod:`.registry` — datasets, model versions, training runs.
"""
