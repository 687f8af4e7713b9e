"""Where the server's CPU goes: py-spy samples of a live process, summed by function and package.

py-spy attaches to a running PID (ptrace), so the server runs exactly as it
does when measured.  Only samples of an active thread are kept, so shares
are shares of the CPU time the process used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Profile", "Profiler", "summarize"]

TOP = 15
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
_OURS = ("api", "workflow", "bench", "plugins")


@dataclass
class Profile:
    """The heaviest functions (self and inclusive) and packages, as shares of samples."""

    samples: int = 0
    by_self: list[tuple[str, float]] = field(default_factory=list)
    by_inclusive: list[tuple[str, float]] = field(default_factory=list)
    by_package: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "self": [[name, round(share, 4)] for name, share in self.by_self],
            "inclusive": [[name, round(share, 4)] for name, share in self.by_inclusive],
            "packages": [[name, round(share, 4)] for name, share in self.by_package],
        }


def _package(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    parts = Path(path).parts
    for ours in _OURS:
        if ours in parts:
            return f"{ours} (ours)" if ours != "bench" else "bench"
    if path.startswith("<"):
        return "interpreter"
    return f"stdlib {parts[-2] if len(parts) > 1 and parts[-2] != 'python3.11' else parts[-1]}"


def _short(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if match is None:
        return frame, "unknown"
    path = match["path"]
    short = path.split("site-packages/", 1)[-1]
    for ours in _OURS:
        marker = f"/{ours}/"
        if marker in short:
            short = ours + "/" + short.split(marker, 1)[1]
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['function']} ({short}{line})", _package(path)


def summarize(raw: str) -> Profile:
    """Read py-spy's ``--format raw`` output (collapsed stacks with counts)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        frames = [_short(frame) for frame in stack.split(";")]
        name, package = frames[-1]
        own[name] += int(count)
        packages[package] += int(count)
        for function in {function for function, _ in frames}:
            inclusive[function] += int(count)
    if total == 0:
        return Profile()
    return Profile(
        samples=total,
        by_self=[(name, n / total) for name, n in own.most_common(TOP)],
        by_inclusive=[(name, n / total) for name, n in inclusive.most_common(TOP * 3)],
        by_package=[(name, n / total) for name, n in packages.most_common()],
    )


class Profiler:
    """Records one process with py-spy for a fixed time, in the background."""

    def __init__(self, pid: int, seconds: float, output: Path, rate: int = 250) -> None:
        self.output = output
        executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.argv = [
            executable, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(output),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def is_available() -> bool:
        return bool(shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists())

    def __enter__(self) -> Profiler:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self.process is not None
        try:
            _, errors = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, errors = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')[-500:]}")

    def result(self) -> Profile:
        return summarize(self.output.read_text())
