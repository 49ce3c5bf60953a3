"""Private Redis servers started at once (scripts/redis.sh in directories of their own: a test's, a bench's)
each get a port of their own. Before, each probed the ports in the same order, two picked the same free
one, and the second failed to listen ("Failed listening on port …") and its test or bench stopped; and
a script whose server failed to bind took the other server's answer to PING for its own (two scripts
reported one URL: seen once in CI). Now each waits for its own server, by pid."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path

from bench.services import PrivateRedis, redis_installed
from tests.bus.support import _missing

SERVERS = 12


def test_private_servers_started_at_once_each_listen_on_a_port_of_their_own(tmp_path: Path) -> None:
    if not redis_installed():
        _missing("redis-server is not installed: run `scripts/redis.sh start` once (it installs it)")
    servers = [PrivateRedis(tmp_path / f"redis-{i}") for i in range(SERVERS)]
    errors: list[BaseException] = []
    go = threading.Barrier(SERVERS)

    def start(server: PrivateRedis) -> None:
        go.wait()
        try:
            server.start()
        except BaseException as exc:  # reported below, with the others'
            errors.append(exc)

    def stop(server: PrivateRedis) -> None:
        if server.url:
            server.stop()

    with ExitStack() as started:
        for server in servers:
            started.callback(stop, server)
        threads = [threading.Thread(target=start, args=(s,)) for s in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        assert len({s.url for s in servers}) == SERVERS
