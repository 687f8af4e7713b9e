"""REST CRUD of plugin resources: every row of the contract, and what bad input gets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.conftest import Stream
from workflow.settings import Settings

DEVICES = "/api/provision/device"
GADGETS = "/api/catalog/gadget"
DEVICE = {"field1": "router", "field2": True}
SIZE = {"width": 2, "height": 3}
GADGET = {"name": "lamp", "size": SIZE}

Client = TestClient[Litestar]


def create(client: Client, body: dict[str, Any], url: str = DEVICES) -> str:
    response = client.post(url, json=body)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


@pytest.fixture
def catalog(
    make_client: Callable[[Settings], Client], settings: Settings, catalog_plan: Path
) -> Client:
    """An app whose plan also declares the Gadget resource."""
    return make_client(Settings(
        plan=catalog_plan, redis_url=settings.redis_url, key_prefix=settings.key_prefix
    ))


def test_device_list_is_an_array_of_every_record(client: Client) -> None:
    assert client.get(DEVICES).json() == []
    first, second = create(client, DEVICE), create(client, {**DEVICE, "field1": "phone"})

    response = client.get(DEVICES)

    assert response.status_code == 200
    assert sorted(response.json(), key=lambda r: r["field1"]) == [
        {"id": second, "field1": "phone", "field2": True},
        {"id": first, "field1": "router", "field2": True},
    ]


def test_device_create_answers_201_with_a_new_id(client: Client) -> None:
    response = client.post(DEVICES, json=DEVICE)
    other = client.post(DEVICES, json=DEVICE)

    assert response.status_code == 201
    body = response.json()
    assert body == {"message": "Resource created", "id": body["id"]}
    assert body["id"] and body["id"] != other.json()["id"]


def test_device_get_returns_the_record_with_its_id(client: Client) -> None:
    record_id = create(client, DEVICE)

    response = client.get(f"{DEVICES}/{record_id}")

    assert response.status_code == 200
    assert response.json() == {"id": record_id, **DEVICE}


def test_device_put_replaces_the_whole_record(client: Client) -> None:
    record_id = create(client, DEVICE)
    replacement = {"field1": "switch", "field2": False}

    response = client.put(f"{DEVICES}/{record_id}", json=replacement)

    assert response.status_code == 200
    assert response.json() == {"id": record_id, **replacement}
    assert client.get(f"{DEVICES}/{record_id}").json() == {"id": record_id, **replacement}


def test_device_put_accepts_the_path_id_in_the_body(client: Client) -> None:
    record_id = create(client, DEVICE)

    response = client.put(f"{DEVICES}/{record_id}", json={"id": record_id, **DEVICE})

    assert response.status_code == 200
    assert response.json() == {"id": record_id, **DEVICE}


def test_device_patch_changes_only_the_fields_given(client: Client) -> None:
    record_id = create(client, DEVICE)

    response = client.patch(f"{DEVICES}/{record_id}", json={"field2": False})

    assert response.status_code == 200
    assert response.json() == {"id": record_id, "field1": "router", "field2": False}
    assert client.get(f"{DEVICES}/{record_id}").json()["field2"] is False


def test_device_delete_answers_200_and_the_record_is_gone(client: Client) -> None:
    record_id = create(client, DEVICE)

    response = client.delete(f"{DEVICES}/{record_id}")

    assert response.status_code == 200
    assert response.json() == {"message": "Resource deleted", "id": record_id}
    assert client.get(f"{DEVICES}/{record_id}").status_code == 404
    assert client.get(DEVICES).json() == []


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PUT", DEVICE), ("PATCH", {"field2": False}),
                         ("DELETE", None)],
)
def test_device_unknown_id_is_404(client: Client, method: str, body: Any) -> None:
    response = client.request(method, f"{DEVICES}/no-such-id", json=body)

    assert response.status_code == 404
    assert "no-such-id" in response.json()["detail"]


def test_device_collection_cannot_be_deleted(client: Client) -> None:
    record_id = create(client, DEVICE)

    response = client.delete(DEVICES)

    assert response.status_code == 405
    assert client.get(f"{DEVICES}/{record_id}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field1": 7, "field2": True}, "field1"),
        ({"field1": "router", "field2": "true"}, "field2"),
        ({"field1": "router"}, "field2"),
        ({**DEVICE, "colour": "red"}, "colour"),
        ({**DEVICE, "id": "mine"}, "id"),
    ],
    ids=["wrong-type", "string-for-bool", "missing-field", "unknown-field", "id-in-post"],
)
def test_device_create_refuses_a_bad_body_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = client.post(DEVICES, json=body)

    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert response.json()["extra"] == {"field": field}
    assert client.get(DEVICES).json() == []


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("PUT", {"field1": "x"}, "field2"),
        ("PUT", {**DEVICE, "id": "other"}, "id"),
        ("PATCH", {"id": "other"}, "id"),
        ("PATCH", {"field1": None}, "field1"),
        ("PATCH", {"field2": 1}, "field2"),
        ("PATCH", {"colour": "red"}, "colour"),
        ("PATCH", {"colour": None}, "colour"),
    ],
    ids=["put-missing", "put-other-id", "patch-other-id", "patch-null-required",
         "patch-wrong-type", "patch-unknown", "patch-null-unknown"],
)
def test_device_change_refuses_a_bad_body_and_keeps_the_record(
    client: Client, method: str, body: dict[str, Any], field: str
) -> None:
    record_id = create(client, DEVICE)

    response = client.request(method, f"{DEVICES}/{record_id}", json=body)

    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert client.get(f"{DEVICES}/{record_id}").json() == {"id": record_id, **DEVICE}


@pytest.mark.parametrize(
    "content",
    [b'{"field1": "router",', b"", b"not json", b"\xff\xfe", b"[" * 10_000, b"null", b"[]",
     b'"text"', b"42"],
    ids=["truncated", "empty", "words", "not-utf8", "deep", "null", "array", "string", "number"],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_device_bad_json_is_400_never_500(client: Client, method: str, content: bytes) -> None:
    record_id = create(client, DEVICE)
    url = DEVICES if method == "POST" else f"{DEVICES}/{record_id}"

    response = client.request(method, url, content=content,
                              headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_device_body_nested_near_the_limits_is_400_never_500(client: Client, method: str) -> None:
    # Decoding, validating and merging give up at depths near a thousand that move
    # with the stack: every depth around them is tried.
    record_id = create(client, DEVICE)
    url = DEVICES if method == "POST" else f"{DEVICES}/{record_id}"
    for depth in range(900, 1050):
        body = b'{"field1": ' + b"[" * depth + b"1" + b"]" * depth + b', "field2": true}'

        response = client.request(method, url, content=body,
                                  headers={"content-type": "application/json"})

        assert response.status_code == 400, depth
    assert client.get(DEVICES).json() == [{"id": record_id, **DEVICE}]


def test_device_body_over_the_limit_is_413(client: Client) -> None:
    record_id = create(client, DEVICE)
    huge = {"field1": "x" * (1024 * 1024), "field2": True}

    assert client.post(DEVICES, json=huge).status_code == 413
    assert client.put(f"{DEVICES}/{record_id}", json=huge).status_code == 413
    assert client.get(DEVICES).json() == [{"id": record_id, **DEVICE}]


def test_device_body_limit_follows_the_settings(
    make_client: Callable[[Settings], Client], plan_path: Path
) -> None:
    small = make_client(Settings(plan=plan_path, max_body_size=64))

    assert small.post(DEVICES, json={"field1": "x" * 64, "field2": True}).status_code == 413
    assert small.post(DEVICES, json=DEVICE).status_code == 201


def test_device_changes_are_announced_on_device_updated(
    client: Client, connect: Callable[..., Stream]
) -> None:
    stream = connect("watcher")
    stream.subscribe("DeviceUpdated")

    record_id = create(client, DEVICE)
    created = stream.receive_payload("DeviceUpdated")
    client.put(f"{DEVICES}/{record_id}", json={"field1": "switch", "field2": False})
    replaced = stream.receive_payload("DeviceUpdated")
    client.patch(f"{DEVICES}/{record_id}", json={"field2": True})
    patched = stream.receive_payload("DeviceUpdated")
    client.delete(f"{DEVICES}/{record_id}")
    deleted = stream.receive_payload("DeviceUpdated")

    assert created == {"status": "created", "id": record_id, "record": {"id": record_id, **DEVICE}}
    assert replaced == {"status": "updated", "id": record_id,
                        "record": {"id": record_id, "field1": "switch", "field2": False}}
    assert patched == {"status": "updated", "id": record_id,
                       "record": {"id": record_id, "field1": "switch", "field2": True}}
    assert deleted == {"status": "deleted", "id": record_id, "record": None}


def test_device_refused_change_is_not_announced(
    client: Client, connect: Callable[..., Stream]
) -> None:
    stream = connect("watcher")
    stream.subscribe("DeviceUpdated")

    client.post(DEVICES, json={"field1": 1})
    client.delete(f"{DEVICES}/missing")

    assert stream.is_silent()


def test_gadget_create_fills_defaults_and_checks_nested_fields(catalog: Client) -> None:
    record_id = create(catalog, GADGET, GADGETS)
    nested = catalog.post(GADGETS, json={**GADGET, "size": {"width": 2}})
    nested_unknown = catalog.post(GADGETS, json={**GADGET, "size": {**SIZE, "d": 1}})

    assert catalog.get(f"{GADGETS}/{record_id}").json() == {
        "id": record_id, **GADGET, "count": 1, "note": None, "tags": [],
    }
    assert nested.status_code == 400
    assert "size.height" in nested.json()["detail"]
    assert nested_unknown.status_code == 400
    assert "size.d" in nested_unknown.json()["detail"]


def test_gadget_patch_merges_nested_objects_and_null_removes(catalog: Client) -> None:
    record_id = create(catalog, {**GADGET, "note": "fragile", "count": 4}, GADGETS)

    response = catalog.patch(
        f"{GADGETS}/{record_id}", json={"size": {"height": 9}, "note": None, "count": None}
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": record_id, "name": "lamp", "size": {"width": 2, "height": 9},
        "count": 1, "note": None, "tags": [],
    }


def test_openapi_documents_every_resource_route(catalog: Client) -> None:
    document = catalog.get("/schema/openapi.json").json()
    paths, schemas = document["paths"], document["components"]["schemas"]

    def ref(operation: dict[str, Any], status: str) -> str:
        ref_: str = operation["responses"][status]["content"]["application/json"]["schema"]
        return str(ref_)

    for resource, kind in (("provision/device", "Device"), ("catalog/gadget", "Gadget")):
        collection, item = paths[f"/api/{resource}"], paths[f"/api/{resource}/{{record_id}}"]
        assert set(collection) & {"get", "post", "delete"} == {"get", "post"}
        assert set(item) >= {"get", "put", "patch", "delete"}
        body = collection["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{kind}"}
        patch = item["patch"]["requestBody"]["content"]["application/json"]["schema"]
        assert patch == {"$ref": f"#/components/schemas/{kind}Patch"}
        assert f"{kind}Record" in ref(item["get"], "200")
        assert "ResourceCreated" in ref(collection["post"], "201")
        assert "ResourceDeleted" in ref(item["delete"], "200")
        assert {"400", "413"} <= set(collection["post"]["responses"])
        assert "404" in item["put"]["responses"]
    assert set(schemas["DeviceRecord"]["required"]) == {"id", "field1", "field2"}
    assert schemas["DevicePatch"]["required"] == []
    assert set(schemas["Gadget"]["required"]) == {"name", "size"}
