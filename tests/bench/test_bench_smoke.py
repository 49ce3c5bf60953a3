"""Each benchmark runs in a tiny configuration and prints its figures in the expected shape (no timing
assertions: benchmarks are not tests)."""

from __future__ import annotations

import pytest

from bench import capacity, fanout, latency, localnet_orders, signing


def test_signing_prints_its_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert signing.main(["--n", "100"]) == 0
    out = capsys.readouterr().out
    assert "bit-identical" in out and "ours (Signer.sign_l1)" in out


def test_capacity_prints_the_budget_table_and_rss(capsys: pytest.CaptureFixture[str]) -> None:
    assert capacity.main(["--sources", "2", "--followers", "5"]) == 0
    out = capsys.readouterr().out
    assert "with 10 on ws" in out and "5 engines over 2 sources" in out


def test_polled_sources_grow_with_staleness() -> None:
    assert capacity.polled_sources(60) > capacity.polled_sources(10) > 0


def test_latency_copies_every_trade_and_breaks_it_down(capsys: pytest.CaptureFixture[str]) -> None:
    assert latency.main(["--trades", "3", "--quiet-ms", "0"]) == 0
    out = capsys.readouterr().out
    push_row = next(line for line in out.splitlines() if line.startswith("userFills push sent"))
    assert push_row.split()[-1] == "3"  # every trade copied and timed
    assert "ledger: event+decision+intent (1 tx)" in out and "signing (sign_l1_body)" in out


def test_fanout_reaches_every_follower(capsys: pytest.CaptureFixture[str]) -> None:
    assert fanout.main(["--n", "2", "--trades", "1"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[-1].split()[0] == "2" and rows[-1].split()[-2] == "1"


def test_localnet_orders_fills_every_order_and_splits_its_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert localnet_orders.main(["--orders", "60", "--users", "4", "--clients", "3"]) == 0
    out = capsys.readouterr().out
    assert "60 orders from 4 users over 3 keepalive connections" in out
    assert "outcomes: {'filled': 60}" in out
    assert "recovery (the SDK's)" in out and "HTTP floor" in out and "one free core would accept" in out


def test_firehose_prints_the_cost_per_fill_for_each_watched_set(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import firehose

    assert firehose.main(["--blocks", "20", "--events", "5", "--users", "50"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "20 blocks, 100 fills" in rows[1]
    table = [row.split() for row in rows[3:]]
    assert [row[0] for row in table] == ["10", "1000", "10000"]
    assert all(row[1] == "100" for row in table)  # every fill in the files read, whatever is watched
    assert table[-1][2] == "100"  # every user watched: every fill delivered


def _servers() -> None:
    """The distributed benchmarks need PostgreSQL and Redis (skipped without them, failed under CI)."""
    from bench.services import redis_installed
    from tests.bus.support import _missing
    from tests.ledger.support import pg_server_url

    pg_server_url()
    if not redis_installed():
        _missing("redis-server is not installed: run `scripts/redis.sh start` once (it installs it)")


def test_bus_latency_times_every_trade_of_each_setup(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import bus_latency

    _servers()
    assert bus_latency.main(["--trades", "2", "--gap-ms", "0"]) == 0
    out = capsys.readouterr().out
    rows = {
        name: line[len(name) :].split()
        for line in out.splitlines()
        for name in (bus_latency.EMBEDDED_SQLITE, bus_latency.EMBEDDED_PG, bus_latency.DISTRIBUTED)
        if line.startswith(name)
    }
    assert len(rows) == 3
    assert all(row[-2:] == ["2", "0"] for row in rows.values())  # every trade copied and timed, none missed
    assert "bus added (distributed - embedded, PostgreSQL)" in out


def test_failover_moves_the_dead_workers_followers_and_copies_for_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import failover

    _servers()
    assert failover.main(["--reps", "2", "--followers", "2", "--heartbeat", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    table = [line.split() for line in out if line.split()[:1] in (["1"], ["2"])]
    assert [row[0] for row in table] == ["1", "2"]
    assert table[0][1] != table[1][1]  # the second kill hit a live worker (the first is dead)
    assert all(int(row[2]) >= 1 for row in table)  # the killed worker held followers; each got its order
    assert any(line.startswith("ownership moved: median") for line in out)
    assert any(line.startswith("first order by the new owner: median") for line in out)


def test_scale_reaches_every_follower_with_each_worker_count(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import scale

    _servers()
    assert scale.main(["--sources", "2", "--followers", "4", "--workers", "1,2"]) == 0
    rows = [
        line.split() for line in capsys.readouterr().out.splitlines() if line.split()[:1] in (["1"], ["2"])
    ]
    assert [(row[0], row[1]) for row in rows] == [("1", "4"), ("2", "4")]  # every follower ordered


@pytest.mark.parametrize(
    ("options", "first"),
    [([], ["gained", "while"]), (["--pg"], ["gained", "while"]), (["--first-start"], ["first", "start,"])],
    ids=["sqlite", "postgresql", "first-start"],
)
def test_load_prints_both_loads_per_follower(
    capsys: pytest.CaptureFixture[str], options: list[str], first: list[str]
) -> None:
    from bench import load
    from tests.ledger.support import pg_server_url

    if "--pg" in options:
        pg_server_url()  # skipped without PostgreSQL (failed under CI)
    assert load.main(["--followers", "3", *options]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[:2] for row in rows[2:]] == [first, ["restart,", "with"]]
    assert all(row.split()[-5] == "3" for row in rows[2:])  # every follower loaded, both times
