"""Ingest benchmark: the gateway's durable webhook receiver against a bare aiohttp handler.

Both servers get the same signed fixture payloads from wrk at the same concurrency, one
after the other, on this machine's loopback. The gateway writes every body to Redis
(the embedded Valkey with `appendfsync always`, or WAG_REDIS_URL) before it responds.

    python bench/ingest_bench.py [--duration 15] [--connections 32] [--threads 1]

Prints requests/s, p50 and p99 latency of both, and the gateway/bare throughput ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.signature import sign  # noqa: E402

SECRET = "bench-app-secret"
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_bodies(path: Path, count: int) -> None:
    """Write `count` distinct signed bodies, made from the fixtures with unique wamids."""
    templates = [json.loads(p.read_bytes()) for p in sorted(FIXTURES.glob("*.json"))]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            payload = templates[i % len(templates)]
            body = json.dumps(payload, separators=(",", ":")).replace("wamid.", f"wamid.b{i}x")
            out.write(f"{sign(body.encode(), SECRET)}\t{body}\n")


def wait_http(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not respond within {timeout_s} s; see the server's output")


def run_wrk(port: int, bodies: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(ROOT / "bench" / "wrk_post.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(bodies),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _latency_ms(output, "50%"),
        "p99_ms": _latency_ms(output, "99%"),
        "errors": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def _latency_ms(output: str, percentile: str) -> float:
    match = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\b", output)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    if unit == "us":
        return value / 1000
    if unit == "s":
        return value * 1000
    return value


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=15, help="seconds per server (default 15)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--bodies", type=int, default=2000, help="distinct signed bodies")
    parser.add_argument("--log-level", default="info", help="gateway log level (default info)")
    parser.add_argument(
        "--appendfsync",
        default="always",
        choices=["always", "everysec"],
        help="fsync policy of the embedded Redis (default always)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="wagb-", dir="/tmp") as tmp:
        bodies = Path(tmp) / "bodies.txt"
        write_bodies(bodies, args.bodies)

        bare_port = free_port()
        bare = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port)]
        )
        try:
            time.sleep(1.0)  # the bare server has no GET route to poll
            bare_result = run_wrk(bare_port, bodies, args)
        finally:
            stop(bare)

        gateway_port = free_port()
        env = {
            **os.environ,
            "WAG_DATA_DIR": tmp,
            "WAG_PORT": str(gateway_port),
            "WAG_APP_SECRET": SECRET,
            "WAG_LOG_FORMAT": "json",
            "WAG_LOG_LEVEL": args.log_level,
            "WAG_EMBEDDED_APPENDFSYNC": args.appendfsync,
        }
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--no-workers"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
            gateway_result = run_wrk(gateway_port, bodies, args)
            stored = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import redis, sys; "
                    "print(redis.Redis(unix_socket_path=sys.argv[1]).xlen('wag:inbound'))",
                    str(Path(tmp) / "redis.sock"),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        finally:
            stop(gateway)

    print(f"{'server':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, result in (
        ("bare aiohttp (read body)", bare_result),
        ("gateway (HMAC + XADD, AOF)", gateway_result),
    ):
        print(
            f"{name:<28}{result['rps']:>10.0f}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}"
            f"{result['errors']:>10.0f}"
        )
    print(f"throughput ratio gateway/bare: {gateway_result['rps'] / bare_result['rps']:.1%}")
    print(f"bodies stored in Redis: {stored}")
    print(
        f"setup: {args.connections} connections, {args.threads} wrk thread(s), "
        f"{args.duration} s each, "
        f"{os.cpu_count()} cores shared by wrk, the server and Redis"
    )


if __name__ == "__main__":
    main()
