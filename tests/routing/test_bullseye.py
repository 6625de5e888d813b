"""Bullseye: after each step of waiting, required levels relax, then skills drop."""

from __future__ import annotations

from tests.routing.conftest import Desk

STEPS = [
    {"after_s": 30, "level_relax": 2},
    {"after_s": 60, "drop_skills": True},
]


async def test_specialist_only_at_first(desk: Desk) -> None:
    await desk.queue("support", bullseye=STEPS)
    await desk.agent("junior", queues=["support"], skills={"tech": 1})

    await desk.chat("c1", queue="support", skills={"tech": 3})

    assert await desk.offers("junior") == {}


async def test_levels_relax_after_step(desk: Desk) -> None:
    await desk.queue("support", bullseye=STEPS)
    await desk.agent("junior", queues=["support"], skills={"tech": 1})
    await desk.chat("c1", queue="support", skills={"tech": 3})

    result = await desk.tick(30_000)

    assert result["wake"] == 1
    assert list(await desk.offers("junior")) == ["c1"]


async def test_skills_drop_at_last_step(desk: Desk) -> None:
    await desk.queue("support", bullseye=STEPS)
    await desk.agent("generalist", queues=["support"], skills={"sales": 1})
    await desk.chat("c1", queue="support", skills={"tech": 3})

    await desk.tick(30_000)
    assert await desk.offers("generalist") == {}
    await desk.tick(30_000)

    assert list(await desk.offers("generalist")) == ["c1"]


async def test_named_skill_dropped(desk: Desk) -> None:
    steps = [{"after_s": 10, "drop_skills": ["vip"]}]
    await desk.queue("support", bullseye=steps)
    await desk.agent("a1", queues=["support"], skills={"tech": 2})
    await desk.chat("c1", queue="support", skills={"tech": 2, "vip": 1})

    await desk.tick(10_000)

    assert list(await desk.offers("a1")) == ["c1"]


async def test_language_never_relaxes(desk: Desk) -> None:
    await desk.queue("support", bullseye=STEPS)
    await desk.agent("a1", queues=["support"], languages=["en"])
    await desk.chat("c1", queue="support", language="de", skills={"tech": 1})

    await desk.tick(120_000)

    assert await desk.offers("a1") == {}
