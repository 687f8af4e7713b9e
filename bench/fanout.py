"""WebSocket fan-out load: subscriber processes, one publisher process, and their coordinator.

Subscribers are spread over a few processes, each holding many lean
connections (``wsclient``) subscribed to one topic.  The publisher sends
``publish-json`` frames whose payload carries the phase, a sequence number
and the send time (``CLOCK_MONOTONIC``, shared by every process on the
machine), so each receiver computes publish-to-receive latency itself.

A session runs phases in order after every connection has heard a probe:

- ``saturate``: keep at most ``window`` messages per subscriber in flight
  (counted through shared memory) and measure deliveries per second;
- ``rate``: publish on a fixed schedule and measure latency; the send time
  stamped is the scheduled one, so a publisher that falls behind shows up
  as latency instead of hiding it.
"""

from __future__ import annotations

import array
import asyncio
import multiprocessing
import resource
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

from bench.servers import read_cpu_seconds, read_machine_busy
from bench.wsclient import WsConnection, connect

__all__ = ["FanoutJob", "FanoutResult", "Phase", "PhaseResult", "run_fanout"]

Mode = Literal["saturate", "rate"]
TOPIC = "BenchFanout"
TIMESTAMP = "2026-01-01T00:00:00.000Z"
PROBE = "probe"
CONNECT_AT_ONCE = 64
PRIME_TIMEOUT = 60.0
FLUSH_INTERVAL = 0.005
_ctx = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Phase:
    """One measured stretch of a session."""

    name: str
    mode: Mode
    duration: float
    warmup: float
    rate: float = 0.0
    window: int = 64


@dataclass(frozen=True)
class FanoutJob:
    """Where to connect, how many subscribers in how many processes, and what to measure."""

    port: int
    server_pid: int
    clients: int
    processes: int
    phases: tuple[Phase, ...] = ()


@dataclass
class PhaseResult:
    """What one phase measured; latencies in seconds, sorted."""

    published: int = 0
    received: int = 0
    total_received: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def delivered_per_second(self) -> float:
        return self.received / self.elapsed if self.elapsed else 0.0


@dataclass
class FanoutResult:
    """Every phase's result, and what the coordinator did while all were subscribed."""

    phases: dict[str, PhaseResult] = field(default_factory=dict)
    held: object = None


