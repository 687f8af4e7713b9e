"""A real ``workflow serve`` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.redis_server import free_port, stop_process

__all__ = ["ServerProcess"]


class ServerProcess:
    """One server this test started, stopped by its PID."""

    def __init__(self, plan: Path, *, args: tuple[str, ...] = (), log: Path) -> None:
        self.port = free_port()
        self.plan = plan
        self.args = args
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Start the server and wait until /healthz answers 200."""
        command = [
            sys.executable,
            "-m",
            "workflow.cli",
            "serve",
            "--plan",
            str(self.plan),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        self._wait_healthy(timeout)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def wait(self, timeout: float) -> int:
        """Wait at most ``timeout`` seconds for the server to exit by itself; its exit code."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server was not healthy within {timeout} s: {self.log}")
