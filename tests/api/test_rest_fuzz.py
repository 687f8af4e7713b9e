"""Hostile input over REST: generated requests against the product's own OpenAPI document.

Schemathesis reads the OpenAPI document of the product's plan and sends every
operation valid and invalid requests, to a real ``workflow serve`` process on
that plan.  Every answer must be documented (status, content type, body
schema), no answer may be a 5xx, valid requests must not be refused with 400
and invalid ones must be.  The run is derandomized, so CI sees the same
requests every time.

The document is built in-process at collection, because schemathesis reads a
schema from a fixture through a pytest internal that pytest 9 removed; a test
checks that the server serves the very same document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import encode_json
from schemathesis.generation.case import Case

from api import create_app
from tests.conftest import ROOT
from tests.server import ServerProcess
from workflow.settings import Settings

PLAN = ROOT / "execution_plan.toml"
MAX_BODY = 4096

DOCUMENT = json.loads(encode_json(create_app(Settings(plan=PLAN)).openapi_schema.to_schema()))
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on the product's plan, in memory, with a small body limit."""
    log = tmp_path_factory.mktemp("fuzz") / "serve.log"
    process = ServerProcess(PLAN, args=("--max-body-size", str(MAX_BODY)), log=log)
    process.start()
    yield process
    process.stop()


@schema.parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_rest_generated_requests_get_documented_answers_and_no_5xx(
    case: Case[Any], server: ServerProcess
) -> None:
    case.call_and_validate(base_url=server.url, timeout=10)


def test_rest_fuzzed_document_is_the_one_the_server_serves(server: ServerProcess) -> None:
    served = httpx.get(f"{server.url}/schema/openapi.json").json()

    assert served == DOCUMENT
    assert {"/api/workflow/runs/{run_id}/events", "/api/provision/device/{record_id}",
            "/healthz"} <= set(served["paths"])


@pytest.mark.parametrize("path", ["/api/provision/device", "/api/workflow/runs"])
def test_rest_chunked_body_over_the_limit_is_413(server: ServerProcess, path: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"field1": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'", "field2": true}'

    response = httpx.post(f"{server.url}{path}", content=chunks(),
                          headers={"content-type": "application/json"})

    assert response.status_code == 413


def test_rest_deeply_nested_json_is_400(server: ServerProcess) -> None:
    depth = MAX_BODY // 2 - 80
    data = "[" * depth + "]" * depth
    body = f'{{"topic": "WelcomeCompleted", "status": "completed", "data": {data}}}'

    response = httpx.post(f"{server.url}/api/workflow/runs/default/events", content=body,
                          headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert "deep" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/workflow/runs", "GET, OPTIONS, POST"),
     ("/api/provision/device/x", "DELETE, GET, OPTIONS, PATCH, PUT")],
)
def test_rest_options_lists_every_method_of_the_path(
    server: ServerProcess, path: str, allowed: str
) -> None:
    response = httpx.options(f"{server.url}{path}")

    assert response.status_code == 204
    assert response.headers["allow"] == allowed
