"""Errors nobody expected: answered 500 without details, and logged for the operator."""

from __future__ import annotations

import logging

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.conftest import engine_of

Client = TestClient[Litestar]


@pytest.mark.parametrize("backend_url", ["memory"], indirect=True)
def test_unexpected_error_is_a_bare_500_and_is_logged(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine_of(client), "list_runs", broken)

    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = client.get("/api/workflow/runs")

    assert response.status_code == 500
    assert "disk on fire" not in response.text
    assert "GET /api/workflow/runs failed" in caplog.text
    assert "disk on fire" in caplog.text


@pytest.mark.parametrize("backend_url", ["memory"], indirect=True)
def test_expected_refusals_are_not_logged_as_errors(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        client.get("/api/workflow/runs/nope")
        client.post("/api/provision/device", json={"field1": 1})

    assert not caplog.records
