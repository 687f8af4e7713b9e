"""Request bodies: handed to handlers as raw bytes, described in OpenAPI by a struct.

Litestar would decode a ``data: Device`` parameter itself, in its lax mode
(``"true"`` becomes ``True``) and with its own error text.  The contract asks
for strict JSON and errors that name the field, and a merge patch is no
``Device`` at all, so handlers take the bytes and decode them here, while
``PassThroughDTO[Device]`` keeps the OpenAPI document describing the real body.
What the document says of bodies is what decoding enforces: structs that
refuse unknown fields are closed objects, and an optional body is optional.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

# Litestar 2 exports no name for its msgspec schema plugin; closing structs extends it.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.exceptions import ClientException
from litestar.openapi.spec import Operation, Reference, RequestBody, Schema
from litestar.params import JSONBody
from litestar.typing import FieldDefinition

__all__ = [
    "ClosedStructSchemas",
    "JSONBytes",
    "OptionalBody",
    "PassThroughDTO",
    "decode_body",
    "documented_as",
]

T = TypeVar("T")

#: The ``data`` annotation of a handler that decodes its JSON body itself.
JSONBytes = JSONBody[bytes]


class PassThroughDTO(AbstractDTO[T], Generic[T]):
    """Passes the request body through untouched; documents it as ``T``."""

    @classmethod
    def create_for_field_definition(
        cls,
        field_definition: FieldDefinition,
        handler_id: str,
        backend_cls: Any = None,
    ) -> None:
        """Nothing to prepare: the body is not transformed."""

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        """Describe the body as the struct the handler validates it against."""
        schema: Reference | Schema = schema_creator.for_field_definition(
            FieldDefinition.from_annotation(cls.model_type)
        )
        return schema

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        """Unused: a raw body has no transfer model."""
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        """Unused: a raw body has no transfer model."""
        return False

    def decode_bytes(self, value: bytes) -> bytes:
        """Return the body as it arrived."""
        return value


def documented_as(struct: type[Any]) -> type[PassThroughDTO[Any]]:
    """A DTO that hands the body over untouched, documented as ``struct``."""
    return PassThroughDTO[struct]  # type: ignore[valid-type]


class ClosedStructSchemas(StructSchemaPlugin):
    """Documents as closed objects the structs whose unknown fields are refused.

    Those are the structs that say ``forbid_unknown_fields``, and ``closed``:
    the resource structs, whose bodies the record store checks field by field.
    """

    def __init__(self, closed: Iterable[type[msgspec.Struct]] = ()) -> None:
        self._closed = frozenset(closed)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        """Describe the struct as Litestar does, closed when decoding refuses unknown fields."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        if struct in self._closed or struct.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


@dataclass
class OptionalBody(Operation):
    """An operation whose request body may be left out."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


def decode_body(data: bytes, type_: Any = Any) -> Any:
    """Decode a JSON body strictly as ``type_``; a 400 says where it breaks or which field.

    Strict means JSON types as they are: ``"true"`` is no ``bool``.
    """
    if not data.strip():
        raise ClientException("expected a JSON body, got none")
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        raise ClientException(f"invalid body: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ClientException(f"malformed JSON body: {exc}") from exc
    except RecursionError as exc:
        raise ClientException("malformed JSON body: nested too deeply") from exc
