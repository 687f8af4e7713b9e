"""The benchmark runs end to end with tiny settings, reports every figure, and leaves nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GROUPS = {
    "startup": ("seconds",),
    "memory": ("rss_idle_mib", "rss_connected_mib", "per_connection_kib"),
    "memory_runs": ("rss_first_mib", "rss_last_mib", "growth_kib_per_1000_runs"),
    "rest_get": ("per_second", "cpu_us_per_op", "p50_ms", "p99_ms"),
    "rest_post": ("per_second", "cpu_us_per_op", "p50_ms", "p99_ms"),
    "completions": ("per_second", "cpu_us_per_op", "p50_ms", "p99_ms"),
    "fanout_redis_10": ("per_second", "cpu_us_per_op", "p50_ms", "p99_ms"),
    "fanout_memory_10": ("per_second", "cpu_us_per_op", "p50_ms", "p99_ms"),
}
TARGETS = {
    "rest_get.per_second", "rest_post.per_second", "memory.per_connection_kib",
    "fanout_redis_10.per_second", "fanout_redis_10.p99_ms",
    "fanout_memory_10.per_second", "fanout_memory_10.p99_ms",
}


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[dict, str]:
    """The report and the printed table of one ``python -m bench --quick`` run."""
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=repo_root, capture_output=True, text=True, timeout=280,
        env={**os.environ, "PYTHONWARNINGS": ""},
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(output.read_text()), completed.stdout


@pytest.mark.timeout(300)
def test_bench_quick_reports_every_figure_for_both_apps(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    figures = {figure["id"]: figure for figure in report["figures"]}
    for group, metrics in GROUPS.items():
        for metric in metrics:
            figure = figures[f"{group}.{metric}"]
            assert figure["product"]["median"] is not None, figure["id"]
            assert figure["bare"]["median"] is not None, figure["id"]
            assert figure["ratio"] is not None or metric.startswith("growth"), figure["id"]


@pytest.mark.timeout(300)
def test_bench_quick_gets_only_successful_answers(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    assert [note for note in report["notes"] if "non-2xx" in note] == []


@pytest.mark.timeout(300)
def test_bench_quick_judges_every_target(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    assert {target["id"] for target in report["targets"]} == TARGETS
    assert all(isinstance(target["met"], bool) for target in report["targets"])


@pytest.mark.timeout(300)
def test_bench_quick_prints_the_table(quick_run: tuple[dict, str]) -> None:
    report, table = quick_run
    assert "ratio" in table.splitlines()[0]
    for figure in report["figures"]:
        if figure["unit"] != "cores":
            assert figure["title"] in table


@pytest.mark.timeout(300)
def test_bench_quick_stops_every_process_it_started(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    started = report["processes"]
    assert {process["name"] for process in started} >= {"redis", "product-redis", "bare-redis"}
    assert [p for p in started if _is_running(p["pid"])] == []
