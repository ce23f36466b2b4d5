"""agentctx.background: a call on a thread of its own, its result or error where asked."""

from __future__ import annotations

import threading

import pytest

from agentctx.background import Background


def _where(x: int) -> tuple[str, int]:
    return threading.current_thread().name, x * 2


@pytest.mark.parametrize("threaded", [True, False])
def test_the_result_comes_from_the_thread_it_was_made_on(threaded: bool) -> None:
    job = Background(_where, 21, name="agentctx-test", threaded=threaded)
    here = threading.current_thread().name
    assert job.get() == ("agentctx-test" if threaded else here, 42)
    assert job.get() == job.get() and job.waited >= 0  # asked again: the same result


def test_an_error_is_raised_where_the_result_is_asked_for() -> None:
    started = threading.Event()

    def fail() -> None:
        started.set()
        raise ValueError("no model")

    job = Background(fail, name="agentctx-test")
    started.wait(5)
    with pytest.raises(ValueError, match="no model"):
        job.get()
    assert not any(t.name == "agentctx-test" for t in threading.enumerate())


def test_get_waits_for_a_call_still_running() -> None:
    go = threading.Event()

    def slow() -> str:
        go.wait(5)
        return "done"

    job = Background(slow, name="agentctx-test")
    threading.Timer(0.05, go.set).start()
    assert job.get() == "done" and job.waited > 0
