"""The figures of a run: gathered by group, printed as a table, written as JSON."""

from __future__ import annotations

import json
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.stats import Better, Figure, Target

if TYPE_CHECKING:
    from bench.figures import App, AppName, Sample
    from bench.profile import Profile

__all__ = ["FigureBook", "print_report", "write_report"]


@dataclass(frozen=True)
class Metric:
    """How one metric of a group is titled, counted and judged."""

    key: str
    title: str
    unit: str
    better: Better
    target: Target | None = None


def _rest(title: str, target: float | None, *, done: str = "requests") -> tuple[Metric, ...]:
    return (
        Metric("per_second", f"{title}: {done}/s", "1/s", "higher",
               Target(target, "higher") if target else None),
        Metric("cpu_us_per_op", f"{title}: server CPU per request", "us", "lower"),
        Metric("p50_ms", f"{title}: p50 latency", "ms", "lower"),
        Metric("p99_ms", f"{title}: p99 latency", "ms", "lower"),
    )


GROUPS: dict[str, tuple[Metric, ...]] = {
    "rest_get": _rest("REST GET device (Redis)", 0.7),
    "rest_post": _rest("REST POST device (Redis)", 0.5),
    "completions": _rest("Completions over REST (Redis)", None, done="applied"),
    "memory": (
        Metric("rss_idle_mib", "RSS idle (Redis)", "MiB", "lower"),
        Metric("rss_connected_mib", "RSS with {connections:,} idle WebSockets", "MiB", "lower"),
        Metric("per_connection_kib", "Memory per idle WebSocket", "KiB", "lower",
               Target(1.2, "lower")),
    ),
    "memory_runs": (
        Metric("rss_first_mib", "RSS after {first_runs:,} finished runs", "MiB", "lower"),
        Metric("rss_last_mib", "RSS after {runs:,} finished runs", "MiB", "lower"),
        Metric("growth_kib_per_1000_runs", "RSS growth per 1,000 more finished runs", "KiB",
               "lower"),
    ),
    "startup": (Metric("seconds", "Start to first healthy /healthz (Redis)", "s", "lower"),),
}
CPU_KEYS = ("server_cpu", "client_cpu", "machine_cpu")
_COST = Metric("cpu_us_per_op", "server CPU per operation", "us", "lower")


def _fanout_metrics(group: str) -> tuple[Metric, ...]:
    _, backend, clients = group.split("_")
    title = f"Fan-out {backend}, {int(clients):,} clients"
    return (
        Metric("per_second", f"{title}: delivered/s", "1/s", "higher", Target(0.8, "higher")),
        Metric("cpu_us_per_op", f"{title}: server CPU per delivery", "us", "lower"),
        Metric("p50_ms", f"{title}: p50 latency (paced)", "ms", "lower"),
        Metric("p99_ms", f"{title}: p99 latency (paced)", "ms", "lower", Target(2.0, "lower")),
    )


def _metrics(group: str) -> tuple[Metric, ...]:
    return _fanout_metrics(group) if group.startswith("fanout_") else GROUPS[group]


@dataclass(frozen=True)
class TargetResult:
    """A figure that has a target, and whether this run met it."""

    group: str
    figure: Figure

    @property
    def target_met(self) -> bool:
        assert self.figure.target is not None
        return self.figure.target.is_met(self.figure.ratio)