def _run(main: Coroutine[Any, Any, None]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _payload_of(message: bytes) -> bytes:
    start = message.find(b'"payload":"') + 11
    return message[start : message.index(b'"', start)]


class _Collector:
    """A subscriber process's tally: messages, first arrivals, latencies per phase."""

    def __init__(self, slot: int, counts: Any, primed: Any, connections: int) -> None:
        self.slot = slot
        self.counts = counts
        self.primed_slots = primed
        self.received = 0
        self.primed = bytearray(connections)
        self.primed_count = 0
        self.arrivals: dict[bytes, array.array[int]] = {}
        self.latencies: dict[bytes, array.array[int]] = {}

    def handler(self, index: int) -> Callable[[bytes, int], None]:
        return lambda message, received: self.receive(index, message, received)

    def receive(self, index: int, message: bytes, received: int) -> None:
        self.received += 1
        phase, _, rest = _payload_of(message).partition(b" ")
        if phase == PROBE.encode():
            if not self.primed[index]:
                self.primed[index] = 1
                self.primed_count += 1
            return
        sent = int(rest.rpartition(b" ")[2])
        if phase not in self.arrivals:
            self.arrivals[phase] = array.array("q")
            self.latencies[phase] = array.array("q")
        self.arrivals[phase].append(received)
        self.latencies[phase].append(received - sent)

    async def flush(self) -> None:
        while True:
            self.counts[self.slot] = self.received
            self.primed_slots[self.slot] = self.primed_count
            await asyncio.sleep(FLUSH_INTERVAL)

    def summarize(
        self, windows: dict[str, tuple[int, int]]
    ) -> dict[str, tuple[int, int, bytes]]:
        summary = {}
        for name, (start, end) in windows.items():
            arrivals = self.arrivals.get(name.encode(), array.array("q"))
            latencies = self.latencies.get(name.encode(), array.array("q"))
            received = sum(1 for at in arrivals if start <= at < end)
            kept = array.array("q", (
                lat for at, lat in zip(arrivals, latencies, strict=True)
                if start <= at - lat < end
            ))
            summary[name] = (received, len(arrivals), kept.tobytes())
        return summary


async def _open_many(port: int, collector: _Collector, count: int) -> list[WsConnection]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def open_one(index: int) -> WsConnection:
        async with gate:
            connection = await connect(port, collector.handler(index), time.monotonic_ns)
            connection.send_text(f"register-name:bench-{collector.slot}-{index}")
            connection.send_text(f"subscribe:{TOPIC}")
            return connection

    return list(await asyncio.gather(*(open_one(index) for index in range(count))))


async def _subscribe_main(
    port: int, slot: int, count: int, counts: Any, primed: Any, pipe: Connection
) -> None:
    collector = _Collector(slot, counts, primed, count)
    connections = await _open_many(port, collector, count)
    flusher = asyncio.create_task(collector.flush())
    pipe.send("ready")
    loop = asyncio.get_running_loop()
    windows = await loop.run_in_executor(None, pipe.recv)
    flusher.cancel()
    pipe.send(collector.summarize(windows))
    for connection in connections:
        connection.close()


def subscribe_process(
    port: int, slot: int, count: int, counts: Any, primed: Any, pipe: Connection
) -> None:
    """Entry point of one subscriber process."""
    _run(_subscribe_main(port, slot, count, counts, primed, pipe))


def _frame(phase: str, seq: int, sent: int) -> str:
    return (
        f'publish-json:{{"publisher_name":"bench","topic":"{TOPIC}",'
        f'"payload":"{phase} {seq} {sent}","timestamp":"{TIMESTAMP}"}}'
    )


class _Publisher:
    """Sends the probe and every phase; reads the shared tallies to pace itself."""

    def __init__(self, connection: WsConnection, counts: Any, primed: Any, clients: int) -> None:
        self.connection = connection
        self.counts = counts
        self.primed = primed
        self.clients = clients

    def received(self) -> int:
        return sum(self.counts)

    async def prime(self) -> None:
        deadline = time.monotonic() + PRIME_TIMEOUT
        while sum(self.primed) < self.clients:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sum(self.primed)} of {self.clients} subscribers heard")
            self.connection.send_text(_frame(PROBE, 0, 0))
            await asyncio.sleep(0.05)
        await self.drain()

    async def drain(self, quiet: float = 0.2, limit: float = 5.0) -> None:
        deadline, last, still_since = time.monotonic() + limit, -1, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - still_since < quiet:
            await asyncio.sleep(0.02)
            now = self.received()
            if now != last:
                last, still_since = now, time.monotonic()

    async def saturate(self, phase: Phase, end: int) -> int:
        base, published, limit = self.received(), 0, phase.window * self.clients
        while time.monotonic_ns() < end:
            if published * self.clients - (self.received() - base) < limit:
                self.connection.send_text(_frame(phase.name, published, time.monotonic_ns()))
                published += 1
            else:
                await asyncio.sleep(0.002)  # uvloop rounds shorter sleeps to zero
        return published

    async def at_rate(self, phase: Phase, start: int, end: int) -> int:
        interval, published = 1e9 / phase.rate, 0
        while (due := start + int(published * interval)) < end:
            wait = (due - time.monotonic_ns()) / 1e9
            if wait > 0:
                await asyncio.sleep(wait)
            self.connection.send_text(_frame(phase.name, published, due))
            published += 1
        return published


async def _run_phase(
    publisher: _Publisher, phase: Phase, pids: list[int]
) -> dict[str, Any]:
    start = time.monotonic_ns()
    measure_from = start + int(phase.warmup * 1e9)
    end = measure_from + int(phase.duration * 1e9)
    task = asyncio.create_task(
        publisher.saturate(phase, end) if phase.mode == "saturate"
        else publisher.at_rate(phase, start, end)
    )
    await asyncio.sleep(max(0.0, (measure_from - time.monotonic_ns()) / 1e9))
    cpu_before = [read_machine_busy(), *(read_cpu_seconds(pid) for pid in pids)]
    published = await task
    cpu_after = [read_machine_busy(), *(read_cpu_seconds(pid) for pid in pids)]
    await publisher.drain()
    spent = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    return {"window": (measure_from, end), "published": published, "cpu": spent}


