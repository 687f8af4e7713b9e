"""The HTTP load generator: keep-alive connections driven from their own process.

Each connection is a bare asyncio protocol that writes prebuilt HTTP/1.1
requests and reads responses by ``Content-Length``, so one process costs a
few microseconds per request and stays far below the server it measures
(its own CPU share is reported next to the server's).  A request is timed
from the write to the last byte of its response; only requests that start
inside the measured window count.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bench.servers import ProcessStats

__all__ = ["HttpJob", "HttpResult", "build_request", "run_http_job"]

Kind = Literal["get", "post", "completions", "runs"]
COMPLETIONS = (
    "WelcomeCompleted", "TermsCompleted", "DeviceCompleted",
    "NotificationsCompleted", "FinishCompleted",
)
DEVICE = b'{"field1":"bench","field2":true}'
# The terms step ends only with the acceptance in the completion's data.
COMPLETION_DATA = {"TermsCompleted": '{"accepted":true}'}


@dataclass(frozen=True)
class HttpJob:
    """What to send, where, with how many connections, for how long."""

    kind: Kind
    port: int
    server_pid: int
    connections: int
    duration: float
    warmup: float = 0.0
    record_id: str = ""
    run_ids: tuple[str, ...] = ()


@dataclass
class HttpResult:
    """What one job measured; latencies in seconds, sorted."""

    requests: int = 0
    elapsed: float = 0.0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    runs_finished: int = 0
    exhausted: bool = False


def build_request(method: str, path: str, port: int, body: bytes = b"") -> bytes:
    """Return one HTTP/1.1 keep-alive request as bytes."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if method != "GET":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def _completion(topic: str) -> bytes:
    data = COMPLETION_DATA.get(topic)
    extra = f',"data":{data}' if data else ""
    return f'{{"topic":"{topic}","status":"completed"{extra}}}'.encode()


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        if start < 0:
            raise RuntimeError(f"response without content-length: {head[:200]!r}")
        stop = head.find(b"\r\n", start)
        length = int(head[start + 15 : stop if stop >= 0 else None])
        total = end + 4 + length
        if len(self.buffer) >= total:
            status, body = int(self.buffer[9:12]), bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            waiter, self.waiter = self.waiter, None
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"server closed the connection: {exc}"))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


class _Recorder:
    """Counts and times requests that start inside the measured window."""

    def __init__(self, job: HttpJob) -> None:
        now = time.perf_counter()
        self.measure_from = now + job.warmup
        self.stop_at = self.measure_from + job.duration
        self.result = HttpResult()
        self.stats = ProcessStats(job.server_pid)
        self.started = False

    @property
    def is_running(self) -> bool:
        return time.perf_counter() < self.stop_at

    def record(self, started: float, status: int) -> None:
        if started < self.measure_from:
            return
        if not self.started:
            self.started = True
            self.stats.begin()
            self.client_cpu = time.process_time()
        self.result.requests += 1
        self.result.latencies.append(time.perf_counter() - started)
        if status >= 300:
            self.result.errors[status] = self.result.errors.get(status, 0) + 1

    def finish(self) -> HttpResult:
        result = self.result
        if self.started:
            result.server_cpu = self.stats.cpu_share()
            result.machine_cpu = self.stats.machine_share()
            result.elapsed = time.monotonic() - self.stats.wall_start
            result.client_cpu = (time.process_time() - self.client_cpu) / result.elapsed
        result.latencies.sort()
        return result


async def _open(port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, "127.0.0.1", port)
    return protocol


async def _repeat(job: HttpJob, recorder: _Recorder, request: bytes) -> None:
    connection = await _open(job.port)
    while recorder.is_running:
        started = time.perf_counter()
        status, _ = await connection.request(request)
        recorder.record(started, status)
    assert connection.transport is not None
    connection.transport.close()


async def _complete_runs(job: HttpJob, recorder: _Recorder, runs: collections.deque[str]) -> None:
    connection = await _open(job.port)
    bodies = [_completion(topic) for topic in COMPLETIONS]
    while recorder.is_running:
        if not runs:
            recorder.result.exhausted = True
            break
        run_id = runs.popleft()
        path = f"/api/workflow/runs/{run_id}/events"
        for body in bodies:
            started = time.perf_counter()
            status, _ = await connection.request(build_request("POST", path, job.port, body))
            recorder.record(started, status)
        recorder.result.runs_finished += 1
    assert connection.transport is not None
    connection.transport.close()


async def _create_runs(job: HttpJob, recorder: _Recorder, ids: collections.deque[str]) -> None:
    connection = await _open(job.port)
    while ids:
        body = f'{{"id":"{ids.popleft()}"}}'.encode()
        started = time.perf_counter()
        status, _ = await connection.request(build_request("POST", "/api/workflow/runs",
                                                           job.port, body))
        recorder.record(started, status)
    assert connection.transport is not None
    connection.transport.close()


async def _drive(job: HttpJob) -> HttpResult:
    recorder = _Recorder(job)
    if job.kind == "completions":
        runs = collections.deque(job.run_ids)
        workers = [_complete_runs(job, recorder, runs) for _ in range(job.connections)]
    elif job.kind == "runs":
        ids = collections.deque(job.run_ids)
        recorder.stop_at = float("inf")
        workers = [_create_runs(job, recorder, ids) for _ in range(job.connections)]
    else:
        request = _request_for(job)
        workers = [_repeat(job, recorder, request) for _ in range(job.connections)]
    await asyncio.gather(*workers)
    return recorder.finish()


def _request_for(job: HttpJob) -> bytes:
    if job.kind == "get":
        return build_request("GET", f"/api/provision/device/{job.record_id}", job.port)
    return build_request("POST", "/api/provision/device", job.port, DEVICE)


def run_http_job(job: HttpJob) -> HttpResult:
    """Drive ``job`` to its end in this process and return what it measured."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_drive(job))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
