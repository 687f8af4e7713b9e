"""A private ``redis-server`` for the tests: a free loopback port, persistent only if asked."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "free_port", "stop_process"]


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """End a process this test session started: SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process this test session started, and may stop and start again."""

    def __init__(self, workdir: Path, *, durable: bool = False) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError(
                "the tests need redis-server on PATH (Debian: apt-get install redis-server)"
            )
        self.executable = executable
        self.workdir = workdir
        self.port = free_port()
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server on its port and wait until it accepts connections.

        A durable server writes every change to its append-only file, so what
        it held before a stop is there again after the next start.
        """
        args = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes" if self.durable else "no",
            "--appendfsync", "always", "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "redis.log"),
        ]
        self.process = subprocess.Popen(args)
        self._wait_until_listening()

    def stop(self) -> None:
        """Stop the server this object started, if it runs."""
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.workdir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not listen on port {self.port} within 10 s")
