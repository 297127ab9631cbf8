"""HTTP inference server for the generation protocol: the ``remote`` backend's other end.

``reelwright model serve [CKPT] --port P`` runs a FastAPI app with one worker thread and a bounded queue:

* ``GET  /health`` — ``{"status": "ok", "backend", "version", "queued", "checkpoint"}``
* ``POST /v1/generate`` — body: a ``ShotRequest`` (JSON) → ``202 {"id", "status": "queued"}``; an invalid request
  is ``422`` (FastAPI's validation detail), a full queue ``503`` with ``Retry-After``.
* ``GET  /v1/jobs/{id}`` — ``{"id", "status": queued|running|done|failed, "error", "frames", "info"}``
* ``GET  /v1/jobs/{id}/result`` — ``application/zip`` with ``video.mp4`` (H.264, exactly ``frames`` frames at the
  request's size and rate), ``effects.wav`` (float32 stereo at the request's sample rate, exactly
  ``frames * sample_rate / fps`` samples) and ``info.json``; ``409`` while the job is not done, ``404`` for an
  unknown id.

The model is loaded once, at start-up; jobs run one at a time (torch uses the CPU threads the server was given).
Finished results are kept for the last ``keep`` jobs.
"""

from __future__ import annotations

import json
import logging
import queue
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from schemas.generate import ShotRequest
from tasks.generate.protocol import GenerationBackend

log = logging.getLogger("reelwright.model.serve")

RESULT_ENCODING_CRF = 16


@dataclass
class Job:
    id: str
    request: ShotRequest
    status: str = "queued"  # queued | running | done | failed
    error: str | None = None
    info: dict = field(default_factory=dict)
    result: Path | None = None
    created: float = field(default_factory=time.time)
    seconds: float | None = None

    def public(self) -> dict:
        return {"id": self.id, "status": self.status, "error": self.error, "frames": self.request.frames,
                "info": self.info, "seconds": self.seconds}  # fmt: skip


def write_result(path: Path, request: ShotRequest, generated) -> dict:  # noqa: ANN001 - GeneratedShot
    """Encode a generated shot as the result zip (video.mp4 + effects.wav + info.json); returns the info."""
    import numpy as np

    from tasks.audio.wav import write_wav
    from tasks.media.ffmpeg import FrameWriter, MediaError, VideoEncoding

    with tempfile.TemporaryDirectory(prefix="reelwright-serve-") as tmp:
        video, wav = Path(tmp) / "video.mp4", Path(tmp) / "effects.wav"
        n = 0
        with FrameWriter(video, width=request.width, height=request.height, fps=Fraction(request.fps),
                         encoding=VideoEncoding(crf=RESULT_ENCODING_CRF)) as writer:  # fmt: skip
            for frame in generated.frames:
                writer.write(np.asarray(frame, np.uint8))
                n += 1
        if n != request.frames:
            raise MediaError(f"the backend produced {n} frames for a {request.frames}-frame request")
        write_wav(wav, np.asarray(generated.effects, np.float32), request.sample_rate)
        info = {**generated.info, "frames": n}
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
            z.write(video, "video.mp4")
            z.write(wav, "effects.wav")
            z.writestr("info.json", json.dumps(info, ensure_ascii=False, indent=2))
    return info


