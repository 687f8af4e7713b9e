"""Resource records: what a plugin declares as a msgspec struct, stored by id.

A record store validates bodies against the struct, assigns ids, keeps the
records in the backend, and announces every change on ``<Type>Updated``.
Bodies are decoded JSON (a dict); stored records are JSON objects whose
``id`` comes first, followed by the struct's fields in their encoded form.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from workflow.backends import Backend
from workflow.bus import Bus
from workflow.errors import InvalidRecord, UnknownRecord
from workflow.messages import Envelope, encode_json, timestamp
from workflow.plugin import Plugin
from workflow.topics import updated_topic

__all__ = ["Record", "RecordStore", "merge_patch", "open_record_stores"]

ID = "id"

logger = logging.getLogger(__name__)

Record = dict[str, Any]
Change = Literal["created", "updated", "deleted"]

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_AT_PATH = re.compile(r"^(?P<message>.*) - at `\$\.?(?P<path>.*)`$")
_NAMED_FIELD = re.compile(r"field `(?P<field>[^`]+)`")


def merge_patch(target: Any, patch: Any) -> Any:
    """Return ``target`` changed by ``patch`` as RFC 7396 says; neither is modified."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _refusal(type_name: str, error: msgspec.ValidationError) -> InvalidRecord:
    """Turn msgspec's "Expected `str`, got `int` - at `$.field1`" into one naming the field."""
    text = str(error)
    located = _AT_PATH.match(text)
    message, path = (located["message"], located["path"]) if located else (text, "")
    named = _NAMED_FIELD.search(message)
    field = ".".join(part for part in (path, named["field"] if named else "") if part)
    if not field:
        return InvalidRecord(f"{type_name}: {message}")
    return InvalidRecord(f"{type_name}: {field}: {message}", field=field)


