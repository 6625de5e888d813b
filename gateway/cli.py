"""`wa-gateway`: the command line.

Each module in `COMMAND_MODULES` exposes `register(subparsers)`, which adds its commands
and sets `handler` on each parser to a callable `(args, settings) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from gateway.logs import configure_logging
from gateway.settings import Settings

COMMAND_MODULES: list[str] = [
    "gateway.cli_serve",
    "gateway.cli_tokens",
    "gateway.cli_inbound",
    "gateway.cli_routing",
    "gateway.cli_templates",
    "gateway.cli_campaigns",
    "gateway.cli_consent",
    "gateway.cli_outbound",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wa-gateway",
        description="WhatsApp contact-center routing gateway. Settings come from WAG_* "
        "environment variables and an optional .env file.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"wa-gateway: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    code: int = args.handler(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
