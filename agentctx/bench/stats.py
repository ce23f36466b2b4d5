"""How much a benchmark number can be trusted: intervals and paired tests, exactly.

On a few dozen instances one instance is several points of Acc@k, so a table of
means needs its noise beside it: a Wilson interval for each share, and for a change
between two runs on the same instances, an exact sign test over the instances that
moved (McNemar's test for a 0/1 measure).
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a share ``successes / n`` (None for ``n == 0``).

    Unlike the normal approximation it stays inside [0, 1] and is sound near 0 and 1
    and for small ``n``, which is where benchmark shares live.
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At 0 or n the bound is exactly 0 or 1 (rounding would leave 1e-16 off it).
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def sign_test(up: int, down: int) -> float:
    """Exact two-sided p-value that ``up`` gains and ``down`` losses are a fair coin's.

    Ties (instances that did not move) carry no information and are left out, as in
    McNemar's exact test. No moves at all gives 1.0.
    """
    if up < 0 or down < 0:
        raise ValueError("counts must not be negative")
    n = up + down
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(up, down) + 1))
    return min(1.0, 2 * tail / 2**n)
