"""Where the server's CPU goes: py-spy samples of a live process, summed by function and package.

py-spy attaches to a running PID (ptrace), so the server runs exactly as it
does when measured.  Only samples of an active thread are kept, so shares
are shares of the CPU time the process used.
"""

from __future__ import annotations

import math
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
_OURS = ("api", "workflow", "plugins")
_ROOT = str(Path(__file__).resolve().parent.parent) + "/"
_STDLIB = f"/python{sys.version_info.major}.{sys.version_info.minor}/"


@dataclass
class Profile:
    """The heaviest functions (self time) and packages, as shares of the samples.

    With ``costed``, every share also becomes microseconds of server CPU per
    operation (request or delivery): share * CPU seconds per second / operations per second.
    """

    samples: int = 0
    by_self: list[tuple[str, float]] = field(default_factory=list)
    by_package: list[tuple[str, float]] = field(default_factory=list)
    all_self: dict[str, float] = field(default_factory=dict)
    us_per_op: float = math.nan

    def costed(self, server_cpu: float, per_second: float) -> Profile:
        self.us_per_op = server_cpu / per_second * 1e6 if per_second else math.nan
        return self

    def cost(self, share: float) -> float | None:
        return None if math.isnan(self.us_per_op) else round(share * self.us_per_op, 3)

    def as_dict(self) -> dict[str, object]:
        def rows(pairs: list[tuple[str, float]]) -> list[dict[str, object]]:
            return [{"name": name, "share": round(share, 4), "us_per_op": self.cost(share)}
                    for name, share in pairs]

        return {
            "samples": self.samples,
            "server_cpu_us_per_op": None if math.isnan(self.us_per_op) else self.us_per_op,
            "packages": rows(self.by_package),
            "self": rows(self.by_self),
        }


def _locate(path: str) -> tuple[str, str]:
    """Return (package, path to show) for a full file name from py-spy."""
    if "-packages/" in path:
        short = path.rpartition("-packages/")[2]
        return short.split("/", 1)[0].removesuffix(".py"), short
    if path.startswith(_ROOT):
        short = path[len(_ROOT) :]
        top = short.split("/", 1)[0]
        return (f"{top} (ours)" if top in _OURS else top), short
    if _STDLIB in path:
        short = path.rpartition(_STDLIB)[2]
        top = short.split("/", 1)[0].removesuffix(".py")
        return f"stdlib {top}", short
    return "other", path


def _short(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if match is None:
        return frame, "other"
    package, short = _locate(match["path"])
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['function']} ({short}{line})", package


def summarize(raw: str) -> Profile:
    """Read py-spy's ``--format raw`` output (collapsed stacks with counts)."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        name, package = _short(stack.rpartition(";")[2])
        own[name] += int(count)
        packages[package] += int(count)
    if total == 0:
        return Profile()
    return Profile(
        samples=total,
        by_self=[(name, n / total) for name, n in own.most_common(TOP)],
        by_package=[(name, n / total) for name, n in packages.most_common()],
        all_self={name: n / total for name, n in own.items()},
    )


class Profiler:
    """Records one process with py-spy for a fixed time, in the background."""

    def __init__(self, pid: int, seconds: float, output: Path, rate: int = 250) -> None:
        self.output = output
        executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.argv = [
            executable, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "--rate", str(rate), "--format", "raw", "--nonblocking", "--full-filenames",
            "--output", str(output),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def is_available() -> bool:
        return bool(shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists())

    def start(self) -> None:
        """Start recording now, in the background."""
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def wait(self) -> None:
        """Wait for the recording to end (it stops by itself after its duration)."""
        if self.process is None:
            return
        try:
            _, errors = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, errors = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')[-500:]}")

    def result(self) -> Profile:
        return summarize(self.output.read_text())
