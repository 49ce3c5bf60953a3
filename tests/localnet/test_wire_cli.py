"""`mirrorbot localnet` itself: started as a process on a free port, queried, stopped."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_localnet_command_serves_meta_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    node = tmp_path / "node"
    command = [sys.executable, "-m", "bot.cli", "localnet", "--port", str(port), "--seed", "3"]
    command += ["--node-data", str(node)]
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:

        def read_lines() -> None:
            for line in process.stdout or ():
                lines.put(line)

        reader = threading.Thread(target=read_lines, daemon=True)
        reader.start()
        try:
            banner = ""
            while "localnet serving on" not in banner:  # skip anything printed before it
                banner = lines.get(timeout=60)
            assert f"localnet serving on http://127.0.0.1:{port}" in banner
            assert f"node fills files under {node}" in banner
            meta = requests.post(f"http://127.0.0.1:{port}/info", json={"type": "meta"}, timeout=10).json()
            names = {asset["name"] for asset in meta["universe"]}
            assert {"BTC", "ETH", "SOL", "ARB", "DOGE", "HYPE"} <= names
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            reader.join(timeout=10)
    output = list(lines.queue)
    assert process.returncode == 0, output
    assert output[-1].strip() == "localnet stopped"


def test_localnet_command_refuses_an_unknown_signature_mode() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "localnet", "--signatures", "mainnet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "accepted values are testnet, any" in result.stderr
