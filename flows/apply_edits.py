"""apply_edits: run one edit list over a folder of clips (or a list of files).

The flow only composes: each clip is one task run of :func:`tasks.edits.apply.apply_edits`; a clip that fails
fails alone and the batch reports it in the returned summary. The edit list is parsed once up front, so a bad
list fails the whole batch immediately with its line number.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.clean_footage import _error_text
from schemas.edits import load_edits
from tasks.cleanup.clean import batch_output, collect_inputs
from tasks.edits.apply import apply_edits as apply_edits_to_clip

TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="edit-clip", **TASK)
def edit_clip(input_path: str, edits_path: str, output_path: str) -> dict:
    return apply_edits_to_clip(input_path, edits_path, output_path).as_dict()


@flow(name="apply_edits", validate_parameters=True)
def apply_edits(folder_or_files: str | list[str], edits: str, out_dir: str) -> dict:
    """Apply ``edits`` to every clip; return ``{"done": [...results], "failed": [{"input", "error"}]}``."""
    load_edits(edits)  # fail fast, with the line number, before any clip is touched
    done: list[dict] = []
    failed: list[dict] = []
    for path in collect_inputs(folder_or_files):
        state = edit_clip(str(path), edits, str(batch_output(path, out_dir, ".edited")), return_state=True)
        if state.is_completed():
            done.append(state.result())
        else:
            failed.append({"input": str(path), "error": _error_text(state)})
    return {"done": done, "failed": failed}
