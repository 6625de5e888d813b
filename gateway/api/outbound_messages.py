"""Agent replies, the window of a conversation, and the state of the outbound path.

- `POST /api/v1/conversations/{id}/messages` (agent holding the conversation): JSON reply,
  or `multipart/form-data` with a `message` part (the JSON) and a `file` part (the media).
  202 with our message id; 409 when the service window is closed.
- `GET /api/v1/conversations/{id}/window`: `open`, `expires_at_ms`,
  `free_entry_point_expires_at_ms`.
- `GET /api/v1/outbound/status` and `POST /api/v1/outbound/resume` (admin).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import BodyPartReader, web
from pydantic import TypeAdapter, ValidationError

from gateway.api.bodies import validation_problem
from gateway.api.outbound_models import AgentReply, MediaReply
from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.auth import Role, principal_of, requires
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.media_types import SUPPORTED_MEDIA, media_rule
from gateway.outbound.outcomes import PauseState
from gateway.outbound.sender import GROUP
from gateway.outbound.service import (
    OUTBOUND,
    ConversationNotFoundError,
    MediaUpload,
    WindowClosedError,
)
from gateway.problems import ProblemError, conflict, json_response, not_found
from routing.intake import Intake
from sessions.conversations import ConversationStore
from sessions.windows import WindowStore

REPLY_ADAPTER: TypeAdapter[Any] = TypeAdapter(AgentReply)
HOLDING_STATES = frozenset({"assigned", "held"})
READ_CHUNK_BYTES = 64 * 1024


@requires(Role.AGENT)
async def post_message(request: web.Request) -> web.Response:
    """Accept an agent's reply for sending; the sender workers call Meta."""
    conversation_id = request.match_info["conversation_id"]
    settings = request.app[SETTINGS]
    await _require_conversation(request, conversation_id)
    await _require_holder(request, conversation_id)

    data, upload = await _read_reply(request, settings.outbound_max_upload_bytes)
    reply = _validate_reply(data)
    kind: str
    if isinstance(reply, MediaReply):
        _check_media_source(reply, upload)
        body = reply.meta_body()
        kind = reply.type
    else:
        body = reply.meta_body()
        kind = "interactive" if reply.type in ("buttons", "list") else "text"

    try:
        message_id = await request.app[OUTBOUND].send_message(
            conversation_id,
            kind,
            body,
            reason="agent_reply",
            reply_to=reply.reply_to,
            upload=upload,
        )
    except ConversationNotFoundError as exc:
        raise not_found(f"conversation {conversation_id} not found") from exc
    except WindowClosedError as exc:
        window = exc.window
        detail = (
            "the customer service window is closed (24 h after the customer's last message); "
            "free-form messages are not allowed, send an approved template instead"
        )
        raise conflict(
            "window-closed",
            detail,
            conversation_id=conversation_id,
            window_expires_at_ms=window.expires_at_ms,
            free_entry_point_expires_at_ms=window.free_entry_point_expires_at_ms,
        ) from exc

    return json_response(
        {"message_id": message_id, "conversation_id": conversation_id, "status": "accepted"},
        status=202,
    )