class FigureBook:
    """Every sample of every group, by app, in the order they were taken."""

    def __init__(self, *, connections: int, runs: int, first_runs: int) -> None:
        self._counts = {"connections": connections, "runs": runs, "first_runs": first_runs}
        self._samples: dict[str, dict[str, list[Sample]]] = defaultdict(
            lambda: {"product": [], "bare": []}
        )
        self.notes: list[str] = []

    def add(self, group: str, app: str, sample: Sample) -> None:
        self._samples[group][app].append(sample)

    def samples(self, group: str, app: str, key: str) -> list[float]:
        return [sample[key] for sample in self._samples.get(group, {}).get(app, [])]

    def note(self, app: App) -> None:
        for note in app.notes:
            line = f"{app.name} {app.backend}: {note}"
            if line not in self.notes:
                self.notes.append(line)

    def figures(self) -> list[tuple[str, Figure]]:
        found = []
        for group in self._samples:
            for metric in _metrics(group):
                found.append((group, self._figure(group, metric.key, metric)))
            for key in CPU_KEYS:
                if key in (self._samples[group]["product"] or [{}])[0]:
                    metric = Metric(key, f"{group}: {key.replace('_', ' ')} (cores)", "cores",
                                    "lower")
                    found.append((group, self._figure(group, key, metric)))
        return found

    def _figure(self, group: str, key: str, metric: Metric) -> Figure:
        return Figure(
            id=f"{group}.{key}", title=metric.title.format(**self._counts), unit=metric.unit,
            better=metric.better,
            product=self.samples(group, "product", key), bare=self.samples(group, "bare", key),
            target=metric.target,
        )

    def cpu_normalized_ratio(self, figure_id: str) -> float | None:
        """For a throughput, the ratio it would have if each app had a whole core.

        That is bare CPU per operation over the product's: steadier than the
        throughput ratio when other work on the machine takes CPU from either app.
        """
        group, _, key = figure_id.partition(".")
        if key != "per_second":
            return None
        ratio = 1 / self._figure(group, "cpu_us_per_op", _COST).ratio
        return None if math.isnan(ratio) else ratio

    def targets(self) -> list[TargetResult]:
        return [TargetResult(group, figure) for group, figure in self.figures() if figure.target]

    def report(
        self, profiles: dict[str, dict[AppName, Profile]], environment: dict[str, object],
        started: float,
    ) -> dict[str, object]:
        return {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "duration_s": round(time.time() - started, 1),
            "environment": environment,
            "figures": [figure.as_dict() for _, figure in self.figures()],
            "targets": [
                {"id": result.figure.id, "title": result.figure.title,
                 "ratio": result.figure.as_dict()["ratio"],
                 "target": result.figure.as_dict()["target"], "met": result.target_met,
                 "cpu_normalized_ratio": self.cpu_normalized_ratio(result.figure.id)}
                for result in self.targets()
            ],
            "profiles": {group: _compare(by_app) for group, by_app in profiles.items()},
            "notes": self.notes,
        }


def write_report(report: dict[str, object], path: Path) -> None:
    """Write the report as JSON, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def _number(value: object) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(summary: dict[str, Any]) -> str:
    median, low, high = summary["median"], summary["min"], summary["max"]
    if median is None:
        return "-"
    if low == high:
        return _number(median)
    return f"{_number(median)} [{_number(low)}-{_number(high)}]"


def format_table(report: dict[str, Any]) -> str:
    """Return the figures as a fixed-width text table."""
    rows = [("figure", "unit", "product median [min-max]", "bare median [min-max]", "ratio",
             "target")]
    normalized = {target["id"]: target["cpu_normalized_ratio"] for target in report["targets"]}
    for figure in report["figures"]:
        if figure["unit"] == "cores" and figure["target"] is None:
            continue
        verdict = ""
        if figure["target"]:
            verdict = f"{figure['target']} {'met' if figure['met'] else 'MISSED'}"
        if normalized.get(figure["id"]) is not None:
            verdict += f" (CPU-normalized {_number(normalized[figure['id']])})"
        rows.append((figure["title"], figure["unit"], _cell(figure["product"]),
                     _cell(figure["bare"]), _number(figure["ratio"]), verdict))
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _compare(by_app: dict[AppName, Profile]) -> dict[str, object]:
    """Both apps' profiles, and the product's heaviest functions costed in both."""
    product, bare = by_app["product"], by_app["bare"]
    return {
        "product": product.as_dict(),
        "bare": bare.as_dict(),
        "product_top_in_both": [
            {"name": name, "product_us_per_op": product.cost(share),
             "bare_us_per_op": bare.cost(bare.all_self.get(name, 0.0))}
            for name, share in product.by_self
        ],
    }


def _print_profile(group: str, profile: dict[str, Any]) -> None:
    product, bare = profile["product"], profile["bare"]
    print(f"\nprofile under {group}: server CPU per operation "
          f"product {_number(product['server_cpu_us_per_op'])} us, "
          f"bare {_number(bare['server_cpu_us_per_op'])} us")
    bare_packages = {row["name"]: row["us_per_op"] for row in bare["packages"]}
    print(f"  {'us/op product':>13}  {'us/op bare':>10}  package")
    for row in product["packages"][:10]:
        print(f"  {_number(row['us_per_op']):>13}  {_number(bare_packages.get(row['name'])):>10}"
              f"  {row['name']}")
    print(f"  {'us/op product':>13}  {'us/op bare':>10}  function (self time)")
    for row in profile["product_top_in_both"]:
        print(f"  {_number(row['product_us_per_op']):>13}  {_number(row['bare_us_per_op']):>10}"
              f"  {row['name']}")


def print_report(report: dict[str, Any]) -> None:
    """Print the table, the notes and, per profiled figure, what costs what."""
    print(format_table(report))
    for note in report["notes"]:
        print(f"note: {note}")
    for group, profile in report["profiles"].items():
        _print_profile(group, profile)
    sys.stdout.flush()
