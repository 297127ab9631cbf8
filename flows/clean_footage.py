"""clean_footage: remove watermarks, logos and burned-in subtitles from a folder of clips.

The flow only composes: each clip is one task run of :func:`tasks.cleanup.clean.clean_video`; a clip that fails
(not a video, truncated, a bad mask) fails alone and the batch reports it in the returned summary.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks.cleanup.clean import batch_output, clean_video, collect_inputs

TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="clean-clip", **TASK)
def clean_clip(
    input_path: str, output_path: str, watermark: str | None, subtitles: str | None, report: bool,
    passes: str = "1",
) -> dict:
    report_path = Path(output_path).with_suffix(".report.json") if report else None
    return clean_video(
        input_path, output_path, watermark=watermark, subtitles=subtitles, report_path=report_path, passes=passes
    ).as_dict()


@flow(name="clean_footage", validate_parameters=True)
def clean_footage(
    folder_or_files: str | list[str],
    out_dir: str,
    watermark: str | None = "auto",
    subtitles: str | None = "auto",
    report: bool = True,
    passes: str = "1",
) -> dict:
    """Clean every clip; return ``{"done": [...results], "failed": [{"input", "error"}]}``."""
    done: list[dict] = []
    failed: list[dict] = []
    for path in collect_inputs(folder_or_files):
        state = clean_clip(
            str(path), str(batch_output(path, out_dir)), watermark, subtitles, report, passes, return_state=True
        )
        if state.is_completed():
            done.append(state.result())
        else:
            failed.append({"input": str(path), "error": _error_text(state)})
    return {"done": done, "failed": failed}


def _error_text(state) -> str:  # noqa: ANN001 - a Prefect State
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the failure is the report
        return str(exc)
    return state.message or "failed"
