"""`wa-gateway agents ...`, `wa-gateway queues list` and `wa-gateway routing sweep`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError
from redis.asyncio import Redis

from common.clock import SystemClock
from gateway.auth import Role, TokenStore
from gateway.redis_client import create_redis
from gateway.routing_api import apply_config
from gateway.routing_api.settings import RoutingSettings
from gateway.runtime import redis_for
from gateway.settings import Settings
from routing.agents import AgentDirectory
from routing.config import AgentSpec, RoutingConfig, load_config
from routing.engine import Router
from routing.errors import RoutingError
from routing.metrics import supervisor_overview
from routing.model import Presence
from routing.queues import QueueDirectory
from routing.sweeper import run_sweeper


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agents = subparsers.add_parser("agents", help="manage contact-center agents")
    actions = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")

    add = actions.add_parser(
        "add", help="create an agent and print its agent token as the last line"
    )
    add.add_argument("--id", required=True, help="agent id, e.g. `anna`")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument(
        "--skill",
        action="append",
        default=[],
        metavar="NAME=LEVEL",
        help="a skill with its level 0-10; repeat for more",
    )
    add.add_argument(
        "--language",
        action="append",
        default=[],
        metavar="CODE",
        help="a language the agent serves, e.g. de; repeat for more",
    )
    add.add_argument(
        "--capacity",
        action="append",
        default=[],
        metavar="CHANNEL=N",
        help="open conversations per channel, e.g. whatsapp=3 (default whatsapp=3)",
    )
    add.add_argument(
        "--capacity-units",
        default="100",
        help="cross-channel budget in units, or `none` for no budget (default 100)",
    )
    add.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="NAME",
        help="a queue the agent takes work from; repeat for more",
    )
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="print agents with presence and capacity in use")
    listing.set_defaults(handler=run_list)

    presence = actions.add_parser("presence", help="set an agent's presence")
    presence.add_argument("agent_id")
    presence.add_argument("presence", choices=[value.value for value in Presence])
    presence.set_defaults(handler=run_presence)

    queues = subparsers.add_parser("queues", help="show queues")
    queue_actions = queues.add_subparsers(dest="queues_command", required=True, metavar="ACTION")
    queue_list = queue_actions.add_parser("list", help="print every queue with today's figures")
    queue_list.set_defaults(handler=run_queue_list)

    routing = subparsers.add_parser("routing", help="routing engine processes")
    routing_actions = routing.add_subparsers(
        dest="routing_command", required=True, metavar="ACTION"
    )
    sweep = routing_actions.add_parser(
        "sweep", help="run the timed-step loop (offer timeouts, wrap-up ends) until Ctrl-C"
    )
    sweep.add_argument(
        "--once", action="store_true", help="run the steps that are due now, print them, exit"
    )
    sweep.set_defaults(handler=run_sweep)


def _pairs(values: list[str], option: str) -> dict[str, int]:
    pairs: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.lstrip("-").isdigit():
            msg = f"{option} expects NAME=NUMBER, got {value!r}"
            raise ValueError(msg)
        pairs[name] = int(number)
    return pairs


def _spec(args: argparse.Namespace) -> AgentSpec:
    units = None if args.capacity_units.lower() == "none" else args.capacity_units
    profile: dict[str, Any] = {
        "id": args.id,
        "name": args.name,
        "skills": _pairs(args.skill, "--skill"),
        "languages": args.language,
        "capacity_units": units,
        "queues": args.queue,
    }
    if args.capacity:
        profile["capacity"] = _pairs(args.capacity, "--capacity")
    return AgentSpec.model_validate(profile)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        spec = _spec(args)
    except (ValueError, ValidationError) as exc:
        print(f"wa-gateway agents add: invalid input: {exc}", file=sys.stderr)
        return 2

    async def add(redis: Redis, router: Router, config: RoutingConfig) -> dict[str, Any]:
        view = await AgentDirectory(router, config.channel_costs).save(spec, create=True)
        token = await TokenStore(redis, settings.redis_prefix).create(
            Role.AGENT, spec.name, spec.id
        )
        return {"agent": view.as_dict(), "token": token}

    result = _run(settings, add)
    if result is None:
        return 1
    print(orjson.dumps(result["agent"], option=orjson.OPT_INDENT_2).decode())
    print(f"Agent token for {spec.id}; store it now, it is not shown again:")
    print(result["token"])
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async def listing(redis: Redis, router: Router, config: RoutingConfig) -> list[dict[str, Any]]:
        return [view.as_dict() for view in await AgentDirectory(router, config.channel_costs).all()]

    result = _run(settings, listing)
    if result is None:
        return 1
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


def run_presence(args: argparse.Namespace, settings: Settings) -> int:
    async def change(redis: Redis, router: Router, config: RoutingConfig) -> dict[str, Any]:
        return await router.set_presence(args.agent_id, args.presence)

    result = _run(settings, change)
    if result is None:
        return 1
    print(
        f"{args.agent_id}: {result['previous']} -> {result['presence']}, "
        f"{result['offers']} offers made"
    )
    return 0


def run_queue_list(args: argparse.Namespace, settings: Settings) -> int:
    async def overview(redis: Redis, router: Router, config: RoutingConfig) -> dict[str, Any]:
        agents = AgentDirectory(router, config.channel_costs)
        return await supervisor_overview(router, QueueDirectory(router), agents)

    result = _run(settings, overview)
    if result is None:
        return 1
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


def run_sweep(args: argparse.Namespace, settings: Settings) -> int:
    routing_settings = RoutingSettings()

    async def sweep(redis: Redis, router: Router, config: RoutingConfig) -> dict[str, Any]:
        if args.once:
            return await router.sweep()
        await run_sweeper(router, max_sleep_ms=routing_settings.sweep_max_sleep_ms)
        return {}

    with contextlib.suppress(KeyboardInterrupt):
        result = _run(settings, sweep)
        if args.once and result is not None:
            result.pop("ok", None)
            print(orjson.dumps(result).decode())
    return 0


def _run(
    settings: Settings,
    action: Callable[[Redis, Router, RoutingConfig], Awaitable[Any]],
) -> Any:
    """Run `action` against the configured Redis; print a refused step and return None."""
    config = load_config(RoutingSettings().config)

    async def main(live: Settings) -> Any:
        redis = create_redis(live.redis_url or "", live)
        try:
            router = Router(redis, live.redis_prefix, SystemClock())
            await apply_config(router, QueueDirectory(router), config)
            return await action(redis, router, config)
        finally:
            await redis.aclose()

    with redis_for(settings) as live:
        try:
            return asyncio.run(main(live))
        except RoutingError as exc:
            print(f"wa-gateway: {exc.detail}", file=sys.stderr)
            return None
