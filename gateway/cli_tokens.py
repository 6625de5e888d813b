"""`wa-gateway token create`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gateway.auth import Role, TokenStore
from gateway.redis_client import create_redis
from gateway.runtime import redis_for
from gateway.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser("token", help="manage API tokens")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="create a bearer token; it is printed once, as the last line"
    )
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--name", required=True, help="who or what uses the token")
    create.add_argument("--agent-id", help="bind an agent token to this agent id")
    create.set_defaults(handler=run_create)


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    if not args.name.strip():
        print(
            "wa-gateway: error: --name must not be empty; name who uses the token", file=sys.stderr
        )
        return 2
    if args.role == Role.AGENT.value and not args.agent_id:
        print(
            "wa-gateway: error: an agent token must be bound to an agent: add --agent-id ID "
            "(or create the agent with `wa-gateway agents add`, which prints its token)",
            file=sys.stderr,
        )
        return 2
    with redis_for(settings) as live:
        token = asyncio.run(_create(live, Role(args.role), args.name, args.agent_id))
    print(f"Token for {args.name} (role {args.role}); store it now, it is not shown again:")
    print(token)
    return 0


async def _create(settings: Settings, role: Role, name: str, agent_id: str | None) -> str:
    redis = create_redis(settings.redis_url or "", settings)
    try:
        return await TokenStore(redis, settings.redis_prefix).create(role, name, agent_id)
    finally:
        await redis.aclose()
