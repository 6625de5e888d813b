"""The Graph API simulator: an aiohttp server that responds like Meta's Cloud API.

Routes as Meta has them:
- `POST /{version}/{phone_number_id}/messages` (to a wa_id in `to` or a business-scoped
  user id in `recipient`), with Meta's success body or error body in response;
- `POST /{version}/{phone_number_id}/media` (multipart upload) -> `{"id": ...}`;
- `GET /{version}/{waba_id}/message_templates` with `limit` and `after` cursor paging.

Control routes for tests, benchmarks and `wa-gateway simulator` under `/_simulator/`:
`GET|DELETE requests` (the request log), `GET|POST|DELETE faults`, `GET|PUT templates`,
`PUT status-plan`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import asdict
from typing import Any

import orjson
import structlog
from aiohttp import BodyPartReader, web

from gateway.simulator.faults import Fault, FaultBook, FaultKind
from gateway.simulator.media_rules import check_upload
from gateway.simulator.message_rules import check_message, message_category
from gateway.simulator.meta_errors import error_body
from gateway.simulator.status_webhooks import SentMessage, StatusPlan, StatusSender

log = structlog.get_logger(__name__)

DEFAULT_TEMPLATE_PAGE = 25
MAX_TEMPLATE_PAGE = 100


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")


def _meta_error(code: int, details: str | None = None) -> web.Response:
    status, body = error_body(code, details)
    return _json(body, status)


class GraphSimulator:
    """State and routes of one simulated Graph API.

    `requests` is the log of every call to a Meta route, with `at_ms` (wall clock), path,
    JSON body and the response status, in arrival order.
    """

    def __init__(
        self,
        *,
        webhook_url: str,
        app_secret: str,
        waba_id: str = "100000000000001",
        display_phone_number: str = "4930123456789",
        access_token: str | None = None,
        plan: StatusPlan | None = None,
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.faults = FaultBook()
        self.templates: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.waba_id = waba_id
        self.display_phone_number = display_phone_number
        self.access_token = access_token
        self.statuses = StatusSender(webhook_url, app_secret, plan or StatusPlan())
        self._runner: web.AppRunner | None = None
        self.url = ""

    # Lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=110 * 1024 * 1024)
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_post("/{version}/{phone_number_id}/media", self._media)
        app.router.add_get("/{version}/{waba_id}/message_templates", self._templates)
        app.router.add_get("/_simulator/requests", self._get_requests)
        app.router.add_delete("/_simulator/requests", self._clear_requests)
        app.router.add_get("/_simulator/faults", self._get_faults)
        app.router.add_post("/_simulator/faults", self._add_fault)
        app.router.add_delete("/_simulator/faults", self._clear_faults)
        app.router.add_get("/_simulator/templates", self._get_templates)
        app.router.add_put("/_simulator/templates", self._put_templates)
        app.router.add_put("/_simulator/status-plan", self._put_plan)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0 picks a free port) and return the base URL."""
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        log.info("simulator_started", url=self.url, webhook_url=self.statuses.webhook_url)
        return self.url

    async def stop(self) -> None:
        await self.statuses.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # State for tests and for the template catalog

    def set_templates(self, templates: list[dict[str, Any]]) -> None:
        """Replace the template list that `GET message_templates` pages through."""
        self.templates = list(templates)

    def add_fault(self, fault: Fault) -> Fault:
        return self.faults.add(fault)

    def sends(self) -> list[dict[str, Any]]:
        """Return the logged calls to the messages route."""
        return [entry for entry in self.requests if entry["route"] == "messages"]

    # Meta routes

    async def _messages(self, request: web.Request) -> web.Response:
        entry = self._log(request, "messages")
        denied = self._check_token(request)
        if denied is not None:
            return self._answer(entry, denied)

        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return self._answer(entry, _meta_error(100, "The request body is not valid JSON."))
        entry["json"] = body
        problem = (
            check_message(body, self.media, self.templates)
            if isinstance(body, dict)
            else (100, "The request body must be a JSON object.")
        )
        if problem is not None:
            return self._answer(entry, _meta_error(*problem))

        recipient = body.get("to") or body.get("recipient")
        entry["recipient"] = recipient
        fault = self.faults.take(recipient)
        if fault is not None and fault.kind is not FaultKind.FAILED_STATUS:
            return await self._fault_answer(entry, fault)

        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        message = SentMessage(
            wamid=wamid,
            phone_number_id=request.match_info["phone_number_id"],
            display_phone_number=self.display_phone_number,
            waba_id=self.waba_id,
            recipient=recipient,
            recipient_is_user_id="recipient" in body and not body.get("to"),
            biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
            category=message_category(body, self.templates),
            sent_at_s=int(time.time()),
        )
        if fault is not None:
            self.statuses.schedule_failure(message, fault.code or 131000)
        else:
            self.statuses.schedule_success(message)

        entry["wamid"] = wamid
        answer: dict[str, Any] = {"id": wamid}
        if body.get("type") == "template":
            answer["message_status"] = "accepted"
        contact = {"input": recipient, "wa_id": recipient}
        if message.recipient_is_user_id:
            contact = {"input": recipient, "user_id": recipient}
        success = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [answer]}
        return self._answer(entry, _json(success))

    async def _media(self, request: web.Request) -> web.Response:
        entry = self._log(request, "media")
        denied = self._check_token(request)
        if denied is not None:
            return self._answer(entry, denied)

        fields: dict[str, Any] = {}
        content = b""
        file_type = ""
        if not request.content_type.startswith("multipart/"):
            return self._answer(entry, _meta_error(100, "Upload media as multipart/form-data."))
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file":
                content = await part.read()
                file_type = part.headers.get("Content-Type", "")
            elif part.name:
                fields[part.name] = (await part.text()).strip()

        mime_type = fields.get("type") or file_type
        entry["json"] = {"type": mime_type, "size": len(content), **fields}
        problem = check_upload(fields.get("messaging_product"), mime_type, len(content))
        if problem is not None:
            return self._answer(entry, _meta_error(*problem))

        media_id = str(10**15 + len(self.media) + 1)
        self.media[media_id] = {
            "mime_type": mime_type,
            "file_size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        entry["media_id"] = media_id
        return self._answer(entry, _json({"id": media_id}))

    async def _templates(self, request: web.Request) -> web.Response:
        entry = self._log(request, "message_templates")
        denied = self._check_token(request)
        if denied is not None:
            return self._answer(entry, denied)

        try:
            limit = int(request.query.get("limit", DEFAULT_TEMPLATE_PAGE))
            start = (
                int(base64.urlsafe_b64decode(request.query["after"]).decode())
                if ("after" in request.query)
                else 0
            )
        except ValueError:
            return self._answer(entry, _meta_error(100, "Invalid `limit` or `after` cursor."))
        limit = max(1, min(limit, MAX_TEMPLATE_PAGE))

        selected = [t for t in self.templates if _template_matches(t, request.query)]
        page = selected[start : start + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            body["paging"] = {
                "cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}
            }
            if start + limit < len(selected):
                next_url = request.url.update_query({"after": _cursor(start + limit)})
                body["paging"]["next"] = str(next_url)
        return self._answer(entry, _json(body))

    # Control routes

    async def _get_requests(self, request: web.Request) -> web.Response:
        # `since` returns only entries from that index on, so that pollers stay cheap.
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return _json({"error": "`since` must be an integer index"}, 400)
        return _json({"items": self.requests[since:], "total": len(self.requests)})

    async def _clear_requests(self, request: web.Request) -> web.Response:
        self.requests.clear()
        return web.Response(status=204)

    async def _get_faults(self, request: web.Request) -> web.Response:
        return _json({"items": [fault.as_dict() for fault in self.faults.list()]})

    async def _add_fault(self, request: web.Request) -> web.Response:
        data = orjson.loads(await request.read())
        try:
            fault = Fault(
                kind=FaultKind(data["kind"]),
                code=data.get("code"),
                recipient=data.get("recipient"),
                times=int(data.get("times", 1)),
                delay_s=float(data.get("delay_s", 30.0)),
            )
            self.faults.add(fault)
        except (KeyError, ValueError) as exc:
            return _json({"error": f"invalid fault: {exc}"}, 400)
        return _json(fault.as_dict(), 201)

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.Response(status=204)

    async def _get_templates(self, request: web.Request) -> web.Response:
        return _json({"items": self.templates})

    async def _put_templates(self, request: web.Request) -> web.Response:
        data = orjson.loads(await request.read())
        if not isinstance(data, list):
            return _json({"error": "send a JSON array of Meta template objects"}, 400)
        self.set_templates(data)
        return web.Response(status=204)

    async def _put_plan(self, request: web.Request) -> web.Response:
        data = orjson.loads(await request.read())
        try:
            plan = StatusPlan(**{**asdict(self.statuses.plan), **data})
        except TypeError as exc:
            return _json({"error": f"invalid status plan: {exc}"}, 400)
        self.statuses.set_plan(plan)
        return _json(asdict(plan))

    # Helpers

    def _log(self, request: web.Request, route: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "at_ms": time.time_ns() // 1_000_000,
            "route": route,
            "method": request.method,
            "path": request.path,
            "phone_number_id": request.match_info.get("phone_number_id"),
        }
        self.requests.append(entry)
        return entry

    def _check_token(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return _meta_error(190, "An access token is required.")
        if self.access_token is not None and token != self.access_token:
            return _meta_error(190)
        return None

    async def _fault_answer(self, entry: dict[str, Any], fault: Fault) -> web.Response:
        entry["fault"] = fault.kind.value
        if fault.kind is FaultKind.TIMEOUT:
            # The client gives up first; the send counts as never made.
            await asyncio.sleep(fault.delay_s)
            return self._answer(entry, web.Response(status=504))
        if fault.kind is FaultKind.SERVER_ERROR:
            return self._answer(entry, web.Response(status=500, text="Internal Server Error"))
        return self._answer(entry, _meta_error(fault.code or 131000))

    @staticmethod
    def _answer(entry: dict[str, Any], response: web.Response) -> web.Response:
        entry["status"] = response.status
        if response.status >= 400 and response.body is not None:
            try:
                entry["error_code"] = orjson.loads(bytes(response.body))["error"]["code"]  # type: ignore[arg-type]  # aiohttp types body as Payload
            except (orjson.JSONDecodeError, KeyError, TypeError):
                entry["error_code"] = None
        return response


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()


def _template_matches(template: dict[str, Any], query: Any) -> bool:
    for name in ("name", "status", "category", "language"):
        wanted = query.get(name)
        if wanted and str(template.get(name, "")).lower() != wanted.lower():
            return False
    return True
