"""`mirrorbot run` started while its venue is down waits for it (issue #18): one log line per attempt,
`/readyz` false meanwhile, then it starts once the venue answers. Before: an `httpx.ConnectError`
traceback and exit 1."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from adapters.localnet.server import LocalnetThread
from tests.ops.support import free_port, get, next_event, start_run


async def test_run_waits_for_a_venue_that_is_down_then_starts(tmp_path: Path) -> None:
    venue_port, ops_port = free_port(), free_port()
    process = await start_run(
        {
            "MIRROR_HL_API_URL": f"http://127.0.0.1:{venue_port}",
            "MIRROR_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
            "MIRROR_DATA_DIR": str(tmp_path / "bot"),
            "MIRROR_METRICS_PORT": str(ops_port),
        },
        tmp_path,
    )
    try:
        first = await next_event(process, "venue_unreachable", "runner_started")
        assert first["event"] == "venue_unreachable" and first["attempt"] == 1, first
        second = await next_event(process, "venue_unreachable", "runner_started")
        assert second["event"] == "venue_unreachable" and second["attempt"] == 2, second
        assert (await get(ops_port, "/healthz")).status_code == 200  # alive …
        waiting = await get(ops_port, "/readyz")  # … but not ready
        assert waiting.status_code == 503
        assert waiting.json()["checks"]["venue"]["ok"] is False
        with LocalnetThread(port=venue_port):
            started = await next_event(process, "venue_reachable", "runner_started")
            assert started["event"] == "venue_reachable", started
            await next_event(process, "runner_started")
            ready = await get(ops_port, "/readyz")
            assert ready.status_code == 200, ready.text
            process.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, rest.decode()
        assert b"Traceback" not in rest
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_while_waiting_for_the_venue_stops_it(tmp_path: Path) -> None:
    process = await start_run(
        {
            "MIRROR_HL_API_URL": f"http://127.0.0.1:{free_port()}",
            "MIRROR_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
            "MIRROR_DATA_DIR": str(tmp_path / "bot"),
        },
        tmp_path,
    )
    await next_event(process, "venue_unreachable")
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, rest.decode()  # asked to stop: a clean stop
    assert b"waiting for the venue" in rest and b"Traceback" not in rest