class RecordStore:
    """The records of one resource of one plugin (``/api/<route>/<resource>``)."""

    def __init__(
        self,
        backend: Backend,
        bus: Bus,
        *,
        route: str,
        resource: str,
        struct: type[msgspec.Struct],
        publisher: str = "api",
    ) -> None:
        self.route = route
        self.resource = resource
        self.struct = struct
        self.collection = f"{route}/{resource}"
        self.topic = updated_topic(struct.__name__)
        self._backend = backend
        self._bus = bus
        self._publisher = publisher
        self._fields = {field.encode_name: field for field in msgspec.structs.fields(struct)}

    @property
    def type_name(self) -> str:
        """The name of the record type (``Device``), which names the topic too."""
        return self.struct.__name__

    async def list_records(self) -> list[Record]:
        """Return every record of the resource, in no particular order."""
        return [_decode(data) for data in await self._backend.list_records(self.collection)]

    async def get(self, record_id: str) -> Record:
        """Return one record; UnknownRecord if there is none."""
        data = await self._backend.get_record(self.collection, record_id)
        if data is None:
            raise self._unknown(record_id)
        record: Record = _decode(data)
        return record

    async def create(self, body: Any) -> Record:
        """Validate ``body``, store it under a new id, announce it and return the record."""
        fields = self._object(body)
        if ID in fields:
            raise InvalidRecord(
                f"{self.type_name}: id: the server assigns ids; leave 'id' out", field=ID
            )
        valid = self._validate(fields)
        record = {ID: uuid.uuid4().hex, **valid}
        while not await self._backend.put_record(
            self.collection, record[ID], _encode(record), create=True
        ):
            record = {ID: uuid.uuid4().hex, **valid}  # the id was taken: draw another
        await self._announce("created", record[ID], record)
        return record

    async def replace(self, record_id: str, body: Any) -> Record:
        """Replace the whole record ``record_id`` with ``body``; UnknownRecord if absent."""
        fields = self._without_id(record_id, self._object(body))
        record = {ID: record_id, **self._validate(fields)}
        await self._store(record)
        return record

    async def patch(self, record_id: str, body: Any) -> Record:
        """Apply the JSON merge patch ``body`` to record ``record_id`` and store the result.

        The patch is written only onto the record it was merged with: when
        another change landed in between, it is merged again onto the newer
        record, so concurrent patches of different fields all take effect.
        """
        patch = self._without_id(record_id, self._object(body))
        self._check_removals(patch)
        while True:
            data = await self._backend.get_record(self.collection, record_id)
            if data is None:
                raise self._unknown(record_id)
            stored: Record = _decode(data)
            stored.pop(ID, None)
            record = {ID: record_id, **self._validate(self._merged(stored, patch))}
            if await self._backend.put_record(
                self.collection, record_id, _encode(record), expected=data
            ):
                break
        await self._announce("updated", record_id, record)
        return record

    async def delete(self, record_id: str) -> None:
        """Delete record ``record_id`` and announce it; UnknownRecord if absent."""
        if not await self._backend.delete_record(self.collection, record_id):
            raise self._unknown(record_id)
        await self._announce("deleted", record_id, None)

    def _object(self, body: Any) -> Record:
        if not isinstance(body, dict):
            kind = type(body).__name__ if body is not None else "null"
            raise InvalidRecord(f"{self.type_name}: expected a JSON object, got {kind}")
        return body

    def _without_id(self, record_id: str, fields: Record) -> Record:
        if ID not in fields:
            return fields
        if fields[ID] != record_id:
            raise InvalidRecord(
                f"{self.type_name}: id: {fields[ID]!r} in the body differs from {record_id!r} "
                "in the path",
                field=ID,
            )
        return {key: value for key, value in fields.items() if key != ID}

    def _check_removals(self, patch: Record) -> None:
        self._check_known(patch)  # a null for a field the struct lacks is no removal either
        for name, value in patch.items():
            field = self._fields.get(name)
            if value is None and field is not None and field.required:
                raise InvalidRecord(
                    f"{self.type_name}: {name}: a required field cannot be removed (set to null)",
                    field=name,
                )

    def _merged(self, stored: Record, patch: Record) -> Record:
        try:
            merged: Record = merge_patch(stored, patch)
        except RecursionError as exc:
            raise self._too_deep() from exc
        return merged

    def _too_deep(self) -> InvalidRecord:
        return InvalidRecord(f"{self.type_name}: the body is nested too deeply")

    def _check_known(self, fields: Record) -> None:
        unknown = sorted(set(fields) - set(self._fields))
        if unknown:
            raise InvalidRecord(
                f"{self.type_name}: {unknown[0]}: unknown field; expected only "
                f"{', '.join(self._fields)}",
                field=unknown[0],
            )

    def _validate(self, fields: Record) -> Record:
        """Check ``fields`` exactly as a JSON body is decoded; return them in stored form."""
        self._check_known(fields)
        try:
            value = _decode(_encode(fields), type=self.struct)
        except msgspec.ValidationError as exc:
            raise _refusal(self.type_name, exc) from exc
        except RecursionError as exc:  # a body decoded just below the depth limit
            raise self._too_deep() from exc
        valid: Record = msgspec.to_builtins(value)
        return valid

    async def _store(self, record: Record) -> None:
        if not await self._backend.put_record(self.collection, record[ID], _encode(record)):
            raise self._unknown(record[ID])
        await self._announce("updated", record[ID], record)

    def _unknown(self, record_id: str) -> UnknownRecord:
        return UnknownRecord(f"no {self.type_name} with id {record_id!r}")

    async def _announce(self, change: Change, record_id: str, record: Record | None) -> None:
        logger.info("%s %s: %s by %s", self.type_name, record_id, change, self._publisher)
        payload = encode_json({"status": change, "id": record_id, "record": record})
        await self._bus.announce(Envelope(self._publisher, self.topic, payload, timestamp()))


def open_record_stores(
    plugins: Iterable[Plugin], backend: Backend, bus: Bus
) -> dict[tuple[str, str], RecordStore]:
    """Return a store for every resource the plugins declare, by (route, resource)."""
    return {
        (plugin.route, resource): RecordStore(
            backend, bus, route=plugin.route, resource=resource, struct=struct
        )
        for plugin in plugins
        for resource, struct in plugin.resources.items()
    }
