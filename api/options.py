"""``OPTIONS`` answers whose ``Allow`` header lists every method of the path.

Litestar 2 makes a path's automatic OPTIONS handler when the path's first
handler is registered, and that handler's ``Allow`` never learns the methods
registered after it (litestar issue 4169, fixed in 3.0).  An explicit OPTIONS
handler registered first, told every method, stands in for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TypeVar

from litestar import Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler

__all__ = ["with_options"]

T = TypeVar("T")


def _options(path: str, methods: Iterable[str]) -> HTTPRouteHandler:
    allow = ", ".join(sorted({*methods, HttpMethod.OPTIONS.value}))

    @route(path, http_method=HttpMethod.OPTIONS, include_in_schema=False, status_code=204)
    async def list_methods() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": allow})

    return list_methods


def with_options(handlers: Sequence[T]) -> list[T | HTTPRouteHandler]:
    """Return ``handlers`` after an OPTIONS handler for every path that has several methods."""
    methods: dict[str, set[str]] = defaultdict(set)
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler):
            for path in handler.paths:
                methods[path] |= handler.http_methods
    options = [_options(path, allowed) for path, allowed in methods.items() if len(allowed) > 1]
    return [*options, *handlers]