async def _publish_main(
    port: int, clients: int, phases: tuple[Phase, ...], counts: Any, primed: Any,
    pipe: Connection,
) -> None:
    connection = await connect(port, lambda message, received: None, time.monotonic_ns)
    loop = asyncio.get_running_loop()
    pids: list[int] = await loop.run_in_executor(None, pipe.recv)
    publisher = _Publisher(connection, counts, primed, clients)
    await publisher.prime()
    pipe.send("primed")
    await loop.run_in_executor(None, pipe.recv)
    pipe.send({phase.name: await _run_phase(publisher, phase, pids) for phase in phases})
    connection.close()


def publish_process(
    port: int, clients: int, phases: tuple[Phase, ...], counts: Any, primed: Any,
    pipe: Connection,
) -> None:
    """Entry point of the publisher process."""
    _run(_publish_main(port, clients, phases, counts, primed, pipe))


def _split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _receive(pipe: Connection, process: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not pipe.poll(0.1):
        if not process.is_alive():
            raise RuntimeError(f"load process {process.pid} exited with {process.exitcode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"load process {process.pid} sent nothing within {timeout} s")
    return pipe.recv()


def _merge(
    timing: dict[str, Any], summaries: list[dict[str, tuple[int, int, bytes]]]
) -> FanoutResult:
    result = FanoutResult()
    for name, measured in timing.items():
        start, end = measured["window"]
        phase = PhaseResult(published=measured["published"], elapsed=(end - start) / 1e9)
        latencies = array.array("q")
        for summary in summaries:
            received, total, raw = summary[name]
            phase.received += received
            phase.total_received += total
            latencies.frombytes(raw)
        phase.latencies = sorted(value / 1e9 for value in latencies)
        machine_cpu, server_cpu, *client_cpu = measured["cpu"]
        phase.machine_cpu = machine_cpu / phase.elapsed
        phase.server_cpu = server_cpu / phase.elapsed
        phase.client_cpu = sum(client_cpu) / phase.elapsed
        result.phases[name] = phase
    return result


def _stop(processes: list[Any]) -> None:
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join()


def run_fanout(job: FanoutJob, hold: Callable[[], object] | None = None) -> FanoutResult:
    """Run ``job``'s phases; call ``hold`` once every subscriber is connected and has heard."""
    counts = _ctx.Array("q", job.processes, lock=False)
    primed = _ctx.Array("q", job.processes, lock=False)
    processes: list[Any] = []
    pipes: list[Connection] = []
    try:
        for slot, count in enumerate(_split(job.clients, job.processes)):
            parent, child = _ctx.Pipe()
            args = (job.port, slot, count, counts, primed, child)
            processes.append(_ctx.Process(target=subscribe_process, args=args, daemon=True))
            pipes.append(parent)
            processes[-1].start()
        for process, pipe in zip(processes, pipes, strict=True):
            if _receive(pipe, process, PRIME_TIMEOUT) != "ready":
                raise RuntimeError("a subscriber process failed to connect")
        control, child = _ctx.Pipe()
        publisher_args = (job.port, job.clients, job.phases, counts, primed, child)
        publisher = _ctx.Process(target=publish_process, args=publisher_args, daemon=True)
        publisher.start()
        control.send([job.server_pid, *(process.pid for process in processes), publisher.pid])
        _receive(control, publisher, PRIME_TIMEOUT)
        held = hold() if hold is not None else None
        control.send("go")
        budget = sum(phase.duration + phase.warmup + 10 for phase in job.phases) + 30
        timing = _receive(control, publisher, budget)
        windows = {name: measured["window"] for name, measured in timing.items()}
        for pipe in pipes:
            pipe.send(windows)
        summaries = [
            _receive(pipe, process, 60) for process, pipe in zip(processes, pipes, strict=True)
        ]
        processes.append(publisher)
    finally:
        _stop(processes)
    result = _merge(timing, summaries)
    result.held = held
    return result
