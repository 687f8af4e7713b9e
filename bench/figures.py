"""How each figure is measured on one running app; ``run`` decides when and how often.

Every function here measures one thing once, on one app, and returns plain
numbers.  Load always comes from other processes: an HTTP job runs in a
worker process, a fan-out session in subscriber and publisher processes.
"""

from __future__ import annotations

import http.client
import json
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.fanout import FanoutJob, Phase, run_fanout
from bench.httpload import HttpJob, HttpResult, run_http_job
from bench.servers import ManagedProcess, free_port, read_rss_bytes, start_app, uvicorn_argv
from bench.stats import percentile

__all__ = [
    "App",
    "Sample",
    "measure_completions",
    "measure_fanout",
    "measure_finished_runs",
    "measure_http",
    "measure_idle_connections",
    "start",
]

AppName = Literal["product", "bare"]
BackendName = Literal["redis", "memory"]
Sample = dict[str, float]
PLAN = Path(__file__).resolve().parent / "plan.toml"
SETTLE = 1.0
MIB = 1024 * 1024


@dataclass
class App:
    """One running app under test: which, on what backend, and its process."""

    name: AppName
    backend: BackendName
    process: ManagedProcess
    record_id: str = ""
    runs_made: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def pid(self) -> int:
        return self.process.pid


def _argv(name: AppName, port: int, redis_url: str | None, prefix: str, log_level: str
          ) -> tuple[list[str], dict[str, str]]:
    if name == "bare":
        return uvicorn_argv("bench.bare_app:create_app", port), {
            "BENCH_REDIS_URL": redis_url or "", "BENCH_KEY_PREFIX": prefix,
        }
    argv = [sys.executable, "-m", "workflow.cli", "--log-level", log_level, "serve",
            "--plan", str(PLAN), "--port", str(port), "--key-prefix", prefix]
    if redis_url:
        argv += ["--redis-url", redis_url]
    return argv, {"WORKFLOW_REDIS_URL": ""}


def start(
    name: AppName, backend: BackendName, redis_url: str, logs: Path, *, log_level: str, tag: str
) -> tuple[App, float]:
    """Start an app on a free port; return it and its seconds to the first healthy /healthz."""
    port = free_port()
    prefix = f"bench-{name}-{tag}"
    argv, env = _argv(name, port, redis_url if backend == "redis" else None, prefix, log_level)
    process = ManagedProcess(f"{name}-{backend}", argv, port, logs / f"{name}-{backend}.log", env)
    return App(name, backend, process), start_app(process)


