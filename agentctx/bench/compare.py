"""Compare two ``summary.json`` files from ``bench swebench``: a regression gate for CI.

Where each run's per-instance results (``<run>.jsonl``, written beside ``summary.json``)
are there too, every quality metric is also compared instance by instance: how many
instances went up and down, and the exact sign-test p-value of that split, so that a
drop of one instance in forty is told from a real regression (``alpha`` gates on it).

Pure: reads JSON, returns records; the CLI renders them and picks the exit code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NotFoundError, UsageError
from .records import read_records
from .stats import sign_test

# (key in summary["overall"][budget], label, kind); kind decides the delta and the gate.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("file_recall", "file recall", "quality"),
    ("func_full", "func recall full", "quality"),
    ("func_any", "func recall any", "quality"),
    ("line_recall", "lines shown", "quality"),
    ("acc@1", "Acc@1", "quality"),
    ("acc@3", "Acc@3", "quality"),
    ("acc@5", "Acc@5", "quality"),
    ("mean_tokens", "mean tokens", "tokens"),
    ("p50_ms", "p50 pack ms", "latency"),
    ("p95_ms", "p95 pack ms", "latency"),
)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class MetricDelta:
    metric: str
    label: str
    kind: str  # quality | tokens | latency
    old: float | None
    new: float | None
    delta: float | None  # quality: percentage points; tokens, latency: percent
    regression: bool
    # Instance by instance (quality metrics, where both runs' JSONL are found):
    up: int | None = None  # instances whose value rose
    down: int | None = None  # ... fell
    p_value: float | None = None  # exact two-sided sign test of up vs down
    went_up: tuple[str, ...] = ()  # ... and which instances (ids, sorted)
    went_down: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BudgetDelta:
    budget: int
    metrics: tuple[MetricDelta, ...]


@dataclass(frozen=True, slots=True)
class RunDelta:
    old_run: str
    new_run: str
    budgets: tuple[BudgetDelta, ...]
    paired: int | None = None  # instances scored in both runs' JSONL (None: not found)

    @property
    def label(self) -> str:
        return run_label(self.old_run, self.new_run)


def run_label(old: str, new: str) -> str:
    """How a pair of runs is named in tables and messages: once when both are named alike."""
    return old if old == new else f"{old} -> {new}"


@dataclass(frozen=True, slots=True)
class Comparison:
    old: str
    new: str
    max_quality_drop: float
    max_latency_growth: float
    runs: tuple[RunDelta, ...]
    alpha: float | None = None
    regressions: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.regressions

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def load_summary(path: Path) -> dict[str, dict[str, Any]]:
    """Run name -> summary; a bare single-run summary is accepted too."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise NotFoundError(f"not a file: {path}") from None
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{path} is not valid JSON: {exc}", hint="pass a summary.json from bench swebench"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("overall"), dict):
        data = {str(data.get("name") or path.stem): data}
    items = data.items() if isinstance(data, dict) else ()
    runs = {k: v for k, v in items if isinstance(v, dict) and isinstance(v.get("overall"), dict)}
    if not runs:
        raise UsageError(
            f"{path} holds no benchmark runs", hint="pass a summary.json from bench swebench"
        )
    return runs


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _pair_runs(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    common = sorted(old.keys() & new.keys())
    if common:
        return [(n, n) for n in common]
    if len(old) == 1 and len(new) == 1:
        return [(next(iter(old)), next(iter(new)))]
    raise UsageError(
        f"no run in common (old: {', '.join(sorted(old))}; new: {', '.join(sorted(new))})"
    )


def _records(summary_path: Path, run: str) -> dict[str, dict[str, Any]] | None:
    """The run's per-instance records from ``<run>.jsonl`` beside the summary, if there."""
    path = summary_path.parent / f"{run}.jsonl"
    if not path.is_file():
        return None
    try:
        records = read_records(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return {k: r for k, r in records.items() if "error" not in r}


def _value(record: dict[str, Any], metric: str, budget: str) -> float | None:
    if metric.startswith("acc@"):
        acc = record.get("acc")
        return _num(acc.get(metric[4:])) if isinstance(acc, dict) else None
    budgets = record.get("budgets")
    entry = budgets.get(budget) if isinstance(budgets, dict) else None
    return _num(entry.get(metric)) if isinstance(entry, dict) else None


def _moves(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], metric: str, budget: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(ids of the instances up, ids of those down) for ``metric`` at ``budget``."""
    up: list[str] = []
    down: list[str] = []
    for key in sorted(old.keys() & new.keys()):
        a, b = _value(old[key], metric, budget), _value(new[key], metric, budget)
        if a is None or b is None:
            continue
        if b > a + _EPS:
            up.append(key)
        elif a > b + _EPS:
            down.append(key)
    return tuple(up), tuple(down)


def _budget_key(key: str) -> int:
    try:
        return int(key)
    except ValueError:
        raise UsageError(f"invalid budget key {key!r} in summary") from None


def compare(
    old_path: Path,
    new_path: Path,
    *,
    max_quality_drop: float = 0.01,
    max_latency_growth: float = 0.2,
    alpha: float | None = None,
) -> Comparison:
    """Every run present in both files, every budget present in both runs.

    With ``alpha``, a quality drop past ``max_quality_drop`` is a regression only if the
    instance-by-instance sign test also gives p < ``alpha`` (needs both runs' JSONL).
    """
    if not 0 <= max_quality_drop <= 1:
        raise UsageError("--max-quality-drop is a fraction between 0 and 1")
    if max_latency_growth < 0:
        raise UsageError("--max-latency-growth must not be negative")
    if alpha is not None and not 0 < alpha <= 1:
        raise UsageError("--alpha is a significance level between 0 and 1, e.g. 0.05")
    old, new = load_summary(old_path), load_summary(new_path)
    runs: list[RunDelta] = []
    regressions: list[str] = []
    for old_name, new_name in _pair_runs(old, new):
        o_all, n_all = old[old_name]["overall"], new[new_name]["overall"]
        label_of_run = run_label(old_name, new_name)
        o_rec, n_rec = _records(old_path, old_name), _records(new_path, new_name)
        paired = None if o_rec is None or n_rec is None else len(o_rec.keys() & n_rec.keys())
        if alpha is not None and not paired:
            missing = [
                str(path.parent / f"{name}.jsonl")
                for path, name, rec in ((old_path, old_name, o_rec), (new_path, new_name, n_rec))
                if not rec
            ]
            raise UsageError(
                f"--alpha compares instance by instance; run {label_of_run} has no per-instance "
                f"results in common (missing or empty: {', '.join(missing) or 'no shared ids'})",
                hint="keep each run's <run>.jsonl beside its summary.json, or drop --alpha",
            )
        budgets: list[BudgetDelta] = []
        for key in sorted(o_all.keys() & n_all.keys(), key=_budget_key):
            o_b, n_b = o_all[key], n_all[key]
            if not isinstance(o_b, dict) or not isinstance(n_b, dict):
                raise UsageError(f"budget {key} of run {label_of_run} is not an object")
            deltas = []
            for metric, label, kind in METRICS:
                a, b = _num(o_b.get(metric)), _num(n_b.get(metric))
                delta: float | None = None
                bad = False
                up = down = None
                p_value = None
                went_up: tuple[str, ...] = ()
                went_down: tuple[str, ...] = ()
                if kind == "quality" and paired:
                    assert o_rec is not None and n_rec is not None
                    went_up, went_down = _moves(o_rec, n_rec, metric, key)
                    up, down = len(went_up), len(went_down)
                    p_value = sign_test(up, down)
                if a is not None and b is not None:
                    if kind == "quality":
                        delta = 100 * (b - a)
                        bad = a - b > max_quality_drop + _EPS
                        if alpha is not None and p_value is not None:
                            bad = bad and p_value < alpha
                    elif a > 0:
                        delta = 100 * (b - a) / a
                        bad = kind == "latency" and (b - a) / a > max_latency_growth + _EPS
                if bad:
                    change = f"{delta:+.1f} pp" if kind == "quality" else f"{delta:+.0f}%"
                    if p_value is not None:
                        change += f"; {up} up, {down} down, p={p_value:.3g}"
                    regressions.append(
                        f"regression: {label_of_run} @{key}: {label} {a:.4g} -> {b:.4g} ({change})"
                    )
                deltas.append(
                    MetricDelta(
                        *(metric, label, kind, a, b, delta, bad),
                        *(up, down, p_value, went_up, went_down),
                    )
                )
            budgets.append(BudgetDelta(_budget_key(key), tuple(deltas)))
        runs.append(RunDelta(old_name, new_name, tuple(budgets), paired))
    return Comparison(
        str(old_path),
        str(new_path),
        max_quality_drop,
        max_latency_growth,
        tuple(runs),
        alpha,
        tuple(regressions),
    )
