"""Request bodies: declared as msgspec Structs in the OpenAPI document, decoded by our own decoders.

A route takes `data: SomeStruct` with `dto=json_body(SomeStruct, decode)`: the document shows the Struct's
schema, and the raw bytes go to `decode` (once, at the edge) instead of Litestar's lenient conversion, so
bad input stays a 400 naming the field exactly as the decoders say (`decode_body`), numbers can be read
exactly (the initial equity) and strings are never coerced into booleans or integers.

An empty body never reaches `decode` (Litestar hands the route `None`): `require_body` answers it with the
400 a required body gives; optional bodies (`optional_body_operation`) take their defaults.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import msgspec
from litestar.dto import AbstractDTO
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.openapi.spec import Operation, Reference, Schema
from litestar.typing import FieldDefinition

from api_server.errors import BadRequest

T = TypeVar("T", bound=msgspec.Struct)

_BACKTICK_FIELD = re.compile(r"field `([^`]+)`")
_PATH_FIELD = re.compile(r"\$\.([A-Za-z0-9_]+)")


def decode_body(raw: bytes, kind: type[T]) -> T:
    """JSON body -> `kind`; any problem is a 400 naming the field."""
    if not raw or not raw.strip():
        raise BadRequest("a JSON body is required", field="body")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _BACKTICK_FIELD.search(text) or _PATH_FIELD.search(text)
        field = match.group(1) if match else "body"
        raise BadRequest(f"{field}: {text}" if field != "body" else f"body: {text}", field=field) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body: invalid JSON ({exc})", field="body") from None


def decode_optional_body(raw: bytes, kind: type[T]) -> T:
    """An optional JSON object body: empty means all defaults; bad input is a 400 naming the field."""
    if not raw.strip():
        return kind()
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit("$.", 1)[-1].strip("`' ") if "$." in text else "body"
        raise BadRequest(f"{field}: {text}", field=field) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body: not valid JSON ({exc})", field="body") from None


class _StructBody(AbstractDTO):  # type: ignore[type-arg]
    """A DTO that only decodes (with `decoder`) and documents the Struct; it builds no transfer models."""

    decoder: ClassVar[Callable[[bytes], Any]]

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        return schema_creator.for_field_definition(FieldDefinition.from_annotation(cls.model_type))

    def decode_bytes(self, value: bytes) -> Any:
        return type(self).decoder(value)

    def decode_builtins(self, value: dict[str, Any]) -> Any:  # form bodies: not used by these routes
        return type(self).decoder(msgspec.json.encode(value))


def json_body(kind: type[T], decode: Callable[[bytes], T]) -> type[AbstractDTO]:  # type: ignore[type-arg]
    """The `dto=` of a route whose JSON body is `kind`, decoded by `decode` (which raises BadRequest)."""
    return type(f"JsonBody[{kind.__name__}]", (_StructBody,), {"model_type": kind, "decoder": staticmethod(decode)})


def require_body(data: T | None) -> T:
    """The decoded body, or the 400 of a missing one (Litestar passes None for an empty body)."""
    if data is None:
        raise BadRequest("a JSON body is required", field="body")
    return data


@dataclass
class optional_body_operation(Operation):  # noqa: N801 - used as a route's operation_class
    """Marks the route's request body as optional in the document (Litestar marks every body required)."""

    def __post_init__(self) -> None:
        if self.request_body is not None:
            self.request_body.required = False
