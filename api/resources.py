"""REST CRUD for every resource a plugin declares, at ``/api/<route>/<resource>``.

The record rules live in :class:`workflow.records.RecordStore`; this module
only maps them to HTTP.  Handlers are built per resource, and each gets the
resource's own types in its annotations so the OpenAPI document shows the
real request and response bodies: ``Device`` to create or replace,
``DevicePatch`` to patch, ``DeviceRecord`` (``Device`` plus ``id``) back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union

import msgspec
from litestar import Router, delete, get, patch, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from api.bodies import JSONBytes, decode_body, documented_as
from api.errors import TOO_LARGE, UNAVAILABLE, error_responses
from api.options import with_options
from workflow.records import RecordStore

__all__ = ["ResourceCreated", "ResourceDeleted", "resource_router"]

ID_PATH = "/{record_id:str}"


class ResourceCreated(msgspec.Struct):
    """The answer to a create: the id the server gave the new record."""

    message: Literal["Resource created"]
    id: str


class ResourceDeleted(msgspec.Struct):
    """The answer to a delete."""

    message: Literal["Resource deleted"]
    id: str


@dataclass(frozen=True)
class _Types:
    """The struct a plugin declares, and the two derived from it for the documentation."""

    body: type[msgspec.Struct]
    record: type[msgspec.Struct]
    patch: type[msgspec.Struct]

    @classmethod
    def of(cls, struct: type[msgspec.Struct]) -> _Types:
        name, module = struct.__name__, struct.__module__
        record = msgspec.defstruct(
            f"{name}Record", [("id", str)], bases=(struct,), kw_only=True, module=module
        )
        record.__doc__ = f"A stored {name}: its fields and the id the server assigned."
        fields = msgspec.structs.fields(struct)
        patch = msgspec.defstruct(
            f"{name}Patch",
            [(f.name, Union[f.type, msgspec.UnsetType], msgspec.UNSET) for f in fields],  # noqa: UP007
            rename={f.name: f.encode_name for f in fields},
            module=module,
            forbid_unknown_fields=True,
        )
        patch.__doc__ = (
            f"A JSON merge patch (RFC 7396) of a {name}: fields to change; "
            "null removes an optional field."
        )
        return cls(struct, record, patch)


_ERRORS = {
    400: "the body is malformed JSON or does not fit the resource (detail names the field)",
    404: "no record has that id",
    **TOO_LARGE,
    **UNAVAILABLE,
}


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    """Document ``statuses``, and the 503 every call may answer."""
    return error_responses({status: _ERRORS[status] for status in (*statuses, 503)})


def _returning(handler: Callable[..., Any], annotation: Any) -> Callable[..., Any]:
    """Give ``handler`` the per-resource return type Litestar reads for the OpenAPI document."""
    handler.__annotations__["return"] = annotation
    return handler


def _collection_handlers(store: RecordStore, types: _Types) -> list[HTTPRouteHandler]:
    name, tags = store.type_name, [store.route]

    async def list_records() -> list[Any]:
        return await store.list_records()

    async def create_record(data: JSONBytes = b"") -> ResourceCreated:
        record = await store.create(decode_body(data))
        return ResourceCreated("Resource created", record["id"])

    listing = get("/", summary=f"List every {name}", tags=tags, responses=_errors())
    creating = post(
        "/", summary=f"Create a {name}; the server assigns its id", tags=tags,
        dto=documented_as(types.body), return_dto=None, responses=_errors(400, 413),
    )
    records = list[types.record]  # type: ignore[name-defined]
    return [listing(_returning(list_records, records)), creating(create_record)]


def _item_handlers(store: RecordStore, types: _Types) -> list[HTTPRouteHandler]:
    name, tags = store.type_name, [store.route]

    async def get_record(record_id: FromPath[str]) -> dict[str, Any]:
        return await store.get(record_id)

    async def replace_record(record_id: FromPath[str], data: JSONBytes = b"") -> dict[str, Any]:
        return await store.replace(record_id, decode_body(data))

    async def patch_record(record_id: FromPath[str], data: JSONBytes = b"") -> dict[str, Any]:
        return await store.patch(record_id, decode_body(data))

    async def delete_record(record_id: FromPath[str]) -> ResourceDeleted:
        await store.delete(record_id)
        return ResourceDeleted("Resource deleted", record_id)

    reading = get(ID_PATH, summary=f"Read one {name}", tags=tags, responses=_errors(404))
    replacing = put(
        ID_PATH, summary=f"Replace a {name}; an id in the body must match the path",
        tags=tags, dto=documented_as(types.body), return_dto=None, responses=_errors(400, 404, 413),
    )
    patching = patch(
        ID_PATH, summary=f"Change some fields of a {name} (JSON merge patch, RFC 7396)",
        tags=tags, dto=documented_as(types.patch), return_dto=None,
        responses=_errors(400, 404, 413),
    )
    deleting = delete(
        ID_PATH, summary=f"Delete a {name}", tags=tags, status_code=200, responses=_errors(404)
    )
    return [
        reading(_returning(get_record, types.record)),
        replacing(_returning(replace_record, types.record)),
        patching(_returning(patch_record, types.record)),
        deleting(delete_record),
    ]


def resource_router(store: RecordStore) -> Router:
    """Return the routes of one resource; there is no DELETE of the whole collection."""
    types = _Types.of(store.struct)
    handlers = [*_collection_handlers(store, types), *_item_handlers(store, types)]
    return Router(f"/api/{store.route}/{store.resource}", route_handlers=with_options(handlers))
