"""How many signed orders per second one localnet process accepts (issue #15: the localnet must not be
the limit of the scale benchmarks).

    python -m bench.localnet_orders [--orders 20000] [--clients 8] [--users 64] [--profile FILE]

One localnet (`serve()`, what `mirrorbot localnet` runs) in a child process; `--users` funded users;
every order signed beforehand by our signer (one-order IOC `order` actions, a fresh cloid each, buys and
sells in turn so no position grows far), then posted by `--clients` keepalive connections at once, each
sending its next order as soon as the previous answer arrives. The connections are raw HTTP/1.1 over
asyncio streams in this process, a few µs an order, so the client is not what is measured: the figure
is orders answered per second of wall time, and the localnet's CPU per order beside it (if the CPU per
order times the rate is ~1 s per second, the localnet was the limit). `--profile FILE` runs the
localnet under cProfile and writes its stats to FILE (`python -m pstats FILE`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx

from adapters.hyperliquid.signer import Signer
from adapters.hyperliquid.wire import order_action, order_wire
from adapters.localnet.auth import (
    parse_signed_request,
    recover_signer,
    recover_signer_with_sdk,
)
from adapters.localnet.exchange import LocalExchange
from bench.rig import LocalnetProcess, free_port, machine

ETH = 1  # asset index of ETH in the default universe
SIZE = Decimal("0.01")
SEED = 7


class ProfiledLocalnet(LocalnetProcess):
    """The localnet under cProfile; stats written to `path` when it stops (SIGTERM ends `serve()`)."""

    def __init__(self, path: Path, seed: int = 7) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = (
            "import cProfile; from adapters.localnet.server import serve; "
            f"cProfile.run('serve(port={self.port}, seed={seed})', {str(path)!r})"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )


def signed_payloads(users: list[Signer], orders: int, mid: Decimal) -> list[bytes]:
    """`orders` /exchange bodies: IOC orders 2 % through the mid, users in turn."""
    nonce = time.time_ns() // 1_000_000
    payloads = []
    for n in range(orders):
        is_buy = (n // len(users)) % 2 == 0
        px = (mid * (Decimal("1.02") if is_buy else Decimal("0.98"))).quantize(Decimal(1))
        wire = order_wire(ETH, is_buy, px, SIZE, False, "Ioc", f"0x{n:032x}")
        body = users[n % len(users)].sign_l1_body(order_action([wire]), nonce + n)
        payloads.append(json.dumps(body, separators=(",", ":")).encode())
    return payloads


def http_request(payload: bytes) -> bytes:
    head = (
        "POST /exchange HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


class _CpuClock:
    """CPU µs per order of successive stages of this process."""

    def __init__(self, orders: int) -> None:
        self.orders = orders
        self.per_order: dict[str, float] = {}
        self._last = time.process_time()

    def lap(self, stage: str, orders: int | None = None) -> None:
        now = time.process_time()
        self.per_order[stage] = (now - self._last) * 1e6 / (orders or self.orders)
        self._last = now


def stages(users: list[Signer], payloads: list[bytes], sdk_sample: int = 1000) -> dict[str, float]:
    """CPU µs per order of each stage of the localnet's /exchange path, run in this process on the same
    bodies: JSON in and out, signer recovery (ours, and the SDK's on a sample, as before #15), the
    exchange core (`LocalExchange.handle_action`: checks, matching, fills, events)."""
    exchange = LocalExchange(seed=SEED)
    for user in users:
        exchange.fund(user.address.lower(), Decimal(1_000_000))
    clock = _CpuClock(len(payloads))
    bodies = [json.loads(p) for p in payloads]
    clock.lap("JSON in")
    requests = [parse_signed_request(b) for b in bodies]
    signers = [recover_signer(r, mainnet=False) for r in requests]
    clock.lap("recovery")
    sample = requests[:sdk_sample]
    if [recover_signer_with_sdk(r, mainnet=False) for r in sample] != signers[: len(sample)]:
        raise RuntimeError("the SDK recovered other signers")
    clock.lap("recovery (the SDK's)", len(sample))
    answers = [
        exchange.handle_action(s, s, r.action, r.nonce) for s, r in zip(signers, requests, strict=True)
    ]
    clock.lap("exchange core")
    for answer in answers:
        json.dumps(answer, separators=(",", ":")).encode()
    clock.lap("JSON out")
    if not all("filled" in a["response"]["data"]["statuses"][0] for a in answers):
        raise RuntimeError("the in-process run did not fill every order")
    return clock.per_order


async def _read_answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


async def _client(port: int, queue: list[bytes], outcomes: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            writer.write(queue.pop())
            text = await _read_answer(reader)
            if not text.startswith(b"{"):  # a plain-text refusal (HTTP 422 and the like)
                outcomes[text.decode()[:40]] += 1
                continue
            answer = json.loads(text)
            if answer.get("status") != "ok":
                outcomes[f"err: {answer.get('response')}"[:80]] += 1
                continue
            status = answer["response"]["data"]["statuses"][0]
            outcomes[next(iter(status)) if isinstance(status, dict) else str(status)] += 1
    finally:
        writer.close()


async def blast(port: int, requests: list[bytes], clients: int) -> tuple[float, Counter[str]]:
    queue = list(reversed(requests))
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, queue, outcomes) for _ in range(clients)))
    return time.perf_counter() - started, outcomes


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.localnet_orders", description=summary)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8, help="keepalive connections posting at once")
    parser.add_argument("--users", type=int, default=64, help="funded users signing the orders in turn")
    parser.add_argument("--profile", type=Path, help="run the localnet under cProfile, stats to this file")
    args = parser.parse_args(argv)
    print(machine())
    users = [Signer(f"0x{n + 1:064x}", is_mainnet=False) for n in range(args.users)]
    net = ProfiledLocalnet(args.profile, SEED) if args.profile else LocalnetProcess(SEED)
    try:
        net.wait_ready()
        for user in users:
            fund = {"type": "fund", "user": user.address, "usdc": "1000000"}
            httpx.post(f"{net.url}/_localnet", json=fund, timeout=10).raise_for_status()
        mids = httpx.post(f"{net.url}/info", json={"type": "allMids"}, timeout=10).json()
        payloads = signed_payloads(users, args.orders, Decimal(mids["ETH"]))
        requests = [http_request(p) for p in payloads]
        (user_before, system_before), client_before = net.cpu_times(), time.process_time()
        wall, outcomes = asyncio.run(blast(net.port, requests, args.clients))
        (user_after, system_after), client_after = net.cpu_times(), time.process_time()
        user_s, system_s = user_after - user_before, system_after - system_before
        cpu, client_cpu = user_s + system_s, client_after - client_before
        # The HTTP floor: as many bodies the localnet refuses at once (422: JSON but no envelope), so
        # only aiohttp, the request's bookkeeping and a JSON parse run.
        floor_before = net.cpu_s()
        _, refusals = asyncio.run(blast(net.port, [http_request(b"{}")] * len(requests), args.clients))
        floor = (net.cpu_s() - floor_before) * 1e6 / len(requests)
        if sum(refusals.values()) != len(requests) or len(refusals) != 1:
            raise RuntimeError(f"the floor's requests were not all refused alike: {dict(refusals)}")
    finally:
        net.stop()
    answered = sum(outcomes.values())
    print(
        f"{answered} orders from {args.users} users over {args.clients} keepalive connections in "
        f"{wall:.2f} s: {answered / wall:,.0f} orders/s answered"
    )
    print(f"outcomes: {dict(outcomes.most_common())}")
    print(
        f"localnet CPU {cpu * 1e6 / answered:.0f} µs/order (user {user_s * 1e6 / answered:.0f}, "
        f"system {system_s * 1e6 / answered:.0f}; {cpu / wall:.2f} of a core); "
        f"client CPU {client_cpu * 1e6 / answered:.0f} µs/order"
    )
    per_order = stages(users, payloads)
    total = cpu * 1e6 / answered
    per_order["HTTP floor (aiohttp, bookkeeping)"] = floor
    per_order["the rest (glue, interleaving)"] = (
        total - floor - sum(v for k, v in per_order.items() if "SDK" not in k and "floor" not in k)
    )
    print("where the localnet's CPU per order goes (stages timed alone in this process on the same bodies;")
    print("the floor from the refused requests; the rest is what is left of the measured CPU per order):")
    for stage, us in per_order.items():
        print(f"  {stage:<36} {us:6.0f} µs")
    bound = max((k for k in per_order if "SDK" not in k), key=per_order.__getitem__)
    print(f"largest: {bound}; one free core would accept ~{1e6 / total:,.0f} orders/s")
    if args.profile:
        print(f"profile: python -m pstats {args.profile}")
    return 0 if answered == args.orders else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
