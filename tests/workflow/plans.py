"""Writing execution plans, with their plugin folders, for tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["plugin_entry", "write_plan"]

GENERAL = {"product_family": "test", "execution_plan_version": "1.0.0"}


def plugin_entry(name: str, route: str | None = None, **fields: Any) -> dict[str, Any]:
    """Return a [[plugins]] entry with the required fields set."""
    entry = {"name": name, "plugin_route": route or name.replace("_", "-"), "version": "1.0.0"}
    entry.update(fields)
    return entry


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return str(value)


def _table(header: str, values: Mapping[str, Any]) -> str:
    lines = [header] + [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write_plan(
    folder: Path,
    plugins: Iterable[Mapping[str, Any]],
    *,
    general: Mapping[str, Any] = GENERAL,
    extra: str = "",
    make_folders: bool = True,
) -> Path:
    """Write ``execution_plan.toml`` in ``folder`` and a plugin folder for each entry."""
    plugins = list(plugins)
    text = _table("[general]", general)
    for entry in plugins:
        text += "\n" + _table("[[plugins]]", entry)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "execution_plan.toml"
    path.write_text(text + extra)
    if make_folders:
        for entry in plugins:
            _write_plugin(folder / entry.get("plugin_base_path", "./plugins"), entry)
    return path


def _write_plugin(base: Path, entry: Mapping[str, Any]) -> None:
    plugin = base / str(entry["name"])
    plugin.mkdir(parents=True, exist_ok=True)
    (plugin / "plugin.py").write_text(
        "from workflow import Plugin\n\n"
        f"plugin = Plugin(name={entry['name']!r}, route={entry['plugin_route']!r})\n"
    )