class JobRunner:
    """A bounded queue of jobs and the single worker thread that runs them through a backend."""

    def __init__(self, backend: GenerationBackend, *, queue_size: int = 8, keep: int = 32,
                 workdir: str | Path | None = None) -> None:  # fmt: skip
        self.backend = backend
        self.keep = keep
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="reelwright-serve-"))
        self._thread = threading.Thread(target=self._work, name="reelwright-serve-worker", daemon=True)
        self._thread.start()

    def submit(self, request: ShotRequest) -> Job | None:
        """Queue a job; ``None`` when the queue is full."""
        job = Job(id=uuid.uuid4().hex, request=request)
        with self._lock:
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                return None
            self.jobs[job.id] = job
            self._forget_old()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def queued(self) -> int:
        return self._queue.qsize()

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs.values() if j.status in ("done", "failed")]
        for job in finished[: max(0, len(finished) - self.keep)]:
            self.jobs.pop(job.id, None)
            if job.result is not None:
                job.result.unlink(missing_ok=True)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            job.status = "running"
            t0 = time.perf_counter()
            try:
                generated = self.backend.generate(job.request)
                path = self.workdir / f"{job.id}.zip"
                job.info = write_result(path, job.request, generated)
                job.result = path
                job.status = "done"
            except Exception as exc:  # noqa: BLE001 - reported to the client through the job status
                log.exception("job %s failed", job.id)
                job.error = str(exc) or type(exc).__name__
                job.status = "failed"
            job.seconds = round(time.perf_counter() - t0, 3)

    def close(self) -> None:
        try:
            self._queue.put(None, timeout=1)
        except queue.Full:
            pass
        self._thread.join(timeout=30)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def create_app(backend: GenerationBackend, *, queue_size: int = 8, checkpoint: str | None = None):  # noqa: ANN201
    """The FastAPI app over ``backend`` (normally ``MMDiTBackend``); the worker starts with the app."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse, JSONResponse

    state: dict[str, JobRunner] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        state["runner"] = JobRunner(backend, queue_size=queue_size)
        try:
            yield
        finally:
            state.pop("runner").close()

    app = FastAPI(title="Reelwright inference server", version="1", lifespan=lifespan)

    def runner() -> JobRunner:
        if "runner" not in state:
            raise HTTPException(503, "the server is starting or stopping")
        return state["runner"]

    version_cache: dict[str, str] = {}

    @app.get("/health")
    def health() -> dict:
        if "v" not in version_cache:
            version_cache["v"] = backend.version()
        return {"status": "ok", "backend": backend.name, "version": version_cache["v"], "queued": runner().queued(),
                "checkpoint": checkpoint}  # fmt: skip

    @app.post("/v1/generate", status_code=202)
    def generate(request: ShotRequest) -> JSONResponse:
        if request.frames < 1 or request.fps < 1 or request.width < 16 or request.height < 16:
            raise HTTPException(422, "frames and fps must be positive and the frame at least 16x16")
        if request.sample_rate % request.fps:
            raise HTTPException(422, f"{request.sample_rate} Hz audio does not divide into {request.fps} fps frames")
        job = runner().submit(request)
        if job is None:
            return JSONResponse({"detail": "the queue is full"}, status_code=503, headers={"Retry-After": "2"})
        return JSONResponse({"id": job.id, "status": job.status}, status_code=202)

    @app.get("/v1/jobs/{job_id}")
    def status(job_id: str) -> dict:
        job = runner().get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job.public()

    @app.get("/v1/jobs/{job_id}/result")
    def result(job_id: str) -> FileResponse:
        job = runner().get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        if job.status == "failed":
            raise HTTPException(500, f"job {job_id} failed: {job.error}")
        if job.status != "done" or job.result is None:
            raise HTTPException(409, f"job {job_id} is {job.status}")
        return FileResponse(job.result, media_type="application/zip", filename=f"{job_id}.zip")

    return app


def serve(ckpt: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8765, queue_size: int = 8,
          threads: int = 2) -> None:  # fmt: skip
    """Load the checkpoint and serve until interrupted."""
    import torch
    import uvicorn

    from tasks.generate.mmdit import MMDiTBackend

    torch.set_num_threads(max(1, threads))
    backend = MMDiTBackend(ckpt)
    loaded = backend.loaded  # load now: a bad checkpoint fails before the port opens
    log.info("serving %s (step %s) on http://%s:%d", loaded.path, loaded.meta.get("step"), host, port)
    uvicorn.run(create_app(backend, queue_size=queue_size, checkpoint=str(loaded.path)), host=host, port=port,
                log_level="warning")  # fmt: skip
