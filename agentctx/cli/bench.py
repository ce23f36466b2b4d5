"""``agentctx bench``: retrieval quality (``swebench``, ``history``, ``compare``) and speed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ..errors import ExitCode, UsageError
from ._common import err_console, handle_errors, human_seconds, make_progress, resolve_root

RepoArg = Annotated[
    Path | None, typer.Argument(help="Repository (default: the enclosing git root).")
]
ReportOutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write the JSON report here; print the path.")
]
BenchEmbedderOpt = Annotated[str, typer.Option(help="Embedding backend: minilm (default) or hash.")]
BenchTokenizerOpt = Annotated[str, typer.Option(help="Token counting: cl100k_base or o200k_base.")]

bench_app = typer.Typer(
    help="Measure how well agentctx finds the code a task needs.",
    no_args_is_help=True,
)


def parse_budgets(text: str) -> tuple[int, ...]:
    """``"4000,8000,16k"`` -> ``(4000, 8000, 16000)``."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        try:
            value = int(float(part[:-1]) * 1000) if part.endswith("k") else int(part)
        except ValueError:
            raise UsageError(f"invalid budget {part!r}", hint="--budgets 4000,8000,16000") from None
        if value <= 0:
            raise UsageError(f"budgets must be positive, got {value}")
        out.append(value)
    if not out:
        raise UsageError("no budgets given", hint="--budgets 4000,8000,16000")
    return tuple(dict.fromkeys(out))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


