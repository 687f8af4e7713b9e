"""Workflow inspection and control over REST, /healthz, and answers when the backend is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.conftest import engine_of
from tests.redis_server import RedisServer
from workflow.errors import BackendUnavailable
from workflow.settings import Settings

Client = TestClient[Litestar]
ACCEPTED = {"accepted": True}
WALK = [
    ("plugin_welcome", "welcome", "WelcomeCompleted"),
    ("plugin_terms", "terms", "TermsCompleted"),
    ("plugin_provisioning", "provision", "DeviceCompleted"),
    ("plugin_notifications", "notifications", "NotificationsCompleted"),
    ("plugin_finish", "finish", "FinishCompleted"),
]


def send_event(client: Client, topic: str, run: str = "default", **body: Any) -> Any:
    if topic == "TermsCompleted":
        body.setdefault("data", ACCEPTED)  # the terms step ends only once accepted
    return client.post(f"/api/workflow/runs/{run}/events",
                       json={"topic": topic, "status": "completed", **body})


def test_plan_lists_states_in_walk_order_with_finished_last(client: Client) -> None:
    plan = client.get("/api/workflow/plan").json()

    assert plan["version"] == "1.0.0"
    assert plan["start"] == "plugin_welcome"
    assert plan["states"] == [
        *({"name": name, "route": route, "completion_topic": topic, "visible_in_ui": True}
          for name, route, topic in WALK),
        {"name": "finished", "route": None, "completion_topic": None, "visible_in_ui": False},
    ]
    dests = [name for name, _, _ in WALK[1:]] + ["finished"]
    assert plan["transitions"] == [
        {"source": name, "trigger": topic, "dest": dest}
        for (name, _, topic), dest in zip(WALK, dests, strict=True)
    ]


def test_default_run_exists_at_the_start_with_history(client: Client) -> None:
    run = client.get("/api/workflow").json()

    assert run["id"] == "default"
    assert (run["state"], run["status"], run["seq"], run["history"]) == (
        "plugin_welcome", "running", 0, []
    )


def test_runs_list_every_run_without_history(client: Client) -> None:
    client.post("/api/workflow/runs", json={"id": "second"})

    runs = client.get("/api/workflow/runs").json()

    assert sorted(run["id"] for run in runs) == ["default", "second"]
    assert all("history" not in run and run["state"] == "plugin_welcome" for run in runs)


@pytest.mark.parametrize("body", [{"id": "trial-1"}, {}, None], ids=["named", "empty", "no-body"])
def test_runs_create_answers_201_with_the_new_run(client: Client, body: Any) -> None:
    response = client.post("/api/workflow/runs", json=body)

    assert response.status_code == 201
    run = response.json()
    assert run["state"] == "plugin_welcome" and run["seq"] == 0
    assert run["id"] == (body or {}).get("id", run["id"])
    assert client.get(f"/api/workflow/runs/{run['id']}").json() == run


def test_runs_create_with_a_taken_id_is_409(client: Client) -> None:
    response = client.post("/api/workflow/runs", json={"id": "default"})

    assert response.status_code == 409
    assert "default" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"id": "has space"}, {"id": 5}, {"name": "x"}, [1]],
    ids=["bad-chars", "not-text", "unknown-field", "array"],
)
def test_runs_create_refuses_a_bad_body(client: Client, body: Any) -> None:
    response = client.post("/api/workflow/runs", json=body)

    assert response.status_code == 400
    assert len(client.get("/api/workflow/runs").json()) == 1


def test_run_read_of_an_unknown_run_is_404(client: Client) -> None:
    assert client.get("/api/workflow/runs/nope").status_code == 404


def test_events_advance_the_run_and_record_the_publisher(client: Client) -> None:
    response = send_event(client, "WelcomeCompleted", publisher="kiosk", data={"lang": "en"})
    anonymous = send_event(client, "TermsCompleted")

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["seq"]) == ("plugin_terms", 1)
    history = client.get("/api/workflow").json()["history"]
    assert [(h["from"], h["to"], h["event"], h["status"], h["publisher"]) for h in history] == [
        ("plugin_welcome", "plugin_terms", "WelcomeCompleted", "completed", "kiosk"),
        ("plugin_terms", "plugin_provisioning", "TermsCompleted", "completed", "api"),
    ]
    assert anonymous.json()["state"] == "plugin_provisioning"


def test_events_walk_a_run_to_finished_and_then_refuse(client: Client) -> None:
    client.post("/api/workflow/runs", json={"id": "walk"})
    for _, _, topic in WALK:
        assert send_event(client, topic, run="walk").status_code == 200

    late = send_event(client, "FinishCompleted", run="walk")

    run = client.get("/api/workflow/runs/walk").json()
    assert (run["state"], run["status"], run["seq"]) == ("finished", "finished", 5)
    assert late.status_code == 409
    assert "finished" in late.json()["detail"]
    assert client.get("/api/workflow").json()["seq"] == 0


def test_events_valid_but_not_now_are_409_with_the_reason(client: Client) -> None:
    response = send_event(client, "DeviceCompleted")

    assert response.status_code == 409
    assert "plugin_welcome" in response.json()["detail"]
    assert client.get("/api/workflow").json()["seq"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "NoSuchCompleted", "status": "completed"},
        {"topic": "WelcomeCompleted", "status": "done"},
        {"topic": "WelcomeCompleted"},
        {"topic": 3, "status": "completed"},
        {"topic": "WelcomeCompleted", "status": "completed", "extra": 1},
        {"topic": "WelcomeCompleted", "status": "completed", "publisher": "Workflow"},
    ],
    ids=["unknown-topic", "bad-status", "missing-status", "topic-not-text", "unknown-field",
         "engine-publisher"],
)
def test_events_refuse_a_bad_body_with_400(client: Client, body: dict[str, Any]) -> None:
    response = client.post("/api/workflow/runs/default/events", json=body)

    assert response.status_code == 400
    assert response.json()["detail"]
    assert client.get("/api/workflow").json()["seq"] == 0


def test_events_malformed_json_is_400(client: Client) -> None:
    response = client.post("/api/workflow/runs/default/events", content=b'{"topic": ')

    assert response.status_code == 400


def test_events_with_data_nested_near_the_limits_are_applied_or_refused_never_lost(
    client: Client,
) -> None:
    # Decoding and encoding give up at depths near a thousand that move with the stack:
    # every depth around them is tried, each on a run of its own.
    for depth in range(850, 1050):
        run = client.post("/api/workflow/runs", json={}).json()["id"]
        body = b'{"topic": "WelcomeCompleted", "status": "completed", "data": '
        body += b"[" * depth + b"]" * depth + b"}"

        response = client.post(f"/api/workflow/runs/{run}/events", content=body)

        assert response.status_code in (200, 400), depth
        seq = client.get(f"/api/workflow/runs/{run}").json()["seq"]
        assert seq == (1 if response.status_code == 200 else 0), depth


def test_events_for_an_unknown_run_are_404(client: Client) -> None:
    assert send_event(client, "WelcomeCompleted", run="nope").status_code == 404


def test_graph_is_mermaid_text_with_the_run_state_apart(client: Client) -> None:
    send_event(client, "WelcomeCompleted")

    response = client.get("/api/workflow/graph", params={"run": "default"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "stateDiagram-v2" in response.text
    assert "class plugin_terms s_active" in response.text.lower()
    assert "class plugin_welcome s_active" not in response.text.lower()


def test_graph_of_an_unknown_run_is_404(client: Client) -> None:
    assert client.get("/api/workflow/graph", params={"run": "nope"}).status_code == 404


def test_openapi_documents_the_workflow_routes(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]

    assert {"/api/workflow", "/api/workflow/plan", "/api/workflow/runs",
            "/api/workflow/runs/{run_id}", "/api/workflow/runs/{run_id}/events",
            "/api/workflow/graph", "/healthz"} <= set(paths)
    events = paths["/api/workflow/runs/{run_id}/events"]["post"]
    assert events["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Event"
    }
    assert {"200", "400", "404", "409"} <= set(events["responses"])


def test_healthz_is_200_while_the_backend_answers(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_is_503_when_the_backend_fails(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail() -> None:
        raise BackendUnavailable("redis at 127.0.0.1:1 refused the connection")

    monkeypatch.setattr(engine_of(client).backend, "ping", fail)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "refused" in response.json()["detail"]


@pytest.mark.parametrize("backend_url", ["redis"], indirect=True)
def test_redis_outage_answers_503_then_recovers(
    client: Client, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        health = client.get("/healthz")
        run = client.get("/api/workflow")
        write = client.post("/api/provision/device", json={"field1": "a", "field2": True})
    finally:
        redis_server.start()

    assert (health.status_code, run.status_code, write.status_code) == (503, 503, 503)
    assert run.json()["detail"]
    assert wait_until_healthy(client)
    # The test server keeps nothing across restarts, so only a write shows recovery.
    assert client.post("/api/provision/device", json={"field1": "a", "field2": True}).is_success


def wait_until_healthy(client: Client, timeout: float = 10.0) -> bool:
    """Poll /healthz: the backend's subscriber takes a moment to reconnect."""
    deadline = time.monotonic() + timeout
    while client.get("/healthz").status_code != 200:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_retry_of_a_state_without_a_server_step_is_409(client: Client) -> None:
    response = client.post("/api/workflow/runs/default/retry")

    assert response.status_code == 409
    assert "server-side step" in response.json()["detail"]


