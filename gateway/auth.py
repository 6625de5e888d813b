"""API tokens with roles, and the middleware that checks the role of every `/api/v1` route."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import orjson
import structlog
from aiohttp import web
from redis.asyncio import Redis

from gateway.keys import GatewayKeys
from gateway.problems import ProblemError

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "wag_"  # noqa: S105 - a marker, not a secret
ROLES_ATTR = "__wag_roles__"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MARKETING = "marketing"
    ADMIN = "admin"
    INTEGRATION = "integration"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: the token's role, its name, and the agent it is bound to."""

    role: Role
    name: str
    agent_id: str | None = None
    token_id: str = ""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Bearer tokens, stored as SHA-256 digests so that a Redis dump reveals none."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = GatewayKeys(prefix).tokens

    async def create(self, role: Role, name: str, agent_id: str | None = None) -> str:
        """Create a token and return it; only its digest is stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_digest(token)
        principal = Principal(role=role, name=name, agent_id=agent_id, token_id=digest[:12])
        await self._redis.hset(self._key, digest, orjson.dumps(asdict(principal)))
        return token

    async def lookup(self, token: str) -> Principal | None:
        raw = await self._redis.hget(self._key, token_digest(token))
        if raw is None:
            return None
        data = orjson.loads(raw)
        return Principal(
            role=Role(data["role"]),
            name=data["name"],
            agent_id=data.get("agent_id"),
            token_id=data.get("token_id", ""),
        )

    async def revoke_for_agent(self, agent_id: str) -> int:
        """Delete every token bound to `agent_id`; return how many were deleted."""
        removed = 0
        async for digest, raw in self._redis.hscan_iter(self._key):
            if orjson.loads(raw).get("agent_id") == agent_id:
                removed += await self._redis.hdel(self._key, digest)
        return removed


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requires(*roles: Role) -> Callable[[Handler], Handler]:
    """Declare which roles may call a route handler; the middleware enforces it."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, ROLES_ATTR, frozenset(roles))
        return handler

    return mark


PRINCIPAL_KEY = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    principal: Principal = request[PRINCIPAL_KEY]
    return principal


def unauthorized(detail: str) -> ProblemError:
    error = ProblemError(401, "unauthorized", "Unauthorized", detail)
    error.headers["WWW-Authenticate"] = 'Bearer realm="wa-gateway"'
    return error


def make_auth_middleware(store_of: Callable[[web.Request], TokenStore]) -> Any:
    """Build the middleware; `store_of` finds the token store for a request."""

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/v1/") or request.path == "/api/v1/openapi.json":
            return await handler(request)

        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized(
                "send `Authorization: Bearer <token>`; create one with "
                "`wa-gateway token create --role ROLE --name NAME`"
            )
        principal = await store_of(request).lookup(token.strip())
        if principal is None:
            raise unauthorized("the bearer token is unknown or was revoked")

        if request.match_info.http_exception is not None:
            # Unknown path or method: let the router return 404 or 405.
            request[PRINCIPAL_KEY] = principal
            return await handler(request)

        allowed = _roles_of(request)
        if allowed is None or principal.role not in allowed:
            log.info("api_forbidden", path=request.path, role=principal.role.value)
            names = ", ".join(sorted(role.value for role in allowed or ()))
            detail = f"role `{principal.role.value}` may not call this route; allowed: {names}"
            raise ProblemError(403, "forbidden", "Forbidden", detail)

        request[PRINCIPAL_KEY] = principal
        structlog.contextvars.bind_contextvars(token_id=principal.token_id)
        return await handler(request)

    return auth_middleware


def _roles_of(request: web.Request) -> frozenset[Role] | None:
    # Routes without a declaration are closed: forgetting `@requires` must not open a route.
    handler = request.match_info.handler
    roles = getattr(handler, ROLES_ATTR, None)
    if roles is None:
        roles = getattr(getattr(handler, "__func__", None), ROLES_ATTR, None)
    return roles
