"""Route handlers a plugin declares are served under /api/<route> and documented."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from workflow.settings import Settings

Client = TestClient[Litestar]

ECHO_PLUGIN = '''
import msgspec
from litestar import get, post
from litestar.params import FromPath, JSONBody

from workflow import Plugin


class Note(msgspec.Struct):
    text: str


@get("/notes/{name:str}")
async def read_note(name: FromPath[str]) -> Note:
    return Note(f"note {name}")


@post("/notes/{name:str}")
async def write_note(name: FromPath[str], data: JSONBody[Note]) -> Note:
    return data


plugin = Plugin(name="plugin_echo", route="echo", route_handlers=[read_note, write_note])
'''

ECHO_PLAN = """
[general]
product_family = "tests"
execution_plan_version = "1.0.0"

[[plugins]]
name = "plugin_echo"
plugin_route = "echo"
version = "1.0.0"
visible_in_ui = false
"""


def test_plugin_route_handlers_answer_and_are_documented(
    make_client: Callable[[Settings], Client], tmp_path: Path
) -> None:
    (tmp_path / "plugins" / "plugin_echo").mkdir(parents=True)
    (tmp_path / "plugins" / "plugin_echo" / "plugin.py").write_text(ECHO_PLUGIN)
    plan = tmp_path / "execution_plan.toml"
    plan.write_text(ECHO_PLAN)
    client = make_client(Settings(plan=plan))

    read = client.get("/api/echo/notes/a")
    written = client.post("/api/echo/notes/a", json={"text": "hi"})
    allowed = client.options("/api/echo/notes/a")

    assert (read.status_code, read.json()) == (200, {"text": "note a"})
    assert (written.status_code, written.json()) == (201, {"text": "hi"})
    assert allowed.headers["allow"] == "GET, OPTIONS, POST"
    assert "/api/echo/notes/{name}" in client.get("/schema/openapi.json").json()["paths"]
