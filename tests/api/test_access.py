"""The access token and allowed origins: who may read and write over REST and /ws."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tests.api.conftest import OWN_HOST, Stream
from workflow.settings import Settings

Client = TestClient[Litestar]
DEVICE = {"field1": "router", "field2": True}
TOKEN = "s3cret-token"
BEARER = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def closed(make_client: Callable[[Settings], Client], plan_path: Path) -> Client:
    """An app that needs TOKEN for reads of /api and for listening on /ws too."""
    return make_client(Settings(plan=plan_path, access_token=TOKEN, protect_reads=True))


@pytest.fixture
def guarded(make_client: Callable[[Settings], Client], plan_path: Path) -> Client:
    """An app that needs TOKEN for writes and allows one extra origin."""
    return make_client(Settings(
        plan=plan_path, access_token=TOKEN, allowed_origins=("https://kiosk.example",)
    ))


def test_write_without_the_token_is_401_and_changes_nothing(guarded: Client) -> None:
    missing = guarded.post("/api/provision/device", json=DEVICE)
    wrong = guarded.post("/api/provision/device", json=DEVICE,
                         headers={"authorization": "Bearer nope"})
    other_scheme = guarded.post("/api/provision/device", json=DEVICE,
                                headers={"authorization": f"Basic {TOKEN}"})

    assert (missing.status_code, wrong.status_code, other_scheme.status_code) == (401, 401, 401)
    assert guarded.get("/api/provision/device").json() == []


def test_write_with_the_token_goes_through(guarded: Client) -> None:
    created = guarded.post("/api/provision/device", json=DEVICE, headers=BEARER)
    event = guarded.post("/api/workflow/runs/default/events", headers=BEARER,
                         json={"topic": "WelcomeCompleted", "status": "completed"})

    assert (created.status_code, event.status_code) == (201, 200)


def test_reads_need_no_token(guarded: Client) -> None:
    assert guarded.get("/api/workflow").status_code == 200
    assert guarded.get("/api/provision/device").status_code == 200


@pytest.mark.parametrize(
    ("origin", "status"),
    [("https://evil.example", 403), (f"http://{OWN_HOST}", 201),
     ("https://kiosk.example", 201)],
    ids=["foreign", "same-origin", "allowed"],
)
def test_browser_write_is_let_through_only_from_allowed_origins(
    guarded: Client, origin: str, status: int
) -> None:
    response = guarded.post("/api/provision/device", json=DEVICE,
                            headers={**BEARER, "origin": origin})

    assert response.status_code == status


@pytest.mark.parametrize(
    ("host", "status"),
    [("evil.example:8081", 400), ("localhost:8081", 201), ("[::1]:8081", 201),
     ("kiosk.example", 201), ("kiosk.example:443", 201), ("kiosk.example:8443", 400)],
    ids=["rebound-name", "localhost", "ipv6-loopback", "allowed-origin-host",
         "allowed-origin-default-port", "allowed-origin-other-port"],
)
def test_loopback_server_answers_only_to_its_own_host_names(
    guarded: Client, host: str, status: int
) -> None:
    origin = {"origin": f"http://{host}"}  # what a page served under that name sends

    response = guarded.post("/api/provision/device", json=DEVICE,
                            headers={**BEARER, **origin, "host": host})

    assert response.status_code == status
    assert len(guarded.get("/api/provision/device").json()) == (status == 201)


def test_server_bound_elsewhere_answers_to_any_host_name(
    make_client: Callable[[Settings], Client], plan_path: Path
) -> None:
    open_bind = make_client(Settings(plan=plan_path, host="0.0.0.0", access_token=TOKEN))

    response = open_bind.get("/api/workflow", headers={"host": "onboarding.internal"})

    assert response.status_code == 200


def test_ws_without_the_token_may_listen_but_not_publish(guarded: Client) -> None:
    with guarded.websocket_connect("/ws") as session:
        stream = Stream(session)
        stream.send("subscribe:news")
        stream.publish("news", "x")

        refusal = stream.receive()

    assert refusal["topic"] == "ProtocolError" and "token" in refusal["payload"]


@pytest.mark.parametrize(
    "way", [{"params": {"token": TOKEN}}, {"headers": BEARER}], ids=["query", "header"]
)
def test_ws_with_the_token_may_publish(guarded: Client, way: dict[str, dict[str, str]]) -> None:
    with guarded.websocket_connect("/ws", **way) as session:  # type: ignore[arg-type]
        stream = Stream(session)
        stream.subscribe("news")
        stream.publish("news", "x")

        assert stream.receive()["payload"] == "x"


@pytest.mark.parametrize(
    "way", [{"params": {"token": "nope"}}, {"headers": {"origin": "https://evil.example"}}],
    ids=["wrong-token", "foreign-origin"],
)
def test_ws_handshake_is_refused_for_a_wrong_token_or_origin(
    guarded: Client, way: dict[str, dict[str, str]]
) -> None:
    with (
        guarded.websocket_connect("/ws", **way) as session,  # type: ignore[arg-type]
        pytest.raises(WebSocketDisconnect) as refused,
    ):
        session.receive_text()

    assert refused.value.code == 1008


def test_ws_without_a_token_configured_anyone_may_publish(client: Client) -> None:
    with client.websocket_connect("/ws") as session:
        stream = Stream(session)
        stream.subscribe("news")
        stream.publish("news", "x")

        assert stream.receive()["payload"] == "x"


@pytest.mark.parametrize("path", ["/api/workflow", "/api/workflow/runs", "/api/provision/device",
                                  "/api/workflow/graph", "/api/workflow/plan"])
def test_protected_reads_need_the_token(closed: Client, path: str) -> None:
    refused = closed.get(path)
    shown = closed.get(path, headers=BEARER)

    assert refused.status_code == 401
    assert "token" in refused.json()["detail"]
    assert shown.status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/schema/openapi.json", "/"])
def test_protected_reads_leave_health_schema_and_pages_open(closed: Client, path: str) -> None:
    assert closed.get(path).status_code == 200


def test_protected_reads_leave_options_open(closed: Client) -> None:
    response = closed.options("/api/workflow/runs")

    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS, POST"


def test_protected_reads_refuse_a_ws_handshake_without_the_token(closed: Client) -> None:
    with closed.websocket_connect("/ws") as session, pytest.raises(WebSocketDisconnect) as refused:
        session.receive_text()

    assert refused.value.code == 1008
    assert "token" in refused.value.detail


def test_protected_reads_let_a_ws_client_with_the_token_listen(closed: Client) -> None:
    with closed.websocket_connect("/ws", params={"token": TOKEN}) as session:
        stream = Stream(session)
        stream.subscribe("news")
        stream.publish("news", "x")

        assert stream.receive()["payload"] == "x"


def test_openapi_documents_the_token_and_the_refusals(closed: Client, guarded: Client) -> None:
    closed_doc = closed.get("/schema/openapi.json").json()
    guarded_paths = guarded.get("/schema/openapi.json").json()["paths"]

    scheme = closed_doc["components"]["securitySchemes"]["accessToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    create = closed_doc["paths"]["/api/provision/device"]["post"]
    assert {"401", "403"} <= set(create["responses"])
    assert create["security"] == [{"accessToken": []}]
    assert "401" in closed_doc["paths"]["/api/provision/device"]["get"]["responses"]
    assert "401" not in closed_doc["paths"]["/healthz"]["get"]["responses"]
    assert "401" not in guarded_paths["/api/provision/device"]["get"]["responses"]
    assert "security" not in guarded_paths["/api/provision/device"]["get"]


def test_openapi_without_a_token_documents_only_foreign_origins(client: Client) -> None:
    document = client.get("/schema/openapi.json").json()
    create = document["paths"]["/api/provision/device"]["post"]

    assert "securitySchemes" not in document["components"]
    assert "403" in create["responses"] and "401" not in create["responses"]


def test_healthz_with_reads_protected_names_no_address(
    make_client: Callable[[Settings], Client], plan_path: Path, redis_url: str, key_prefix: str
) -> None:
    client = make_client(Settings(plan=plan_path, redis_url=redis_url, key_prefix=key_prefix,
                                  access_token=TOKEN, protect_reads=True))

    assert client.get("/healthz").json() == {"status": "ok", "backend": "redis"}
