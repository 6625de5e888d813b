"""Typed application state of the routing feature."""

from __future__ import annotations

from aiohttp import web

from gateway.routing_api.hub import EventHub
from routing.agents import AgentDirectory
from routing.config import RoutingConfig
from routing.engine import Router
from routing.queues import QueueDirectory

ROUTER = web.AppKey("routing_router", Router)
QUEUES = web.AppKey("routing_queues", QueueDirectory)
AGENTS = web.AppKey("routing_agents", AgentDirectory)
ROUTING_CONFIG = web.AppKey("routing_config", RoutingConfig)
EVENT_HUB = web.AppKey("routing_event_hub", EventHub)