def _post(port: int, path: str, body: object) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = json.dumps(body).encode()
        connection.request("POST", path, data, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def seed_record(app: App) -> None:
    """Create the device record that GET figures read."""
    status, body = _post(app.port, "/api/provision/device", {"field1": "bench", "field2": True})
    if status != 201:
        raise RuntimeError(f"{app.name}: creating a device answered {status}: {body}")
    app.record_id = str(body["id"])


def _cpu_us_per_op(server_cpu: float, per_second: float) -> float:
    return server_cpu / per_second * 1e6 if per_second else math.nan


def _http_sample(result: HttpResult) -> Sample:
    errors = sum(result.errors.values())
    per_second = result.requests / result.elapsed if result.elapsed else math.nan
    return {
        "per_second": per_second,
        "cpu_us_per_op": _cpu_us_per_op(result.server_cpu, per_second),
        "p50_ms": percentile(result.latencies, 0.50) * 1000,
        "p99_ms": percentile(result.latencies, 0.99) * 1000,
        "server_cpu": result.server_cpu,
        "client_cpu": result.client_cpu,
        "machine_cpu": result.machine_cpu,
        "errors": float(errors),
    }


def _note_errors(app: App, what: str, result: HttpResult) -> None:
    if result.errors:
        app.notes.append(f"{what}: non-2xx answers {dict(sorted(result.errors.items()))}")


def measure_http(
    pool: ProcessPoolExecutor, app: App, kind: Literal["get", "post"], *,
    connections: int, duration: float, warmup: float,
) -> Sample:
    """Requests per second and latency of repeated GETs or POSTs of a device."""
    job = HttpJob(kind, app.port, app.pid, connections, duration, warmup,
                  record_id=app.record_id)
    result = pool.submit(run_http_job, job).result()
    _note_errors(app, f"rest {kind}", result)
    return _http_sample(result)


def _create_runs(pool: ProcessPoolExecutor, app: App, count: int, connections: int
                 ) -> tuple[str, ...]:
    first, app.runs_made = app.runs_made, app.runs_made + count
    run_ids = tuple(f"{app.name}-{index}" for index in range(first, first + count))
    job = HttpJob("runs", app.port, app.pid, connections, 0.0, run_ids=run_ids)
    result = pool.submit(run_http_job, job).result()
    if result.errors:
        raise RuntimeError(f"{app.name}: creating runs answered {result.errors}")
    return run_ids


def measure_completions(
    pool: ProcessPoolExecutor, app: App, *, connections: int, duration: float, warmup: float,
    expected_rate: float, on_ready: Callable[[], object] | None = None,
) -> Sample:
    """Completions applied per second across many runs, each walked to its end in order.

    The runs are created first; ``on_ready`` (to start a profiler) is called after that.
    """
    count = max(connections * 2, math.ceil(expected_rate * (duration + warmup) * 1.5 / 5))
    run_ids = _create_runs(pool, app, count, connections)
    if on_ready is not None:
        on_ready()
    job = HttpJob("completions", app.port, app.pid, connections, duration, warmup,
                  run_ids=run_ids)
    result = pool.submit(run_http_job, job).result()
    _note_errors(app, "completions", result)
    if result.exhausted:
        app.notes.append("completions: every prepared run finished before the time was up")
    return _http_sample(result)


def measure_finished_runs(
    pool: ProcessPoolExecutor, app: App, checkpoints: tuple[int, int], connections: int
) -> Sample:
    """RSS after a first batch of runs walked to the end, and after all of them."""
    rss = []
    done = 0
    for total in checkpoints:
        run_ids = _create_runs(pool, app, total - done, connections)
        job = HttpJob("completions", app.port, app.pid, connections, math.inf,
                      run_ids=run_ids)
        result = pool.submit(run_http_job, job).result()
        if result.errors:
            raise RuntimeError(f"{app.name}: walking runs to the end answered {result.errors}; "
                               "has the plan or a step's completion check changed?")
        done = total
        time.sleep(SETTLE)
        rss.append(read_rss_bytes(app.pid))
    first, last = checkpoints
    return {
        "rss_first_mib": rss[0] / MIB,
        "rss_last_mib": rss[1] / MIB,
        "growth_kib_per_1000_runs": (rss[1] - rss[0]) / 1024 / ((last - first) / 1000),
    }


def measure_idle_connections(app: App, clients: int, processes: int) -> Sample:
    """RSS idle, and with ``clients`` connected and subscribed WebSockets doing nothing."""
    time.sleep(SETTLE)
    idle = read_rss_bytes(app.pid)

    def hold() -> int:
        time.sleep(SETTLE)
        return read_rss_bytes(app.pid)

    result = run_fanout(FanoutJob(app.port, app.pid, clients, processes), hold=hold)
    assert isinstance(result.held, int)
    return {
        "rss_idle_mib": idle / MIB,
        "rss_connected_mib": result.held / MIB,
        "per_connection_kib": (result.held - idle) / 1024 / clients,
    }


def measure_fanout(
    app: App, clients: int, processes: int, *, duration: float, warmup: float, rate: float
) -> Sample:
    """Deliveries per second when saturated, and latency at ``rate`` deliveries per second."""
    phases = (
        Phase("saturate", "saturate", duration, warmup),
        Phase("rate", "rate", duration, min(warmup, 0.5), rate=rate / clients),
    )
    result = run_fanout(FanoutJob(app.port, app.pid, clients, processes, phases))
    saturated, paced = result.phases["saturate"], result.phases["rate"]
    for phase in (saturated, paced):
        expected = phase.published * clients
        if phase.total_received < expected:
            app.notes.append(f"fan-out {app.backend} {clients}: "
                             f"{expected - phase.total_received} of {expected} deliveries lost")
    return {
        "per_second": saturated.delivered_per_second,
        "cpu_us_per_op": _cpu_us_per_op(saturated.server_cpu, saturated.delivered_per_second),
        "p50_ms": percentile(paced.latencies, 0.50) * 1000,
        "p99_ms": percentile(paced.latencies, 0.99) * 1000,
        "server_cpu": saturated.server_cpu,
        "client_cpu": saturated.client_cpu,
        "machine_cpu": saturated.machine_cpu,
        "paced_server_cpu": paced.server_cpu,
    }


def profile_fanout(
    app: App, clients: int, processes: int, duration: float, on_ready: Callable[[], object]
) -> Sample:
    """Saturated fan-out only, calling ``on_ready`` (to start a profiler) once all have heard."""
    phases = (Phase("saturate", "saturate", duration, 0.0),)
    result = run_fanout(FanoutJob(app.port, app.pid, clients, processes, phases), hold=on_ready)
    saturated = result.phases["saturate"]
    return {"per_second": saturated.delivered_per_second, "server_cpu": saturated.server_cpu}
