"""``python -m bench``: the product and the bare stack, measured side by side in one run.

The run starts a private redis-server, then each app under uvicorn (one
worker, permessage-deflate off), drives load from other processes, and
stops everything it started by PID.  Repetitions alternate which app goes
first, so drift in the machine's load touches both alike.  It prints a table
and writes the same figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

from bench import figures
from bench.figures import App, AppName, BackendName, Sample
from bench.profile import Profile, Profiler
from bench.report import FigureBook, print_report, write_report
from bench.servers import ManagedProcess, start_redis

__all__ = ["Settings", "main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
APPS: tuple[AppName, AppName] = ("product", "bare")


@dataclass(frozen=True)
class Settings:
    """How much to measure; ``--quick`` shrinks everything for the smoke test."""

    repeat: int = 3
    duration: float = 5.0
    warmup: float = 1.0
    connections: int = 16
    fanout_clients: tuple[int, ...] = (100, 1000)
    fanout_rate: float = 20_000.0
    ws_processes: int = 2
    idle_connections: int = 1000
    finished_runs: int = 10_000
    profile: Literal["missed", "all", "none"] = "missed"
    profile_seconds: float = 8.0
    product_log_level: str = "WARNING"
    output: Path = RESULTS / "latest.json"

    @property
    def first_runs(self) -> int:
        """The finished runs after which memory is read the first time (a tenth)."""
        return max(1, self.finished_runs // 10)

    @classmethod
    def quick(cls, output: Path) -> Settings:
        return cls(
            repeat=1, duration=1.0, warmup=0.2, connections=4, fanout_clients=(10,),
            fanout_rate=1000.0, idle_connections=10, finished_runs=50, profile="none",
            output=output,
        )


class Bench:
    """One benchmark run: the processes it started, and the figures it gathered."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.logs = settings.output.parent / "logs"
        self.book = FigureBook(connections=settings.idle_connections,
                               runs=settings.finished_runs, first_runs=settings.first_runs)
        self.profiles: dict[str, dict[AppName, Profile]] = {}
        self.apps: list[App] = []
        self.started: list[dict[str, object]] = []
        self.redis: ManagedProcess | None = None
        self.pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))

    @property
    def redis_url(self) -> str:
        assert self.redis is not None
        return f"redis://127.0.0.1:{self.redis.port}/0"

    def close(self) -> None:
        for app in self.apps:
            app.process.stop()
        self.pool.shutdown(cancel_futures=True)
        if self.redis is not None:
            self.redis.stop()

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def order(self, repetition: int) -> tuple[AppName, AppName]:
        return APPS if repetition % 2 == 0 else (APPS[1], APPS[0])

    def start(self, name: AppName, backend: BackendName) -> tuple[App, float]:
        app, seconds = figures.start(
            name, backend, self.redis_url, self.logs,
            log_level=self.settings.product_log_level, tag=uuid.uuid4().hex[:8],
        )
        self.apps.append(app)
        self.started.append({"name": app.process.name, "pid": app.pid})
        return app, seconds

    def stop(self, app: App) -> None:
        app.process.stop()
        self.apps.remove(app)
        self.book.note(app)

    @contextlib.contextmanager
    def running(self, backend: BackendName) -> Iterator[dict[AppName, App]]:
        apps = {name: self.start(name, backend)[0] for name in APPS}
        try:
            yield apps
        finally:
            for app in apps.values():
                self.stop(app)

    def run(self) -> None:
        self.redis = start_redis(self.workdir)
        self.started.append({"name": "redis", "pid": self.redis.pid})
        self.log(f"redis-server on port {self.redis.port}")
        self.measure_fresh_processes()
        self.measure_rest()
        for backend in ("redis", "memory"):
            self.measure_fanout(backend)
        if self.settings.profile != "none":
            self.profile_targets()

    def measure_fresh_processes(self) -> None:
        s = self.settings
        checkpoints = (s.first_runs, s.finished_runs)
        for repetition in range(s.repeat):
            for name in self.order(repetition):
                self.log(f"fresh {name}: start-up, idle memory, {s.idle_connections} idle "
                         f"connections, {s.finished_runs} finished runs")
                app, seconds = self.start(name, "redis")
                self.book.add("startup", name, {"seconds": seconds})
                sample = figures.measure_idle_connections(app, s.idle_connections,
                                                          s.ws_processes)
                self.book.add("memory", name, sample)
                sample = figures.measure_finished_runs(self.pool, app, checkpoints,
                                                       s.connections)
                self.book.add("memory_runs", name, sample)
                self.stop(app)

    def measure_rest(self) -> None:
        s = self.settings
        with self.running("redis") as apps:
            for app in apps.values():
                figures.seed_record(app)
                figures.measure_http(self.pool, app, "get", connections=s.connections,
                                     duration=min(1.0, s.duration), warmup=0.0)
            self.repeat("rest_get", apps, functools.partial(self.rest, "get"))
            self.repeat("rest_post", apps, functools.partial(self.rest, "post"))
            self.repeat("completions", apps, self.completions)

    def rest(self, kind: Literal["get", "post"], app: App) -> Sample:
        s = self.settings
        return figures.measure_http(self.pool, app, kind, connections=s.connections,
                                    duration=s.duration, warmup=s.warmup)

    def completions(self, app: App) -> Sample:
        s = self.settings
        previous = self.book.samples("completions", app.name, "per_second")
        return figures.measure_completions(
            self.pool, app, connections=s.connections, duration=s.duration, warmup=s.warmup,
            expected_rate=max(previous, default=3000.0) * 1.2,
        )

    def measure_fanout(self, backend: BackendName) -> None:
        s = self.settings
        with self.running(backend) as apps:
            for clients in s.fanout_clients:
                self.repeat(f"fanout_{backend}_{clients}", apps,
                            functools.partial(self.fanout, clients))

    def fanout(self, clients: int, app: App) -> Sample:
        s = self.settings
        return figures.measure_fanout(app, clients, s.ws_processes, duration=s.duration,
                                      warmup=s.warmup, rate=s.fanout_rate)

    def repeat(self, figure: str, apps: dict[AppName, App], measure: Callable[[App], Sample]
               ) -> None:
        for repetition in range(self.settings.repeat):
            for name in self.order(repetition):
                self.log(f"{figure} {name} ({repetition + 1}/{self.settings.repeat})")
                self.book.add(figure, name, measure(apps[name]))

    def profile_targets(self) -> None:
        if not Profiler.is_available():
            self.log("py-spy is not installed (pip install -e '.[bench]'); no profiles")
            return
        groups = {
            result.group for result in self.book.targets()
            if self.settings.profile == "all" or not result.target_met
        }
        # Completions have no target, but they are the engine's own path: always worth a look.
        for group in sorted((groups - {"memory"}) | {"completions"}):
            self.profiles[group] = {name: self.profile(group, name) for name in APPS}

    def profile(self, group: str, name: AppName) -> Profile:
        backend: BackendName = "memory" if group.startswith("fanout_memory") else "redis"
        seconds = self.settings.profile_seconds
        app, _ = self.start(name, backend)
        self.log(f"profiling {name} under {group} ({seconds:g} s of py-spy)")
        profiler = Profiler(app.pid, seconds, self.logs / f"profile-{group}-{name}.txt")
        try:
            sample = self.profiled_workload(group, app, profiler)
        finally:
            profiler.wait()
            self.stop(app)
        return profiler.result().costed(sample["server_cpu"], sample["per_second"])

    def profiled_workload(self, group: str, app: App, profiler: Profiler) -> Sample:
        s, seconds = self.settings, self.settings.profile_seconds
        if group.startswith("fanout_"):
            clients = int(group.rsplit("_", 1)[1])
            return figures.profile_fanout(app, clients, s.ws_processes, seconds + 1,
                                          on_ready=profiler.start)
        if group == "completions":
            return figures.measure_completions(
                self.pool, app, connections=s.connections, duration=seconds, warmup=1.0,
                expected_rate=max(self.book.samples(group, app.name, "per_second"),
                                  default=3000.0) * 1.2,
                on_ready=profiler.start,
            )
        figures.seed_record(app)
        kind: Literal["get", "post"] = "get" if group == "rest_get" else "post"
        profiler.start()
        return figures.measure_http(self.pool, app, kind, connections=s.connections,
                                    duration=seconds, warmup=1.0)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    """The checked-out commit, marked ``+dirty`` when the work tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no")
                         else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _environment(settings: Settings) -> dict[str, object]:
    packages = ["litestar", "uvicorn", "msgspec", "redis", "websockets", "httptools", "uvloop",
                "transitions"]
    return {
        "commit": _commit(),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "packages": {name: _version(name) for name in packages},
        "settings": {key: str(value) if isinstance(value, Path) else value
                     for key, value in asdict(settings).items()},
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="one short repetition with 10 clients (the smoke test)")
    parser.add_argument("--repeat", type=int, help="repetitions per figure (default 3)")
    parser.add_argument("--duration", type=float, help="measured seconds per figure (default 5)")
    parser.add_argument("--clients", type=int, nargs="+", metavar="N",
                        help="fan-out subscriber counts (default 100 1000)")
    parser.add_argument("--finished-runs", type=int, help="runs walked for the memory figure")
    parser.add_argument("--profile", choices=["missed", "all", "none"],
                        help="py-spy the product where a target is missed (default), always, "
                             "or never")
    parser.add_argument("--product-log-level", choices=["DEBUG", "INFO", "WARNING"],
                        help="log level of workflow serve (default WARNING)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                        help="where to write the JSON (default bench/results/latest.json)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings.quick(args.output) if args.quick else Settings(output=args.output)
    chosen = {
        "repeat": args.repeat, "duration": args.duration, "finished_runs": args.finished_runs,
        "fanout_clients": tuple(args.clients) if args.clients else None,
        "profile": args.profile, "product_log_level": args.product_log_level,
    }
    return Settings(**{**asdict(base), **{k: v for k, v in chosen.items() if v is not None}})


def _raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table, write the JSON; exit 0 unless it could not run."""
    settings = _settings(_parser().parse_args(argv))
    _raise_fd_limit()
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        bench = Bench(settings, Path(workdir))
        try:
            bench.run()
        finally:
            bench.close()
    report = bench.book.report(bench.profiles, _environment(settings), started)
    report["processes"] = bench.started
    write_report(report, settings.output)
    print_report(report)
    print(f"\nwritten to {settings.output}", file=sys.stderr)
    return 0