def test_retry_of_an_unknown_run_is_404(client: Client) -> None:
    assert client.post("/api/workflow/runs/nope/retry").status_code == 404


GATE_PLUGIN = '''
from workflow import Plugin


async def on_enter(step):
    if not await step.records("device", route="provision").list_records():
        raise LookupError("no device on record yet")
    await step.complete()


plugin = Plugin(name="plugin_gate", route="gate", on_enter=on_enter)
'''

GATE_PLAN = """
[general]
product_family = "tests"
execution_plan_version = "3.0.0"

[[plugins]]
name = "plugin_provisioning"
plugin_route = "provision"
version = "1.0.0"
plugin_base_path = "{plugins}"
completed_event_name = "DeviceCompleted"

[[plugins]]
name = "plugin_gate"
plugin_route = "gate"
version = "1.0.0"
visible_in_ui = false
"""


def wait_for_run(client: Client, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the default run until ``done`` holds (server-side steps run in the background)."""
    deadline = time.monotonic() + 10
    while True:
        run: dict[str, Any] = client.get("/api/workflow").json()
        if done(run):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def test_retry_runs_a_failed_server_step_again(
    make_client: Callable[[Settings], Client], settings: Settings, tmp_path: Path,
    repo_root: Path,
) -> None:
    (tmp_path / "plugins" / "plugin_gate").mkdir(parents=True)
    (tmp_path / "plugins" / "plugin_gate" / "plugin.py").write_text(GATE_PLUGIN)
    plan = tmp_path / "gate.toml"
    plan.write_text(GATE_PLAN.format(plugins=(repo_root / "plugins").as_posix()))
    client = make_client(Settings(plan=plan, redis_url=settings.redis_url,
                                  key_prefix=settings.key_prefix))

    send_event(client, "DeviceCompleted")
    failed = wait_for_run(client, lambda run: run["seq"] == 2)
    client.post("/api/provision/device", json={"field1": "router", "field2": True})
    retried = client.post("/api/workflow/runs/default/retry")
    finished = wait_for_run(client, lambda run: run["status"] == "finished")

    assert failed["state"] == "plugin_gate"
    assert "no device on record" in failed["history"][-1]["error"]
    assert retried.status_code == 202
    assert finished["history"][-1]["event"] == "GateCompleted"


def test_events_refused_by_the_step_itself_are_409_with_its_reason(client: Client) -> None:
    send_event(client, "WelcomeCompleted")

    skipped = send_event(client, "TermsCompleted", status="skipped")
    unaccepted = send_event(client, "TermsCompleted", data={"accepted": False})

    assert skipped.status_code == unaccepted.status_code == 409
    assert "the terms cannot be skipped" in skipped.json()["detail"]
    assert "accept the terms to continue" in unaccepted.json()["detail"]
    assert client.get("/api/workflow").json()["state"] == "plugin_terms"
