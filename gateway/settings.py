"""Settings from `WAG_*` environment variables and an optional `.env` file."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def masked_url(url: str) -> str:
    """Return `url` with any password replaced by `***`, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    """Gateway configuration. Secrets are `SecretStr`, so `repr()` and logs show `**********`."""

    model_config = SettingsConfigDict(env_prefix="WAG_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port of the HTTP server.")
    data_dir: Path = Field(Path("./data"), description="Embedded Redis data and sandbox files.")
    redis_url: str | None = Field(
        None, description="Redis URL; empty starts the embedded server in the data directory."
    )
    redis_prefix: str = Field("wag:", description="Prefix of every Redis key.")
    embedded_appendfsync: Literal["always", "everysec"] = Field(
        "always",
        description="fsync policy of the embedded server: `always` loses no acknowledged "
        "webhook on a power cut; `everysec` may lose the last second.",
    )

    app_secret: SecretStr | None = Field(None, description="Meta app secret for signatures.")
    verify_token: SecretStr | None = Field(None, description="Token of Meta's webhook handshake.")
    access_token: SecretStr | None = Field(
        None, description="Graph API access token; empty runs in sandbox mode."
    )
    phone_number_id: str | None = Field(None, description="Business phone number id.")
    waba_id: str | None = Field(None, description="WhatsApp Business Account id.")
    graph_api_version: str = Field("v23.0", description="Graph API version for outbound calls.")

    log_format: LogFormat = Field(LogFormat.AUTO, description="auto, json or console.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug, info, warning or error."
    )

    webhook_max_body_bytes: int = Field(
        3 * 1024 * 1024,
        ge=1024,
        description="Larger webhook bodies get 413 (Meta sends up to 3 MB).",
    )
    redis_socket_timeout_s: float = Field(
        0.35, gt=0, description="Timeout of one Redis command on the request path, in seconds."
    )
    webhook_store_timeout_s: float = Field(
        0.8, gt=0, description="A webhook not stored within this time gets 503, so Meta retries."
    )
    redis_connect_timeout_s: float = Field(
        0.25, gt=0, description="Timeout of connecting to Redis, in seconds."
    )

    inbound_max_attempts: int = Field(5, ge=1, description="Failures before dead-lettering.")
    inbound_claim_idle_ms: int = Field(
        30_000, ge=100, description="Idle time after which another worker claims an entry."
    )
    inbound_retention_days: int = Field(
        7, ge=1, description="Raw webhook bodies are kept this long."
    )
    workers: int = Field(1, ge=0, description="Inbound worker tasks run by `serve`.")

    # Outbound messages, service windows and the Graph API simulator (gateway/outbound,
    # gateway/simulator, sessions/windows.py).
    outbound_rate_per_s: float = Field(
        80.0, gt=0, description="Messages per second per business number (Meta's default 80)."
    )
    outbound_burst: int = Field(
        10, ge=1, description="Messages a business number may send at once before pacing."
    )
    outbound_recipient_rate_per_s: float = Field(
        1 / 6, gt=0, description="Messages per second to one customer (Meta's pair rate limit)."
    )
    # NOTE: Meta documents the pair rate (about 1 message per 6 s) and that short bursts are
    # allowed, but no burst size; 5 is a guess to keep quick agent follow-ups unpaced.
    outbound_recipient_burst: int = Field(
        5, ge=1, description="Messages to one customer at once before pacing."
    )
    outbound_max_attempts: int = Field(
        5, ge=1, description="Attempts of a send with transient errors before it is failed."
    )
    outbound_backoff_base_ms: int = Field(1_000, ge=1, description="First retry delay.")
    outbound_backoff_max_ms: int = Field(60_000, ge=1, description="Longest retry delay.")
    outbound_concurrency: int = Field(
        32, ge=1, description="Graph API calls in flight per sender process."
    )
    outbound_senders: int = Field(1, ge=0, description="Sender loops run by `serve`.")
    outbound_claim_idle_ms: int = Field(
        60_000, ge=1_000, description="Idle time after which another sender claims a send."
    )
    outbound_status_grace_ms: int = Field(
        10_000,
        ge=0,
        description="A send whose call timed out or whose sender died waits this long for a "
        "status webhook naming it before it is sent again.",
    )
    outbound_max_upload_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest media file accepted for upload."
    )
    graph_timeout_s: float = Field(10.0, gt=0, description="Timeout of one Graph API call.")
    graph_connect_timeout_s: float = Field(3.0, gt=0, description="Connect timeout to Meta.")
    graph_max_connections: int = Field(64, ge=1, description="Connection pool size to Meta.")
    graph_base_url: str | None = Field(
        None, description="Send Graph API calls to this local URL (a running simulator)."
    )
    simulator_port: int = Field(
        0, ge=0, le=65535, description="Port of the sandbox simulator; 0 picks a free one."
    )
    simulator_webhook_url: str | None = Field(
        None, description="Where the simulator posts status webhooks; default: this gateway."
    )

    # Template campaigns (gateway/campaigns).
    campaign_rate_per_s: float | None = Field(
        None,
        gt=0,
        description="Campaign sends handed to outbound per second; default: outbound_rate_per_s.",
    )
    campaign_batch_size: int = Field(
        50, ge=1, le=2000, description="Recipients gated and handed off per dispatch step."
    )
    campaign_poll_s: float = Field(0.5, gt=0, description="How often due campaigns are looked for.")
    campaign_lease_ms: int = Field(
        15_000,
        ge=1_000,
        description="A dispatcher that stops renewing its lease loses it after this.",
    )

    # Consent ledger, consent form and template gate (consent/, gateway/consent_*.py).
    consent_secret: SecretStr | None = Field(
        None,
        description="Key of the subject ids (keyed hashes of phone numbers) and form tokens; "
        "empty: generated once and kept in Redis.",
    )
    consent_business_name: str = Field(
        "", description="Business name shown on the consent form and in confirmation messages."
    )
    consent_business_number: str | None = Field(
        None, description="Business phone number (E.164) that wa.me confirmation links point to."
    )
    consent_purposes: list[str] = Field(
        ["marketing", "service_updates", "authentication"],
        description="Purposes consent is asked for.",
    )
    consent_category_purposes: dict[str, str] = Field(
        {"utility": "service_updates", "authentication": "authentication"},
        description="Purpose a template category needs; marketing templates always need marketing.",
    )
    consent_default_region: str = Field(
        "DE", description="Region of phone numbers written without +."
    )
    consent_code_validity_s: int = Field(
        86_400, ge=60, description="How long an opt-in code can confirm a consent, in seconds."
    )
    consent_stop_keywords: list[str] = Field(
        [
            "stop",
            "stopp",
            "abmelden",
            "abbestellen",
            "austragen",
            "widerruf",
            "widerrufen",
            "unsubscribe",
            "cancel",
            "optout",
        ],
        description="Whole messages that withdraw all WhatsApp consent (case, punctuation, emoji ignored).",
    )
    consent_optout_payloads: list[str] = Field(
        ["OPT_OUT", "OPTOUT", "STOP", "STOP_PROMOTIONS", "UNSUBSCRIBE", "ABMELDEN"],
        description="Quick-reply button payloads of the business's own opt-out button.",
    )
    consent_form_limit_per_ip: int = Field(
        20, ge=1, description="Form submissions per IP per hour."
    )
    consent_form_limit_per_number: int = Field(
        5, ge=1, description="Form submissions per number per hour."
    )
    consent_crm_webhook_url: str | None = Field(
        None, description="CRM endpoint that receives each new consent event, signed; empty: off."
    )
    consent_crm_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the CRM webhook signature header."
    )

    @field_validator("data_dir")
    @classmethod
    def _data_dir_not_empty(cls, value: Path) -> Path:
        if str(value).strip() in ("", "."):
            msg = "must name a directory, for example ./data"
            raise ValueError(msg)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A password inside WAG_REDIS_URL is a secret too.
        for name, value in super().__repr_args__():
            if name == "redis_url" and isinstance(value, str):
                yield name, masked_url(value)
            else:
                yield name, value

    @property
    def sandbox(self) -> bool:
        """True without a Graph API access token: outbound goes to the built-in simulator."""
        return self.access_token is None or not self.access_token.get_secret_value()

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url
