"""The ``remote`` generation backend: a client of ``reelwright model serve`` (see ``model_core.serve``).

``generate`` submits the shot request, polls the job until it is done (or failed, or too slow) and fetches the
result zip: ``video.mp4`` is decoded into exactly ``request.frames`` RGB frames, ``effects.wav`` into
``(samples, 2) float32``. Every failure is a :class:`RemoteBackendError` that says which server, which step and
what to do; a connection error or a full queue is retried until ``submit_timeout``.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError
from schemas.generate import ShotRequest
from tasks.generate.protocol import GeneratedShot


class RemoteBackendError(ReelwrightError):
    """The inference server could not be reached, refused the request or returned something unusable."""


class RemoteBackend:
    """``GenerationBackend`` that renders shots on an inference server at ``base_url``."""

    name = "remote"

    def __init__(self, base_url: str, *, request_timeout: float = 30.0, job_timeout: float = 900.0,
                 submit_timeout: float = 60.0, poll_interval: float = 0.25) -> None:  # fmt: skip
        if not base_url.startswith(("http://", "https://")):
            raise RemoteBackendError(f"server URL {base_url!r} has no http:// or https:// scheme", field="backend",
                                     hint="e.g. http://127.0.0.1:8765")  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.request_timeout = request_timeout
        self.job_timeout = job_timeout
        self.submit_timeout = submit_timeout
        self.poll_interval = poll_interval
        self._version: str | None = None

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, **kwargs):  # noqa: ANN003, ANN202 - httpx.Response
        import httpx

        url = f"{self.base_url}{path}"
        try:
            return httpx.request(method, url, timeout=self.request_timeout, **kwargs)
        except httpx.TimeoutException:
            raise RemoteBackendError(f"{what}: {url} did not answer within {self.request_timeout:.0f} s",
                                     hint="is the server overloaded? raise request_timeout or check its log") from None
        except httpx.TransportError as exc:
            raise RemoteBackendError(f"{what}: cannot reach {url} ({type(exc).__name__}: {exc})",
                                     hint="start one with `reelwright model serve --port PORT` or fix the URL") from None

    @staticmethod
    def _detail(response) -> str:  # noqa: ANN001
        try:
            detail = response.json().get("detail", response.text)
        except (ValueError, AttributeError):
            detail = response.text
        return detail if isinstance(detail, str) else json.dumps(detail)[:800]

    def health(self) -> dict:
        r = self._call("GET", "/health", what="health check")
        if r.status_code != 200:
            raise RemoteBackendError(f"health check of {self.base_url} answered {r.status_code}: {self._detail(r)}")
        return r.json()

    def version(self) -> str:
        if self._version is None:
            h = self.health()
            self._version = f"remote-{h.get('backend', '?')}-{h.get('version', '?')}"
        return self._version

    # -- the protocol --------------------------------------------------------------------------------------------

    def submit(self, request: ShotRequest) -> str:
        deadline = time.monotonic() + self.submit_timeout
        while True:
            try:
                r = self._call("POST", "/v1/generate", what="submit", json=request.model_dump(mode="json"))
            except RemoteBackendError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)
                continue
            if r.status_code == 202:
                return r.json()["id"]
            if r.status_code == 422:
                raise RemoteBackendError(f"the server rejected shot {request.shot.id}: {self._detail(r)}",
                                         field="request", hint="fix the shot request (see the detail above)")  # fmt: skip
            if r.status_code == 503 and time.monotonic() < deadline:
                time.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            raise RemoteBackendError(f"submitting shot {request.shot.id} to {self.base_url} failed with "
                                     f"{r.status_code}: {self._detail(r)}")  # fmt: skip

    def wait(self, job_id: str) -> dict:
        deadline = time.monotonic() + self.job_timeout
        while True:
            r = self._call("GET", f"/v1/jobs/{job_id}", what="job status")
            if r.status_code != 200:
                raise RemoteBackendError(f"status of job {job_id} answered {r.status_code}: {self._detail(r)}")
            status = r.json()
            if status["status"] == "done":
                return status
            if status["status"] == "failed":
                raise RemoteBackendError(f"the server failed job {job_id}: {status.get('error')}",
                                         hint="see the server log for the traceback")  # fmt: skip
            if time.monotonic() > deadline:
                raise RemoteBackendError(f"job {job_id} was still {status['status']} after {self.job_timeout:.0f} s",
                                         hint="raise job_timeout or give the server more capacity")  # fmt: skip
            time.sleep(self.poll_interval)

    def fetch(self, job_id: str) -> bytes:
        r = self._call("GET", f"/v1/jobs/{job_id}/result", what="fetch result")
        if r.status_code != 200:
            raise RemoteBackendError(f"result of job {job_id} answered {r.status_code}: {self._detail(r)}")
        return r.content

    def generate(self, request: ShotRequest) -> GeneratedShot:
        job_id = self.submit(request)
        self.wait(job_id)
        return unpack_result(self.fetch(job_id), request, source=f"{self.base_url} job {job_id}")


def unpack_result(blob: bytes, request: ShotRequest, *, source: str = "result") -> GeneratedShot:
    """The server's result zip → a ``GeneratedShot`` with exactly ``request.frames`` frames, checked."""
    import av

    from tasks.audio.wav import read_wav

    try:
        z = zipfile.ZipFile(io.BytesIO(blob))
        names = set(z.namelist())
        if not {"video.mp4", "effects.wav", "info.json"} <= names:
            raise RemoteBackendError(f"{source}: the result zip holds {sorted(names)}, "
                                     "expected video.mp4, effects.wav and info.json")  # fmt: skip
        info = json.loads(z.read("info.json"))
        video_bytes = z.read("video.mp4")
        wav_bytes = z.read("effects.wav")
    except zipfile.BadZipFile:
        raise RemoteBackendError(f"{source}: the result is not a zip file") from None

    frames = []
    try:
        with av.open(io.BytesIO(video_bytes)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise RemoteBackendError(f"{source}: video.mp4 cannot be decoded ({exc})") from None
    if len(frames) != request.frames:
        raise RemoteBackendError(f"{source}: video.mp4 has {len(frames)} frames, the request asked for {request.frames}")
    if frames and frames[0].shape != (request.height, request.width, 3):
        raise RemoteBackendError(f"{source}: frames are {frames[0].shape[1]}x{frames[0].shape[0]}, "
                                 f"the request asked for {request.width}x{request.height}")  # fmt: skip

    import tempfile

    with tempfile.TemporaryDirectory(prefix="reelwright-remote-") as tmp:
        wav = Path(tmp) / "effects.wav"
        wav.write_bytes(wav_bytes)
        effects, rate = read_wav(wav)
    expected = request.frames * (request.sample_rate // request.fps)
    effects = np.asarray(effects, np.float32).reshape(len(effects), -1)
    if rate != request.sample_rate or effects.shape != (expected, 2):
        raise RemoteBackendError(f"{source}: effects.wav is {effects.shape} at {rate} Hz, expected "
                                 f"({expected}, 2) at {request.sample_rate} Hz")  # fmt: skip
    return GeneratedShot(frames=frames, effects=effects, info={**info, "remote": source})
