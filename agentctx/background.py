"""A call started on a thread of its own, for a caller with other work to do meanwhile.

Only what either side does outside the interpreter runs at the same time (numpy's matrix
products, SQLite's searches): a call that holds the interpreter gains nothing, and what
runs beside it slows by about what it hides. Measure before using it (``pipeline.search``
makes the query's vector with it; ``benchmarks/query_path.py --overlap``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``fn(*args)`` on a daemon thread (or here and now, with ``threaded=False``).

    ``get()`` waits for the result and raises what the call raised, in the thread that
    asks; ``waited`` is how long it blocked. A result nobody asks for is dropped with any
    error it had.
    """

    def __init__(
        self, fn: Callable[..., T], *args: object, name: str, threaded: bool = True
    ) -> None:
        self._result: T | None = None
        self._error: BaseException | None = None
        self.waited = 0.0
        self._thread = threading.Thread(target=self._run, args=(fn, args), name=name, daemon=True)
        if threaded:
            self._thread.start()
        else:
            self._run(fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> None:
        try:
            self._result = fn(*args)
        except BaseException as exc:  # handed to get(), in the thread that asks
            self._error = exc

    def get(self) -> T:
        t = time.perf_counter()
        if self._thread.is_alive():
            self._thread.join()
        self.waited = time.perf_counter() - t
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # set when no error was
