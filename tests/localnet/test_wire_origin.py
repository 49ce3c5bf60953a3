"""A web page on the operator's machine cannot drive the localnet (issue #14 item 14): `/_localnet`
takes only `application/json` (a page may POST text/plain cross-site without a preflight), and a request
whose `Origin` is a page not served from this machine is refused on every endpoint (also what DNS
rebinding would send). The banner names the address actually bound."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from decimal import Decimal

import pytest
import requests
import websocket

from adapters.localnet.server import FOREIGN_ORIGIN, is_loopback_origin
from tests.localnet.test_wire_cli import ROOT, free_port

USER = "0x" + "ab" * 20
FUND = {"type": "fund", "user": USER, "usdc": "5000"}


def account_value(url: str) -> Decimal:
    state = requests.post(f"{url}/info", json={"type": "clearinghouseState", "user": USER}, timeout=10).json()
    return Decimal(state["marginSummary"]["accountValue"])


def test_control_requires_a_json_content_type_and_changes_nothing_otherwise(url: str) -> None:
    import json

    as_text = requests.post(
        f"{url}/_localnet", data=json.dumps(FUND), headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert as_text.status_code == 415 and "application/json" in as_text.json()["error"]
    form = requests.post(f"{url}/_localnet", data={"type": "reset"}, timeout=10)  # a form post
    assert form.status_code == 415
    assert account_value(url) == 0
    assert requests.post(f"{url}/_localnet", json=FUND, timeout=10).status_code == 200
    assert account_value(url) == Decimal(5000)


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null"])
def test_a_foreign_web_page_is_refused_on_every_endpoint(url: str, origin: str) -> None:
    headers = {"Origin": origin}
    control = requests.post(f"{url}/_localnet", json=FUND, headers=headers, timeout=10)
    info = requests.post(f"{url}/info", json={"type": "allMids"}, headers=headers, timeout=10)
    exchange = requests.post(f"{url}/exchange", json={"action": {}}, headers=headers, timeout=10)
    for answer in (control, info, exchange):
        assert answer.status_code == 403 and answer.text == FOREIGN_ORIGIN
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url.replace("http", "ws") + "/ws", origin=origin, timeout=10)
    assert refused.value.status_code == 403
    assert account_value(url) == 0


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:8000", "http://[::1]:5173"])
def test_a_page_served_from_this_machine_and_plain_clients_are_served(url: str, origin: str) -> None:
    assert requests.post(f"{url}/_localnet", json=FUND, headers={"Origin": origin}, timeout=10).ok
    assert requests.post(f"{url}/info", json={"type": "allMids"}, timeout=10).ok  # no Origin: the SDK


def test_origin_predicate() -> None:
    assert is_loopback_origin(None) and is_loopback_origin("http://localhost")
    assert is_loopback_origin("http://app.localhost:3000") and is_loopback_origin("http://127.0.0.2")
    assert not is_loopback_origin("null") and not is_loopback_origin("https://localhost.evil.example")
    assert not is_loopback_origin("http://[::ffff:10.0.0.1]") and not is_loopback_origin("http://[bad")


def test_the_banner_names_the_address_actually_bound() -> None:
    port = free_port()
    command = [sys.executable, "-m", "bot.cli", "localnet", "--host", "0.0.0.0", "--port", str(port)]
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:

        def read() -> None:
            for line in proc.stdout or ():
                lines.put(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            banner = ""
            while "localnet serving on" not in banner:
                banner = lines.get(timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    assert f"localnet serving on 0.0.0.0:{port} (from this machine: http://127.0.0.1:{port})" in banner
