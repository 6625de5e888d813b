"""Parse JSON request bodies into pydantic models, with problem+json on bad input."""

from __future__ import annotations

from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.problems import ProblemError, unprocessable

ModelT = TypeVar("ModelT", bound=BaseModel)


async def parse_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """Read the request body as JSON and validate it against `model`."""
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        detail = f"the request body is not valid JSON ({exc}); send a JSON object"
        raise ProblemError(400, "invalid-json", "Invalid JSON", detail) from exc
    if not isinstance(data, dict):
        detail = "the request body must be a JSON object"
        raise ProblemError(400, "invalid-json", "Invalid JSON", detail)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def validation_problem(exc: ValidationError) -> ProblemError:
    """Turn pydantic's errors into a 422 that names each field, its value and the rule."""
    errors = [
        {
            "field": ".".join(str(part) for part in error["loc"]),
            "message": error["msg"],
            "value": error.get("input") if not isinstance(error.get("input"), dict) else None,
        }
        for error in exc.errors(include_url=False)
    ]
    first = errors[0]
    detail = f"invalid field `{first['field']}`: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more; see `errors`)"
    return unprocessable(detail, errors)