@requires(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
async def get_window(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    settings = request.app[SETTINGS]
    windows = WindowStore(request.app[REDIS], settings.redis_prefix, request.app[CLOCK])
    window = await windows.get(conversation_id)
    if window is None:
        raise not_found(f"conversation {conversation_id} not found")
    return json_response({"conversation_id": conversation_id, "window": window.as_dict()})


@requires(Role.ADMIN, Role.SUPERVISOR)
async def get_outbound_status(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    redis = request.app[REDIS]
    keys = OutboundKeys(settings.redis_prefix)
    paused = await PauseState(redis, settings.redis_prefix, request.app[CLOCK]).get()
    waiting = await redis.xlen(keys.stream)
    delayed = await redis.zcard(keys.delayed)
    try:
        pending = (await redis.xpending(keys.stream, GROUP))["pending"]
    except Exception:
        pending = 0
    return json_response(
        {
            "paused": paused is not None,
            "pause": {"reason": paused["reason"], "since_ms": int(paused["at_ms"])}
            if paused
            else None,
            "stream_length": waiting,
            "in_flight": pending,
            "delayed": delayed,
        }
    )


@requires(Role.ADMIN)
async def post_outbound_resume(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    resumed = await PauseState(
        request.app[REDIS], settings.redis_prefix, request.app[CLOCK]
    ).resume()
    return json_response({"resumed": resumed})


async def _require_conversation(request: web.Request, conversation_id: str) -> None:
    settings = request.app[SETTINGS]
    conversation = await ConversationStore(request.app[REDIS], settings.redis_prefix).get(
        conversation_id
    )
    if conversation is None:
        raise not_found(
            f"conversation {conversation_id} not found; list them at GET /api/v1/conversations"
        )


async def _require_holder(request: web.Request, conversation_id: str) -> None:
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    intake = Intake(request.app[REDIS], settings.redis_prefix, request.app[CLOCK])
    interaction = await intake.describe(conversation_id)
    if (
        principal.agent_id is None
        or interaction.agent_id != principal.agent_id
        or interaction.state not in HOLDING_STATES
    ):
        detail = (
            f"conversation {conversation_id} is not assigned to agent "
            f"`{principal.agent_id or '(token without agent)'}`; accept its offer first"
        )
        raise ProblemError(403, "not-conversation-holder", "Forbidden", detail)


async def _read_reply(
    request: web.Request, max_upload_bytes: int
) -> tuple[Any, MediaUpload | None]:
    if not request.content_type.startswith("multipart/"):
        raw = await request.read()
        return _parse_json(raw), None

    data: Any = None
    upload: MediaUpload | None = None
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "message":
            data = _parse_json(await part.read())
        elif part.name == "file":
            content = await _read_limited(part, max_upload_bytes)
            mime_type = part.headers.get("Content-Type", "application/octet-stream")
            upload = MediaUpload(
                content, mime_type.split(";")[0].strip().lower(), part.filename or "file"
            )
    if data is None:
        detail = "a multipart reply needs a `message` part with the JSON reply"
        raise ProblemError(400, "invalid-multipart", "Invalid multipart body", detail)
    return data, upload


async def _read_limited(part: BodyPartReader, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            detail = (
                f"the uploaded file is larger than {max_bytes} bytes "
                "(WAG_OUTBOUND_MAX_UPLOAD_BYTES); "
                "send a smaller file or a public URL as `link`"
            )
            raise ProblemError(
                413, "media-too-large", "Media too large", detail, max_bytes=max_bytes
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        detail = f"the reply is not valid JSON ({exc}); send a JSON object"
        raise ProblemError(400, "invalid-json", "Invalid JSON", detail) from exc
    if not isinstance(data, dict):
        raise ProblemError(400, "invalid-json", "Invalid JSON", "the reply must be a JSON object")
    return data


def _validate_reply(data: dict[str, Any]) -> Any:
    try:
        return REPLY_ADAPTER.validate_python(data)
    except ValidationError as exc:
        problem = validation_problem(exc)
        # The discriminated union puts the reply type first in each location; drop it.
        tag = str(data.get("type", ""))
        for error in problem.problem["errors"]:
            prefix = tag + "."
            if error["field"].startswith(prefix):
                error["field"] = error["field"][len(prefix) :]
            elif not error["field"]:
                # A missing or unknown `type` fails before any field of a reply type.
                error["field"] = "type"
        first = problem.problem["errors"][0]
        detail = f"invalid field `{first['field']}`: {first['message']}"
        raise ProblemError(
            422, "validation-failed", "Validation failed", detail, errors=problem.problem["errors"]
        ) from exc


def _check_media_source(reply: MediaReply, upload: MediaUpload | None) -> None:
    media = reply.media()
    sources = sum(1 for present in (media.link, media.id, upload) if present)
    if sources != 1:
        detail = (
            f"a `{reply.type}` reply needs exactly one source: `{reply.type}.link` (URL), "
            f"`{reply.type}.id` (media id) or a multipart `file` part; got {sources}"
        )
        raise ProblemError(422, "media-source", "Validation failed", detail, field=reply.type)
    if upload is None:
        return

    rule = media_rule(upload.mime_type)
    if rule is None or rule[0] != reply.type:
        detail = (
            f"media type `{upload.mime_type}` cannot be sent as `{reply.type}`; "
            f"WhatsApp accepts {', '.join(_accepted(reply.type))}"
        )
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
            mime_type=upload.mime_type,
        )
    if not upload.content:
        raise ProblemError(422, "media-empty", "Validation failed", "the uploaded file is empty")
    if len(upload.content) > rule[1]:
        detail = (
            f"`{reply.type}` files are limited to {rule[1]} bytes by WhatsApp; "
            f"this one has {len(upload.content)}"
        )
        raise ProblemError(413, "media-too-large", "Media too large", detail, max_bytes=rule[1])


def _accepted(kind: str) -> list[str]:
    return sorted(
        mime for mime, (message_type, _) in SUPPORTED_MEDIA.items() if message_type == kind
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/conversations/{conversation_id}/messages", post_message)
    app.router.add_get("/api/v1/conversations/{conversation_id}/window", get_window)
    app.router.add_get("/api/v1/outbound/status", get_outbound_status)
    app.router.add_post("/api/v1/outbound/resume", post_outbound_resume)
