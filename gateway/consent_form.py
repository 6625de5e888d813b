"""The public consent form: `GET /consent/{form_id}` and its submission.

German by default, English with `?lang=en`. One unticked checkbox per purpose, the number
typed in by the customer, a signed single-use token against CSRF, a honeypot field and rate
limits per IP and per number. Every response looks the same whether or not a number is known.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import orjson
import segno
import structlog
from aiohttp import web
from redis.exceptions import RedisError

from consent.errors import ConsentError, InvalidPhone
from consent.forms import FormConfig, FormStore, FormTokens
from consent.ratelimit import RateLimiter
from consent.texts import TextVersion
from gateway.appkeys import CLOCK, REDIS, SETTINGS

log = structlog.get_logger(__name__)

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
BERLIN = ZoneInfo("Europe/Berlin")
# The page may be embedded in a shop (an iframe), so framing is allowed; everything else is same-
# origin.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors *",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@functools.cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gateway", "templates/consent"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


@functools.cache
def strings() -> dict[str, dict[str, str]]:
    raw = resources.files("gateway").joinpath("templates/consent/strings.json").read_bytes()
    loaded: dict[str, dict[str, str]] = orjson.loads(raw)
    return loaded


def language_of(request: web.Request) -> str:
    lang = request.query.get("lang", DEFAULT_LANGUAGE).lower()
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def render_page(template: str, language: str, status: int = 200, **context: Any) -> web.Response:
    """Render one of the consent templates in `language` with the shared page headers."""
    html = (
        templates().get_template(template).render(lang=language, s=strings()[language], **context)
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=PAGE_HEADERS)


def error_page(
    language: str, status: int, name: str, back: str | None = None, message: str | None = None
) -> web.Response:
    text = strings()[language]
    return render_page(
        "error.html",
        language,
        status,
        title=text[f"error_{name}_title"],
        message=message or text[f"error_{name}"],
        back=back,
    )


def format_deadline(deadline_ms: int, language: str) -> str:
    moment = datetime.fromtimestamp(deadline_ms / 1000, tz=UTC).astimezone(BERLIN)
    if language == "de":
        return moment.strftime("%d.%m.%Y, %H:%M Uhr")
    return moment.strftime("%Y-%m-%d %H:%M") + " (Berlin time)"


class ConsentForm:
    """The form handlers; built per app from its settings and consent services."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    @property
    def services(self) -> Any:
        from gateway.consent_feature import CONSENT

        return self.app[CONSENT]

    async def _context(
        self, form_id: str, language: str
    ) -> tuple[FormConfig, dict[str, TextVersion]] | None:
        config = await FormStore(self.app[REDIS], self.app[SETTINGS].redis_prefix).get(form_id)
        if config is None:
            return None
        texts = await self.services.texts.current_for(language)
        if config.purposes:
            texts = {
                purpose: version for purpose, version in texts.items() if purpose in config.purposes
            }
        return config, texts

    def _business(self, config: FormConfig) -> tuple[str | None, str | None, str]:
        settings = self.app[SETTINGS]
        return (
            config.phone_number_id or settings.phone_number_id,
            config.display_phone_number or settings.consent_business_number,
            config.business_name or settings.consent_business_name or "",
        )

    def _tokens(self) -> FormTokens:
        return FormTokens(
            self.app[REDIS], self.app[SETTINGS].redis_prefix, self.app[CLOCK], self.services.secret
        )

    async def show(self, request: web.Request) -> web.Response:
        language = language_of(request)
        form_id = request.match_info["form_id"]
        try:
            found = await self._context(form_id, language)
        except RedisError as exc:
            log.warning("consent_form_unavailable", form_id=form_id, error=str(exc))
            return error_page(language, 503, "unavailable")
        if found is None:
            return error_page(language, 404, "not_found")
        config, texts = found
        business, display, name = self._business(config)
        if not texts or not business or not display:
            log.warning(
                "consent_form_not_configured",
                form_id=form_id,
                texts=len(texts),
                business=bool(business),
                display_number=bool(display),
            )
            return error_page(
                language, 503, "unavailable", message=strings()[language]["error_no_texts"]
            )

        token = self._tokens().issue(
            form_id, language, {purpose: text.version_id for purpose, text in texts.items()}
        )
        return render_page(
            "form.html",
            language,
            business_name=name,
            texts=texts,
            token=token,
            ticked=set(),
            phone="",
            error=None,
            action=f"/consent/{form_id}",
        )

    async def submit(self, request: web.Request) -> web.Response:
        form_id = request.match_info["form_id"]
        data = await request.post()
        tokens = self._tokens()
        token = tokens.read(str(data.get("token", "")), form_id)
        language = token.language if token else language_of(request)
        back = f"/consent/{form_id}?lang={language}"
        if token is None:
            log.info("consent_form_token_invalid", form_id=form_id)
            return error_page(language, 400, "expired", back=back)

        try:
            return await self._record(request, form_id, token, data, back)
        except RedisError as exc:
            log.warning("consent_form_unavailable", form_id=form_id, error=str(exc))
            return error_page(language, 503, "unavailable", back=back)

    async def _record(
        self, request: web.Request, form_id: str, token: Any, data: Any, back: str
    ) -> web.Response:
        language = token.language
        services = self.services
        settings = self.app[SETTINGS]
        config = await FormStore(self.app[REDIS], settings.redis_prefix).get(form_id)
        if config is None:
            return error_page(language, 404, "not_found")
        business, display, name = self._business(config)
        shown = {
            purpose: await services.texts.get(version_id)
            for purpose, version_id in token.versions.items()
        }
        ticked = {str(value) for value in data.getall("purpose", [])} & set(shown)
        phone_raw = str(data.get("phone", ""))[:64]

        if str(data.get("website", "")).strip():
            # A honeypot hit gets the refusal page, so a bot learns nothing. Nothing is stored.
            log.info("consent_form_honeypot", form_id=form_id)
            return render_page("refused.html", language, business_name=name, back=back)

        # NOTE: this is the peer address. Behind a reverse proxy every customer shares the
        # proxy's address and thus one per-IP limit; the proxy's X-Forwarded-For is not trusted yet.
        ip = request.remote or ""
        limiter = RateLimiter(self.app[REDIS], settings.redis_prefix, self.app[CLOCK])
        if not await limiter.hit(
            "ip", services.ledger.subject_of_ip(ip), settings.consent_form_limit_per_ip
        ):
            log.info("consent_form_rate_limited", form_id=form_id, scope="ip")
            return error_page(language, 429, "rate", back=back)

        try:
            _, subject = services.ledger.subject_of(phone_raw)
        except InvalidPhone:
            token_value = self._tokens().issue(form_id, language, token.versions)
            return render_page(
                "form.html",
                language,
                422,
                business_name=name,
                texts=shown,
                token=token_value,
                ticked=ticked,
                phone=phone_raw,
                error=strings()[language]["error_phone"],
                action=f"/consent/{form_id}",
            )
        if not await limiter.hit("number", subject, settings.consent_form_limit_per_number):
            log.info("consent_form_rate_limited", form_id=form_id, scope="number")
            return error_page(language, 429, "rate", back=back)
        if not await self._tokens().use(token):
            return error_page(language, 400, "expired", back=back)

        try:
            outcome = await services.optins.record_submission(
                business=business,
                business_display_number=display,
                business_name=name,
                phone=phone_raw,
                shown=shown,
                ticked=ticked,
                language=language,
                capture_source=config.capture_source
                or f"{request.scheme}://{request.host}/consent/{form_id}",
                ip=ip,
                user_agent=request.headers.get("User-Agent", "")[:512],
            )
        except ConsentError as exc:
            # The message may quote submitted values, so only its type and field are logged.
            log.warning(
                "consent_form_rejected", form_id=form_id, error=type(exc).__name__, field=exc.field
            )
            return error_page(language, 400, "expired", back=back)

        log.info(
            "consent_form_submitted",
            form_id=form_id,
            given=len(outcome.given),
            refused=len(outcome.refused),
        )
        if outcome.code is None:
            return render_page("refused.html", language, business_name=name, back=back)
        qr_svg = segno.make(outcome.link, error="m").svg_inline(scale=4, title=outcome.code)
        return render_page(
            "confirm.html",
            language,
            link=outcome.link,
            code=outcome.code,
            qr_svg=qr_svg,
            deadline=format_deadline(int(outcome.expires_ms or 0), language),
        )


def setup(app: web.Application) -> None:
    form = ConsentForm(app)
    app.router.add_get("/consent/{form_id}", form.show)
    app.router.add_post("/consent/{form_id}", form.submit)
