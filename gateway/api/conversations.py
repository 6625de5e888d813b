"""Read API: conversations, their messages, and single messages by wamid."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.auth import Role, principal_of, requires
from gateway.problems import ProblemError, bad_request, json_response, not_found
from routing.intake import Intake
from routing.model import State
from sessions.conversations import Conversation, ConversationStore
from sessions.messages import MessageStore
from sessions.windows import compute_window

MAX_LIMIT = 500


def _stores(request: web.Request) -> tuple[ConversationStore, MessageStore, Intake]:
    app = request.app
    prefix = app[SETTINGS].redis_prefix
    return (
        ConversationStore(app[REDIS], prefix),
        MessageStore(app[REDIS], prefix, app[CLOCK]),
        Intake(app[REDIS], prefix, app[CLOCK]),
    )


def _limit(request: web.Request, default: int = 100) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(f"`limit` must be an integer from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


async def conversation_view(
    conversation: Conversation, intake: Intake, now_ms: int
) -> dict[str, Any]:
    interaction = await intake.describe(conversation.id)
    window = compute_window(conversation.fields, now_ms)
    return {
        "id": conversation.id,
        "phone_number_id": conversation.phone_number_id,
        "customer_id": conversation.customer_id,
        "wa_id": conversation.wa_id,
        "user_id": conversation.user_id,
        "state": interaction.state,
        "queue": interaction.queue,
        "agent_id": interaction.agent_id,
        "created_at_ms": conversation.created_at_ms,
        "last_customer_message_at_ms": conversation.last_customer_message_at_ms,
        "referral": conversation.referral,
        "window": window.as_dict(),
    }


@requires(Role.ADMIN, Role.SUPERVISOR)
async def list_conversations(request: web.Request) -> web.Response:
    conversations, _messages, intake = _stores(request)
    state = request.query.get("state")
    queue = request.query.get("queue")
    limit = _limit(request)
    states = {"new", *(member.value for member in State)}
    if state is not None and state not in states:
        raise bad_request(f"unknown state {state!r}; use one of: {', '.join(sorted(states))}")
    items = []
    # NOTE: filters are applied after reading; a supervisor view of very large histories
    # needs an index per state and queue.
    for conversation_id in await conversations.list_ids(limit=MAX_LIMIT * 10):
        conversation = await conversations.get(conversation_id)
        if conversation is None:
            continue
        view = await conversation_view(conversation, intake, request.app[CLOCK].now_ms())
        if state and view["state"] != state:
            continue
        if queue and view["queue"] != queue:
            continue
        items.append(view)
        if len(items) >= limit:
            break
    return json_response({"items": items})


async def _visible_conversation(request: web.Request) -> tuple[Conversation, Intake]:
    conversations, _messages, intake = _stores(request)
    conversation_id = request.match_info["conversation_id"]
    conversation = await conversations.get(conversation_id)
    if conversation is None:
        raise not_found(f"conversation {conversation_id!r} does not exist")
    principal = principal_of(request)
    if principal.role is Role.AGENT:
        holder = (await intake.describe(conversation_id)).agent_id
        # A token bound to no agent is assigned nothing, not even the unassigned conversations.
        if principal.agent_id is None or holder != principal.agent_id:
            detail = (
                f"conversation {conversation_id!r} is not assigned to agent {principal.agent_id!r}"
            )
            raise ProblemError(403, "not-your-conversation", "Forbidden", detail)
    return conversation, intake


@requires(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
async def get_conversation(request: web.Request) -> web.Response:
    conversation, intake = await _visible_conversation(request)
    return json_response(await conversation_view(conversation, intake, request.app[CLOCK].now_ms()))


@requires(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
async def list_messages(request: web.Request) -> web.Response:
    conversation, _intake = await _visible_conversation(request)
    _conversations, messages, _ = _stores(request)
    before = request.query.get("before_ms")
    if before is not None and not before.isdigit():
        raise bad_request(f"`before_ms` must be epoch milliseconds, not {before!r}")
    items = await messages.history(
        conversation.id, limit=_limit(request), before_ms=int(before) if before else None
    )
    return json_response({"items": items})


@requires(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATION, Role.MARKETING)
async def get_message(request: web.Request) -> web.Response:
    _conversations, messages, _ = _stores(request)
    wamid = request.match_info["wamid"]
    message = await messages.get_by_wamid(wamid)
    if message is None:
        message = await messages.get_by_message_id(wamid)
    if message is None:
        raise not_found(f"nothing is known about message {wamid!r}")
    return json_response(message)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/conversations", list_conversations)
    app.router.add_get("/api/v1/conversations/{conversation_id}", get_conversation)
    app.router.add_get("/api/v1/conversations/{conversation_id}/messages", list_messages)
    app.router.add_get("/api/v1/messages/{wamid}", get_message)