class BenchProgress:
    """Instance i/N with an ETA, the current stage below it; one line per finished instance."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = make_progress(console)
        self._overall: Any = None
        self._stage: Any = None
        self._total = 0
        self._current = ""

    def __enter__(self) -> BenchProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    # benchmark events
    def start(self, total: int, done: int) -> None:
        self._total = total
        if done:
            self.notice(f"resuming: {done} instances already done, {total} to run")
        self._overall = self._progress.add_task("instances", total=total)

    def instance(self, index: int, inst: Any) -> None:
        self._current = f"[{index}/{self._total}] {inst.id}"
        self._progress.update(self._overall, description=self._current)

    def finished(self, record: dict[str, Any]) -> None:
        if "error" in record:
            line = f"{self._current}: failed: {record['error']}"
        else:
            recall = " ".join(
                f"{b}:{_pct(m.get('file_recall'))}" for b, m in record["budgets"].items()
            )
            acc = record["acc"].get("1")
            line = (
                f"{self._current}: index {human_seconds(record['index_s'])}, "
                f"file recall {recall}, Acc@1 {'-' if acc is None else acc}"
            )
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self._progress.advance(self._overall)

    # pipeline Reporter
    def stage(self, name: str, total: int | None = None) -> None:
        if self._stage is not None:
            self._progress.remove_task(self._stage)
        self._stage = self._progress.add_task(f"  {name}", total=total)

    def advance(self, n: int = 1) -> None:
        if self._stage is not None:
            self._progress.advance(self._stage, n)

    def notice(self, message: str) -> None:
        self.console.print(f"agentctx: {message}", markup=False, highlight=False, soft_wrap=True)


@bench_app.command("swebench")
@handle_errors
def swebench_command(
    data: Annotated[
        Path, typer.Option("--data", help="SWE-bench instances, one JSON object a line.")
    ],
    repo_dir: Annotated[
        Path,
        typer.Option(
            "--repo-dir",
            help="Git directories: <owner>+<name>/repo, <owner>__<name>, <name> or <name>.git.",
        ),
    ],
    split: Annotated[str, typer.Option("--filter", help="lite, verified or all.")] = "all",
    budgets: Annotated[
        str, typer.Option("--budgets", help="Comma-separated token budgets.")
    ] = "4000,8000,16000,32000",
    tokenizer: BenchTokenizerOpt = "cl100k_base",
    limit: Annotated[
        int | None, typer.Option(help="Run only the first N instances (after sorting).")
    ] = None,
    instances: Annotated[
        str | None, typer.Option("--instances", help="Comma-separated instance ids.")
    ] = None,
    method: Annotated[
        str, typer.Option(help="agentctx, bm25-file (whole files) or bm25-symbol (chunks).")
    ] = "agentctx",
    out: Annotated[Path, typer.Option("--out", help="Results directory.")] = Path("results"),
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip instances already in the results file.")
    ] = False,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="Where snapshots are written (default: OUT/work)."),
    ] = None,
    embedder: Annotated[
        str | None, typer.Option(help="Embedding backend: minilm (default) or hash.")
    ] = None,
    reports: Annotated[
        str,
        typer.Option(
            "--reports",
            help="as-is, or plain: the issue texts without code fences and inline code marks, "
            "as trackers without Markdown show them.",
        ),
    ] = "as-is",
) -> None:
    """Localization on SWE-bench: gold files and functions found in each bundle.

    Writes OUT/swebench-METHOD-FILTER.jsonl (a line per instance; -plain appended with
    --reports plain), .md and OUT/summary.json; prints the Markdown's path.
    """
    from ..bench.swebench import BenchConfig, run_swebench

    config = BenchConfig(
        data=data,
        repo_dir=repo_dir,
        out=out,
        split=split,
        budgets=parse_budgets(budgets),
        tokenizer=tokenizer,
        limit=limit,
        ids=tuple(i.strip() for i in (instances or "").split(",") if i.strip()),
        method=method,
        resume=resume,
        work_dir=work_dir,
        embedder=embedder,
        reports=reports,
    )
    with BenchProgress(err_console) as progress:
        result = run_swebench(config, progress)
    typer.echo(str(result.markdown))


def _fmt_value(kind: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kind == "quality":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}" if kind == "tokens" else f"{value:,.1f}"


def _fmt_delta(kind: str, delta: float | None) -> str:
    if delta is None:
        return "-"
    return f"{delta:+.1f} pp" if kind == "quality" else f"{delta:+.1f}%"


@bench_app.command("compare")
@handle_errors
def compare_command(
    old: Annotated[Path, typer.Argument(help="Baseline summary.json.")],
    new: Annotated[Path, typer.Argument(help="Candidate summary.json.")],
    max_quality_drop: Annotated[
        float,
        typer.Option(help="Largest allowed drop of a recall or Acc@k (absolute fraction, 0..1)."),
    ] = 0.01,
    max_latency_growth: Annotated[
        float, typer.Option(help="Largest allowed growth of p50/p95 pack ms (relative).")
    ] = 0.2,
    alpha: Annotated[
        float | None,
        typer.Option(
            help="Count a quality drop as a regression only if the instance-by-instance "
            "sign test gives p below this (e.g. 0.05; needs each run's JSONL)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON instead of a table.")
    ] = False,
) -> None:
    """Compare two bench summary.json files; exit 8 on a quality or latency regression.

    Runs present in both files are compared (or the only run of each); regressions are
    listed on stderr, one a line. Where each run's per-instance results (<run>.jsonl from
    bench swebench) sit beside its summary.json, quality metrics are also compared
    instance by instance: instances up and down, and the sign test's p-value.
    """
    import json

    from rich.table import Table

    from ..bench.compare import compare

    result = compare(
        old,
        new,
        max_quality_drop=max_quality_drop,
        max_latency_growth=max_latency_growth,
        alpha=alpha,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        table = Table(title="agentctx bench compare", show_edge=False)
        paired = any(run.paired for run in result.runs)
        for name, justify in (
            ("run", "left"),
            ("budget", "right"),
            ("metric", "left"),
            ("old", "right"),
            ("new", "right"),
            ("delta", "right"),
            *((("up/down", "right"), ("p", "right")) if paired else ()),
        ):
            # A long run label wraps in its column rather than squeezing the numbers.
            width = 32 if name == "run" else None
            table.add_column(name, justify=justify, max_width=width)  # type: ignore[arg-type]
        for run in result.runs:
            label = run.label
            for b in run.budgets:
                for row, m in enumerate(b.metrics):
                    delta = _fmt_delta(m.kind, m.delta)
                    moved = (
                        (f"+{m.up} / -{m.down}", f"{m.p_value:.3g}")
                        if m.p_value is not None
                        else ("", "")
                    )
                    table.add_row(
                        label if row == 0 else "",
                        str(b.budget) if row == 0 else "",
                        m.label,
                        _fmt_value(m.kind, m.old),
                        _fmt_value(m.kind, m.new),
                        f"[red]{delta}[/red]" if m.regression else delta,
                        *(moved if paired else ()),
                    )
                table.add_section()
        out = Console(highlight=False)
        if not out.is_terminal:
            out.width = max(out.width, 120)  # piped: do not squeeze the columns
        out.print(table)
        # Which instances moved: the ranking's Acc@k is the same at every budget, so once.
        for run in result.runs:
            label = run.label
            for m in run.budgets[0].metrics if run.budgets else ():
                if m.metric.startswith("acc@") and (m.went_up or m.went_down):
                    out.print(
                        f"{label} {m.label}: up {', '.join(m.went_up) or '-'}; "
                        f"down {', '.join(m.went_down) or '-'}",
                        markup=False,
                        soft_wrap=True,
                    )
    for line in result.regressions:
        err_console.print(f"agentctx: {line}", markup=False, highlight=False, soft_wrap=True)
    if result.regressions:
        raise typer.Exit(int(ExitCode.REGRESSION))


@bench_app.command("latency")
@handle_errors
def latency_command(
    path: RepoArg = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="Queries, one a line (default: built-in).")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="In-process pack and search runs.")] = 50,
    budget: Annotated[int, typer.Option("--budget", help="Token budget of each pack.")] = 8000,
    out: ReportOutOpt = None,
    embedder: BenchEmbedderOpt = "minilm",
    no_cold: Annotated[
        bool, typer.Option("--no-cold", help="Skip the one-process-per-query pack/search runs.")
    ] = False,
) -> None:
    """Index, pack and search latency, peak RSS and index size on a scratch copy of PATH.

    The original is never modified; the embedding cache is a fresh temp dir. Prints the
    JSON report (or writes it to --out).
    """

    from ..bench.latency import DEFAULT_QUERIES, LatencyConfig, read_queries, run_latency
    from ._common import RichReporter

    if n <= 0 or budget <= 0:
        raise UsageError("-n and --budget must be positive")
    config = LatencyConfig(
        root=resolve_root(path),
        queries=read_queries(queries) if queries else DEFAULT_QUERIES,
        n=n,
        budget=budget,
        embedder=embedder,
        cold=not no_cold,
    )
    with RichReporter(err_console) as reporter:
        report = run_latency(config, reporter)
    _emit_report(report, out)


@bench_app.command("hook")
@handle_errors
def hook_command(
    path: RepoArg = None,
    n: Annotated[int, typer.Option("-n", help="Timed commits per scenario.")] = 10,
    out: ReportOutOpt = None,
    embedder: BenchEmbedderOpt = "minilm",
    max_embed: Annotated[
        int,
        typer.Option(
            "--max-embed", metavar="N", min=0, help="The hook's --max-embed (0: never embed)."
        ),
    ] = 64,
) -> None:
    """What the pre-commit hook adds to `git commit`, p50/p95, on a scratch clone of PATH.

    Commits without the hook, with it and nothing relevant staged, and with it and
    one function edited. The original is never modified. Prints the JSON report (or
    writes it to --out).
    """

    from ..bench.hook import HookBenchConfig, run_hook_bench
    from ._common import RichReporter

    if n <= 0:
        raise UsageError("-n must be positive")
    config = HookBenchConfig(root=resolve_root(path), n=n, embedder=embedder, max_embed=max_embed)
    with RichReporter(err_console) as reporter:
        report = run_hook_bench(config, reporter)
    _emit_report(report, out)


@bench_app.command("watch")
@handle_errors
def watch_bench_command(
    path: RepoArg = None,
    n: Annotated[int, typer.Option("-n", help="Timed saves and socket requests.")] = 10,
    budget: Annotated[int, typer.Option("--budget", help="Token budget of each pack.")] = 8000,
    out: ReportOutOpt = None,
    embedder: BenchEmbedderOpt = "minilm",
) -> None:
    """Watch mode on a scratch copy of PATH: save-to-indexed latency, served vs cold pack.

    p50/p95 of one save until the watcher has it indexed and embedded, and of
    `pack --diff` (prefetched hit, miss) and `pack QUERY` answered by the watcher vs a
    cold process. The original is never modified. Prints the JSON report (or writes
    it to --out).
    """

    from ..bench.watch import WatchBenchConfig, run_watch_bench
    from ._common import RichReporter

    if n <= 0 or budget <= 0:
        raise UsageError("-n and --budget must be positive")
    config = WatchBenchConfig(root=resolve_root(path), n=n, budget=budget, embedder=embedder)
    with RichReporter(err_console) as reporter:
        report = run_watch_bench(config, reporter)
    _emit_report(report, out)


@bench_app.command("history")
@handle_errors
def history_bench_command(
    path: RepoArg = None,
    commits: Annotated[
        int, typer.Option("--commits", "-n", help="Newest non-merge commits looked at.")
    ] = 200,
    max_files: Annotated[
        int, typer.Option("--max-files", help="Skip commits changing more code files.")
    ] = 3,
    grep: Annotated[
        str | None,
        typer.Option(
            "--grep",
            metavar="REGEX",
            help="Only commits whose message matches (git log -E --grep), e.g. Traceback; "
            "--commits counts those.",
        ),
    ] = None,
    budgets: Annotated[
        str, typer.Option("--budgets", help="Comma-separated token budgets of the bundles.")
    ] = "4000,16000",
    tokenizer: BenchTokenizerOpt = "cl100k_base",
    out: ReportOutOpt = None,
) -> None:
    """Localization on PATH's own git history: each commit message as the query.

    The code files a commit changed are its gold, and the symbols around its changed
    lines where a file is today as it left them. Reports Acc@1/3/5/10 (all the files in
    the top k) and MRR; at each budget the gold files in the bundle, the gold symbols in
    full and the changed lines shown (in full or kept by a skeleton); and pack p50/p95,
    over the index brought up to date first (run `agentctx index` once). Signals built
    from the history (per-file commit messages, recency, referenced changes) are off, as
    they would see each answer. Today's code already holds each change: an optimistic
    proxy for comparing runs on one repository. Prints the JSON report (or writes it to
    --out).
    """

    from ..bench.history import HistoryBenchConfig, run_history_bench
    from ._common import RichReporter

    if commits <= 0 or max_files <= 0:
        raise UsageError("--commits and --max-files must be positive")
    config = HistoryBenchConfig(
        root=resolve_root(path),
        commits=commits,
        grep=grep or None,
        max_files=max_files,
        budgets=parse_budgets(budgets),
        tokenizer=tokenizer,
    )
    with RichReporter(err_console) as reporter:
        report = run_history_bench(config, reporter)
    s = report["summary"]
    if s["cases"]:
        err_console.print(
            f"{s['cases']} commits: Acc@1/3/5/10 "
            f"{s['acc@1']}/{s['acc@3']}/{s['acc@5']}/{s['acc@10']}, MRR {s['mrr']}, "
            + "".join(
                f"at {b}: file recall {s[f'file_recall@{b}']}, "
                f"functions in full {s.get(f'func_full@{b}', '-')}, "
                f"changed lines shown {s.get(f'line_recall@{b}', '-')}, "
                for b in config.budgets
                if f"file_recall@{b}" in s
            )
            + f"pack p50 {s['pack_ms_p50']} ms"
        )
    else:
        err_console.print("no commit made a task (see `skipped` in the report)")
    _emit_report(report, out)


def _emit_report(report: dict[str, Any], out: Path | None) -> None:
    """The JSON report on stdout, or written to ``out`` (its path on stdout)."""
    import json

    text = json.dumps(report, indent=2)
    if out is None:
        typer.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)
    typer.echo(str(out))
