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

from gateway.logs import configure_logging, flush_logs
from gateway.runtime import StartupError
from gateway.secrets import ConfigurationError
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
        print(
            f"wa-gateway: error: invalid settings:\n{describe_settings_error(exc)}", file=sys.stderr
        )
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        code: int = args.handler(args, settings)
    except (StartupError, ConfigurationError) as exc:
        flush_logs()
        print(f"wa-gateway: error: {exc}", file=sys.stderr)
        return 2
    return code


def describe_settings_error(exc: ValidationError) -> str:
    """Name each invalid setting by its environment variable, with the value and the rule."""
    lines = []
    for error in exc.errors(include_url=False):
        name = "WAG_" + "_".join(str(part) for part in error["loc"]).upper()
        lines.append(f"  {name}={error.get('input')!r}: {error['msg']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
