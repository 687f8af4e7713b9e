"""The processes a benchmark run starts: a private redis-server and the apps under uvicorn.

Every process is started here, remembered by PID, and stopped by that PID.
Each asks the kernel to send it SIGTERM when the benchmark dies
(``PR_SET_PDEATHSIG``), so nothing outlives an interrupted run.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ManagedProcess",
    "ProcessStats",
    "free_port",
    "read_cpu_seconds",
    "read_machine_busy",
    "read_rss_bytes",
    "start_app",
    "start_redis",
]

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10.0
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def read_rss_bytes(pid: int) -> int:
    """Return the resident set size of ``pid`` (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"process {pid}: no VmRSS in /proc/{pid}/status")


def read_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def read_machine_busy() -> float:
    """Return the CPU seconds all cores of the machine have spent busy (``/proc/stat``)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / _TICKS


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ProcessStats:
    """CPU used by one process between two readings."""

    pid: int
    cpu_start: float = 0.0
    wall_start: float = 0.0
    machine_start: float = 0.0

    def begin(self) -> None:
        self.cpu_start = read_cpu_seconds(self.pid)
        self.machine_start = read_machine_busy()
        self.wall_start = time.monotonic()

    def machine_share(self) -> float:
        """Return the busy cores of the whole machine since ``begin``."""
        wall = time.monotonic() - self.wall_start
        return (read_machine_busy() - self.machine_start) / wall if wall > 0 else 0.0

    def cpu_share(self) -> float:
        """Return the CPU used since ``begin`` as a share of one core."""
        wall = time.monotonic() - self.wall_start
        return (read_cpu_seconds(self.pid) - self.cpu_start) / wall if wall > 0 else 0.0


@dataclass
class ManagedProcess:
    """One process this benchmark started, with its port and log."""

    name: str
    argv: Sequence[str]
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not started: call start() first")
        return self.process.pid

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                list(self.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env}, cwd=ROOT, preexec_fn=_die_with_parent,
            )

    def wait_until(self, is_ready: Callable[[], bool], timeout: float = 30.0) -> float:
        """Poll ``is_ready`` until it holds; return the seconds since start."""
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log}")
            if is_ready():
                return time.monotonic() - self.started_at
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout} s; see {self.log}")

    def stop(self) -> None:
        """Stop the process by its PID: SIGTERM, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def is_listening(port: int) -> bool:
    """Tell whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def is_healthy(port: int) -> bool:
    """Tell whether ``GET /healthz`` on 127.0.0.1:``port`` answers 200."""
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(request.encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_redis(workdir: Path) -> ManagedProcess:
    """Start a private redis-server on a free loopback port, without persistence."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not on PATH: apt-get install redis-server")
    port = free_port()
    argv = [
        executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(workdir), "--maxclients", "10000",
    ]
    redis = ManagedProcess("redis", argv, port, workdir / "redis.log")
    redis.start()
    redis.wait_until(lambda: is_listening(port), timeout=10)
    return redis


def uvicorn_argv(app: str, port: int, *, factory: bool = True) -> list[str]:
    """Return the bare app's uvicorn command, set up as ``workflow serve`` sets up uvicorn.

    One worker, the same WebSocket implementation, permessage-deflate off, and
    no access log (``workflow serve`` logs nothing per request at WARNING).
    """
    argv = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
        "--no-access-log",
        "--log-level", "warning", "--backlog", "4096",
    ]
    return [*argv, "--factory"] if factory else argv


def start_app(app: ManagedProcess, timeout: float = 30.0) -> float:
    """Start ``app`` and return the seconds from process start to its first healthy /healthz."""
    app.start()
    return app.wait_until(lambda: is_healthy(app.port), timeout=timeout)
