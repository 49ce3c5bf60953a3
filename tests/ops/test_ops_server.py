"""The ops port as a piece any process of the bot starts (`open_ops_port`): its own readiness checks and
metrics, no runner needed (the roles of the multi-process mode start it the same way); a port that
cannot be opened is refused naming MIRROR_METRICS_PORT."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from bot.ops.health import Readiness
from bot.ops.metrics import Metrics
from bot.ops.runtime import OpsPortError, open_ops_port
from tests.ops.support import free_port, get, start_run


async def test_any_role_serves_its_own_checks_and_metrics() -> None:
    readiness = Readiness(("stream",))  # a role's own check, e.g. its bus stream
    refreshed: list[int] = []

    def refresh() -> None:  # what the role knows now, brought up to date before each answer
        refreshed.append(1)
        if len(refreshed) > 1:
            readiness.set("stream", True, "consuming")

    server = await open_ops_port(Metrics(), readiness, host="127.0.0.1", port=0, refresh=refresh)
    try:
        assert (await get(server.port, "/healthz")).json() == {"alive": True}
        waiting = await get(server.port, "/readyz")
        assert waiting.status_code == 503
        assert waiting.json()["checks"] == {"stream": {"ok": False, "detail": "not checked yet"}}
        ready = await get(server.port, "/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        metrics = (await get(server.port, "/metrics")).text
        assert "mirrorbot_ready 1.0" in metrics and 'mirrorbot_readiness_check{check="stream"} 1.0' in metrics
    finally:
        await server.stop()


async def test_a_port_in_use_is_refused_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OpsPortError) as caught:
            await open_ops_port(Metrics(), Readiness(), host="127.0.0.1", port=port)
    message = str(caught.value)
    assert (
        message.startswith(f"MIRROR_METRICS_PORT: cannot listen on 127.0.0.1:{port}") and "\n" not in message
    )


async def test_run_with_its_port_in_use_exits_2_before_contacting_the_venue(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = await start_run(
            {
                "MIRROR_HL_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing there: never asked
                "MIRROR_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
                "MIRROR_DATA_DIR": str(tmp_path / "bot"),
                "MIRROR_METRICS_PORT": str(taken.getsockname()[1]),
            },
            tmp_path,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2, err.decode()
    assert b"mirrorbot run: MIRROR_METRICS_PORT: cannot listen" in err
    assert b"venue_unreachable" not in err and b"Traceback" not in err
