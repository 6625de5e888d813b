"""Outbound rate check: several `wa-gateway sender` processes against one simulator.

Starts a private Redis (the embedded Valkey) and `wa-gateway simulator` (status webhooks
off), enqueues N template sends from one business number to N different customers (so
that only the per-number bucket paces them), starts P sender processes, and waits until
the simulator has logged N calls. The figures come from the simulator's request
timestamps (arrival at the simulator, in ms):

    python bench/outbound_rate.py [--messages 2000] [--rate 200] [--burst 10] [--processes 2]

A token bucket allows at most `burst + rate * w` sends in any window of length w. Arrival
times add the HTTP latency of each call, which varies by a few ms, so the check allows
that jitter (`--jitter-ms`, default 100) on top. Two further ms-level skews add to it:
the bucket runs on the time each sender read before its Redis round trip, and a send
leaves its event loop a little after it took its token. On a 2-core machine running
Redis, the simulator and both senders, the excess over `burst + rate * w` was up to
about 80 ms worth of sends (16 at 200/s, 6 at 80/s), while the overall rate stayed at
or below the configured one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.clock import SystemClock  # noqa: E402
from gateway.embedded_redis import EmbeddedRedis  # noqa: E402
from gateway.outbound.service import OutboundService  # noqa: E402

PHONE_NUMBER_ID = "100200300400500"
WINDOWS_S = (0.1, 0.5, 1.0, 2.0)


@dataclass
class RateResult:
    messages: int
    processes: int
    rate_per_s: float
    burst: int
    elapsed_s: float
    achieved_per_s: float
    max_in_window: dict[float, int]
    allowed_in_window: dict[float, float]
    per_process: list[int]

    @property
    def within_limit(self) -> bool:
        return all(self.max_in_window[w] <= self.allowed_in_window[w] for w in WINDOWS_S)


CONSENT_SECRET = "bench-consent-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def max_in_window(times_ms: list[int], window_ms: float) -> int:
    """Return the maximum number of arrivals inside any window of `window_ms`."""
    best = 0
    start = 0
    for end, at_ms in enumerate(times_ms):
        while at_ms - times_ms[start] >= window_ms:
            start += 1
        best = max(best, end - start + 1)
    return best


def fetch_log(simulator_url: str, since: int = 0) -> list[dict[str, object]]:
    url = f"{simulator_url}/_simulator/requests?since={since}"
    with urllib.request.urlopen(url, timeout=10) as response:
        items: list[dict[str, object]] = json.loads(response.read())["items"]
    return items


async def allow_sends(redis: Any, count: int) -> None:
    """Store an approved template and confirmed marketing consent for every recipient.

    Every template passes the consent gate again in the sender; this benchmark measures
    pacing, so each recipient may receive it.
    """
    import hashlib
    import time as clock_time

    from consent.ledger import Ledger
    from consent.model import ConsentRecord, EventType, Method
    from gateway.catalog.store import CatalogStore

    template = {
        "name": "bench_notice",
        "language": "de",
        "status": "APPROVED",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Hinweis"}],
    }
    await CatalogStore(redis, "wag:").store_synced([template], 1, 1)
    ledger = Ledger(redis, "wag:", SystemClock(), CONSENT_SECRET.encode())
    text_sha256 = hashlib.sha256(b"Ja, ich moechte WhatsApp-Nachrichten erhalten.").hexdigest()
    for event_type, method in (
        (EventType.GIVEN, Method.WEB_FORM),
        (EventType.CONFIRMED, Method.WHATSAPP_CODE),
    ):
        records = [
            ConsentRecord(
                business_number=PHONE_NUMBER_ID,
                phone=f"+49151{index:08d}",
                purpose="marketing",
                type=event_type,
                method=method,
                occurred_ms=clock_time.time_ns() // 1_000_000,
                text_version_id="marketing.de.v1",
                text_sha256=text_sha256,
                language="de",
                checkbox_default=False,
                evidence="wamid.bench" if method is Method.WHATSAPP_CODE else None,
            )
            for index in range(count)
        ]
        for start in range(0, count, 500):
            await ledger.append(records[start : start + 500])


async def enqueue(redis_url: str, count: int) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    await allow_sends(redis, count)
    service = OutboundService(redis, "wag:", SystemClock())
    for index in range(count):
        await service.send_template(
            phone_number_id=PHONE_NUMBER_ID,
            to=f"49151{index:08d}",
            name="bench_notice",
            language="de",
            reason="bench",
        )
    await redis.aclose()


def wait_http(url: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            fetch_log(url)
            return
        except OSError:
            time.sleep(0.05)
    msg = f"the simulator at {url} did not start within {timeout_s} s"
    raise RuntimeError(msg)


def run(
    messages: int,
    rate_per_s: float,
    burst: int,
    processes: int,
    jitter_ms: float = 100.0,
    timeout_s: float = 300.0,
) -> RateResult:
    """Run the check and return its figures; every process started here is stopped."""
    tmp = tempfile.TemporaryDirectory(prefix="wagb-", dir="/tmp")
    redis_server = EmbeddedRedis(Path(tmp.name), appendfsync="everysec")
    redis_server.start()
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WAG_REDIS_URL": redis_server.url,
        "WAG_DATA_DIR": tmp.name,
        "WAG_GRAPH_BASE_URL": simulator_url,
        "WAG_OUTBOUND_RATE_PER_S": str(rate_per_s),
        "WAG_OUTBOUND_BURST": str(burst),
        "WAG_OUTBOUND_CONCURRENCY": "32",
        "WAG_LOG_FORMAT": "json",
        "WAG_ACCESS_TOKEN": "",
        "WAG_CONSENT_SECRET": CONSENT_SECRET,
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "gateway.cli"]
    children: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        simulator = subprocess.Popen(
            [*command, "simulator", "--port", str(port), "--no-statuses"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(simulator)
        wait_http(simulator_url)
        asyncio.run(enqueue(redis_server.url, messages))

        for index in range(processes):
            log_path = Path(tmp.name) / f"sender-{index}.log"
            logs.append(log_path)
            with log_path.open("wb") as log_file:
                children.append(
                    subprocess.Popen(
                        [*command, "sender"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log_file,
                    )
                )

        deadline = time.monotonic() + timeout_s
        entries: list[dict[str, object]] = []
        sends: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            # Fetch only new entries: reading the whole log would stall the simulator's loop
            # and bunch the arrivals this check measures.
            entries.extend(fetch_log(simulator_url, since=len(entries)))
            sends = [e for e in entries if e.get("route") == "messages"]
            if len(sends) >= messages:
                break
            time.sleep(0.5)
        if len(sends) < messages:
            msg = f"only {len(sends)} of {messages} sends reached the simulator in {timeout_s} s"
            raise RuntimeError(msg)
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        redis_server.stop()

    per_process = [
        sum(
            1
            for line in path.read_text().splitlines()
            if '"outcome":"sent"' in line.replace(" ", "")
        )
        for path in logs
    ]
    tmp.cleanup()

    times_ms = sorted(int(str(entry["at_ms"])) for entry in sends)
    elapsed_s = (times_ms[-1] - times_ms[0]) / 1000
    return RateResult(
        messages=len(times_ms),
        processes=processes,
        rate_per_s=rate_per_s,
        burst=burst,
        elapsed_s=elapsed_s,
        achieved_per_s=(len(times_ms) - 1) / elapsed_s if elapsed_s else float("inf"),
        max_in_window={w: max_in_window(times_ms, w * 1000) for w in WINDOWS_S},
        allowed_in_window={w: burst + rate_per_s * (w + jitter_ms / 1000) for w in WINDOWS_S},
        per_process=per_process,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages/s per business number")
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--jitter-ms", type=float, default=100.0, help="allowed arrival skew (ms)")
    args = parser.parse_args()

    result = run(args.messages, args.rate, args.burst, args.processes, args.jitter_ms)
    print(
        f"{result.messages} sends by {result.processes} sender processes "
        f"(per process: {result.per_process}), "
        f"configured {result.rate_per_s:g}/s burst {result.burst}"
    )
    print(f"elapsed {result.elapsed_s:.2f} s, achieved {result.achieved_per_s:.1f} sends/s")
    for window in WINDOWS_S:
        print(
            f"  max in any {window:g} s window: {result.max_in_window[window]} "
            f"(bucket allows {result.allowed_in_window[window]:.0f})"
        )
    print("within the configured rate" if result.within_limit else "RATE EXCEEDED")
    return 0 if result.within_limit else 1


if __name__ == "__main__":
    sys.exit(main())
