"""Turn routing errors into problem+json responses."""

from __future__ import annotations

from gateway.problems import ProblemError
from routing.errors import RoutingError

STATUS_BY_KIND = {"not_found": 404, "forbidden": 403, "invalid": 422, "conflict": 409}
TITLE_BY_KIND = {
    "not_found": "Not found",
    "forbidden": "Forbidden",
    "invalid": "Invalid input",
    "conflict": "Conflict",
}


def problem_for(error: RoutingError) -> ProblemError:
    """Return the problem for a refused routing step; its `code` stays machine-readable."""
    return ProblemError(
        STATUS_BY_KIND[error.kind],
        error.code.replace("_", "-"),
        TITLE_BY_KIND[error.kind],
        error.detail,
        code=error.code,
        **error.extra,
    )
