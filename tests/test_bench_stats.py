"""Intervals and paired tests of benchmark numbers, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from agentctx.bench.stats import sign_test, wilson


def test_wilson_known_values():
    # 0 of 10: the upper bound is z^2 / (n + z^2) exactly
    lo, hi = wilson(0, 10)  # type: ignore[misc]
    assert lo == 0.0 and hi == pytest.approx(1.959964**2 / (10 + 1.959964**2), abs=1e-6)
    # 5 of 10 is symmetric around one half
    lo, hi = wilson(5, 10)  # type: ignore[misc]
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    assert lo + hi == pytest.approx(1.0)
    # 28 of 41 (a dev Lite Acc@1): about 53-80%, much wider than one instance (2.4 points)
    lo, hi = wilson(28, 41)  # type: ignore[misc]
    assert lo == pytest.approx(0.5302, abs=1e-4) and hi == pytest.approx(0.8044, abs=1e-4)
    assert wilson(10, 10)[1] == 1.0  # type: ignore[index]


def test_wilson_narrows_with_n_and_rejects_bad_counts():
    widths = [hi - lo for lo, hi in (wilson(n // 2, n) for n in (10, 100, 1000))]  # type: ignore[misc]
    assert widths[0] > widths[1] > widths[2]
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(11, 10)


@pytest.mark.parametrize(
    ("up", "down", "p"),
    [
        (0, 0, 1.0),  # nothing moved
        (1, 0, 1.0),  # one instance is a coin flip
        (0, 6, 2 / 64),
        (6, 0, 2 / 64),
        (2, 8, 2 * (1 + 10 + 45) / 1024),
        (5, 5, 1.0),
    ],
)
def test_sign_test_exact(up: int, down: int, p: float):
    assert sign_test(up, down) == pytest.approx(p)


def test_sign_test_matches_the_binomial_tail():
    n, k = 30, 9
    tail = sum(math.comb(n, i) * 0.5**n for i in range(k + 1))
    assert sign_test(k, n - k) == pytest.approx(2 * tail)
    with pytest.raises(ValueError):
        sign_test(-1, 3)
