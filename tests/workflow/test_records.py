"""Record stores: JSON merge patches as RFC 7396 defines them, and stores by resource."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest

from workflow import Plugin, PluginError, UnknownRecord
from workflow.backends import Backend, MemoryBackend
from workflow.bus import Bus
from workflow.engine import Engine
from workflow.plan import load_plan
from workflow.records import merge_patch, open_record_stores


# The examples of RFC 7396, appendix A.
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7396(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_its_inputs_alone() -> None:
    target, patch = {"a": {"b": 1}}, {"a": {"b": None, "c": 2}}

    merge_patch(target, patch)

    assert (target, patch) == ({"a": {"b": 1}}, {"a": {"b": None, "c": 2}})


class Device(msgspec.Struct):
    field1: str


class Gadget(msgspec.Struct):
    name: str
    labels: dict[str, str] = {}


def test_record_stores_exist_for_every_declared_resource() -> None:
    backend = MemoryBackend()
    plugins = [
        Plugin(name="plugin_provisioning", route="provision", resources={"device": Device}),
        Plugin(name="plugin_finish", route="finish"),
    ]

    stores = open_record_stores(plugins, backend, Bus(backend))

    assert list(stores) == [("provision", "device")]
    store = stores["provision", "device"]
    assert (store.collection, store.topic, store.type_name) == (
        "provision/device", "DeviceUpdated", "Device"
    )


def test_engine_record_store_names_a_missing_resource(repo_root: Path) -> None:
    engine = Engine(load_plan(repo_root / "execution_plan.toml"), MemoryBackend())

    with pytest.raises(PluginError, match=r"'provision'.*'device'"):
        engine.record_store("provision", "device")


async def test_concurrent_patches_of_one_record_all_take_effect(backend: Backend) -> None:
    plugin = Plugin(name="plugin_catalog", route="catalog", resources={"gadget": Gadget})
    store = open_record_stores([plugin], backend, Bus(backend))["catalog", "gadget"]
    created = await store.create({"name": "lamp"})

    patches = [store.patch(created["id"], {"labels": {f"k{i}": f"v{i}"}}) for i in range(40)]
    await asyncio.gather(*patches)

    stored = await store.get(created["id"])
    assert stored["labels"] == {f"k{i}": f"v{i}" for i in range(40)}
    assert stored["name"] == "lamp"


async def test_a_patch_racing_a_delete_reports_the_record_gone(backend: Backend) -> None:
    plugin = Plugin(name="plugin_catalog", route="catalog", resources={"gadget": Gadget})
    store = open_record_stores([plugin], backend, Bus(backend))["catalog", "gadget"]
    created = await store.create({"name": "lamp"})

    results = await asyncio.gather(
        store.delete(created["id"]),
        store.patch(created["id"], {"name": "desk lamp"}),
        return_exceptions=True,
    )

    assert results[0] is None
    assert isinstance(results[1], UnknownRecord) or results[1]["name"] == "desk lamp"
    assert await backend.get_record(store.collection, created["id"]) is None
