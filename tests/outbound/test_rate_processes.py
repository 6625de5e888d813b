"""Two sender processes share the per-number rate, measured at the simulator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "outbound_rate.py"


def load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("outbound_rate", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["outbound_rate"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_two_senders_keep_rate() -> None:
    """2,000 sends by two processes stay within burst + rate * window (plus arrival skew).

    The allowance of 100 ms covers the skews that the benchmark's docstring describes.
    """
    bench = load_bench()

    result = bench.run(messages=2000, rate_per_s=300.0, burst=10, processes=2, jitter_ms=100.0)

    assert result.messages == 2000
    assert all(count > 0 for count in result.per_process), result.per_process
    for window, count in result.max_in_window.items():
        assert count <= result.allowed_in_window[window], (window, count)
    # The first `burst` sends may leave at once, and arrivals skew by up to 100 ms: the
    # fastest honest run takes (messages - burst) / rate seconds minus that skew.
    fastest_s = (2000 - 10) / 300.0 - 0.1
    assert result.achieved_per_s <= 2000 / fastest_s
