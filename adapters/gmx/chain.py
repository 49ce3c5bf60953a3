"""The chain side of the GMX adapter: reads (Reader, DataStore, ERC-20, price feeds, EventEmitter logs)
and signed transactions (eth-account) through one `AsyncWeb3`.

Transactions: EIP-1559, signed locally with eth-account (the key never leaves the process), nonces kept
per signer (first from the node's pending count, then counted locally; re-read after a refusal), gas
from `eth_estimateGas` plus a margin, fees from the latest base fee.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import AsyncWeb3
from web3.types import BlockIdentifier

from adapters.gmx.contracts import EVENT_LOG1, EVENT_LOG2, RawLog, abi, address_topic, name_hash
from adapters.gmx.network import Deployment, Market
from adapters.gmx.orders import GAS_KEYS, data_store_key, market_key
from adapters.gmx.positions import GmxPosition, decode_positions
from adapters.gmx.units import from_units

PAGE: Final = 100  # positions per Reader call
GAS_MARGIN: Final = Decimal("1.25")
MAX_UINT: Final = 2**256 - 1


@dataclass(frozen=True, slots=True)
class SentTx:
    tx_hash: str
    nonce: int
    sender: str


class GmxChain:
    def __init__(
        self, w3: AsyncWeb3[Any], deployment: Deployment, *, priority_fee_wei: int = 10_000_000
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.priority_fee_wei = priority_fee_wei
        c = deployment.contracts
        self.reader = w3.eth.contract(address=to_checksum_address(c.reader), abi=abi("Reader"))
        self.data_store = w3.eth.contract(address=to_checksum_address(c.data_store), abi=abi("DataStore"))
        self.usdc = w3.eth.contract(address=to_checksum_address(deployment.usdc.address), abi=abi("ERC20"))
        self._nonces: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._block_times: dict[int, int] = {}

    # --- reads ---
    async def head(self) -> int:
        return int(await self.w3.eth.block_number)

    async def block_time_ms(self, number: int) -> int:
        if number not in self._block_times:
            block = await self.w3.eth.get_block(number)
            self._block_times[number] = int(block["timestamp"]) * 1000
        return self._block_times[number]

    async def positions(self, account: str, block: BlockIdentifier = "latest") -> list[GmxPosition]:
        out: list[GmxPosition] = []
        start = 0
        while True:
            raw = await self.reader.functions.getAccountPositions(
                self.data_store.address, to_checksum_address(account), start, start + PAGE
            ).call(block_identifier=block)
            out.extend(decode_positions(raw))
            if len(raw) < PAGE:
                return out
            start += PAGE

    async def usdc_balance(self, account: str, block: BlockIdentifier = "latest") -> Decimal:
        units = await self.usdc.functions.balanceOf(to_checksum_address(account)).call(block_identifier=block)
        return from_units(int(units), self.deployment.usdc.decimals)

    async def usdc_allowance(self, owner: str) -> int:
        router = to_checksum_address(self.deployment.contracts.router)
        return int(await self.usdc.functions.allowance(to_checksum_address(owner), router).call())

    async def uint(self, key: bytes) -> int:
        return int(await self.data_store.functions.getUint(key).call())

    async def gas_values(self) -> dict[str, int]:
        values = await asyncio.gather(*(self.uint(data_store_key(name)) for name in GAS_KEYS))
        return dict(zip(GAS_KEYS, values, strict=True))

    async def max_leverage(self, market: Market) -> int:
        """1 / minCollateralFactor(market); the data's default where the DataStore has none."""
        factor = await self.uint(market_key("MIN_COLLATERAL_FACTOR", market.address))
        return 10**30 // factor if factor else self.deployment.default_max_leverage

    async def price(self, market: Market) -> Decimal:
        feed = self.deployment.feed(market)
        contract = self.w3.eth.contract(address=to_checksum_address(feed.address), abi=abi("AggregatorV3"))
        _, answer, _, _, _ = await contract.functions.latestRoundData().call()
        return from_units(int(answer), feed.decimals)

    async def logs(
        self, from_block: int, to_block: int, event: str, names: Sequence[str], topic: Sequence[bytes] | None
    ) -> list[RawLog]:
        """EventEmitter logs of `event` (EventLog1/EventLog2) named `names`, topic1 in `topic` if given."""
        topics: list[Any] = [
            EVENT_LOG1 if event == "EventLog1" else EVENT_LOG2,
            [name_hash(n) for n in names],
        ]
        if topic is not None:
            topics.append(list(topic))
        found = await self.w3.eth.get_logs(
            {
                "address": to_checksum_address(self.deployment.contracts.event_emitter),
                "fromBlock": from_block,
                "toBlock": to_block,
                "topics": topics,
            }
        )
        return sorted((RawLog.from_web3(log) for log in found), key=lambda r: (r.block_number, r.log_index))

    async def logs_for_accounts(
        self, from_block: int, to_block: int, names: Sequence[str], accounts: Sequence[str]
    ) -> list[RawLog]:
        return await self.logs(from_block, to_block, "EventLog1", names, [address_topic(a) for a in accounts])

    # --- transactions ---
    def _lock(self, sender: str) -> asyncio.Lock:
        return self._locks.setdefault(sender, asyncio.Lock())

    async def sign(
        self, signer: LocalAccount, to: str, data: bytes, value: int = 0, *, nonce: int | None = None
    ) -> tuple[bytes, SentTx]:
        """A signed EIP-1559 transaction and its identity (hash, nonce), not yet sent. With `nonce`
        given, that nonce is reused (a replacement: at most one of the two can ever execute)."""
        sender = signer.address
        async with self._lock(sender):
            if nonce is None:
                if sender not in self._nonces:
                    self._nonces[sender] = int(await self.w3.eth.get_transaction_count(sender, "pending"))
                nonce = self._nonces[sender]
                self._nonces[sender] = nonce + 1
        block = await self.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        tx: dict[str, Any] = {
            "chainId": int(await self.w3.eth.chain_id),
            "from": sender,
            "to": to_checksum_address(to),
            "data": "0x" + data.hex(),
            "value": value,
            "nonce": nonce,
            "maxPriorityFeePerGas": self.priority_fee_wei,
            "maxFeePerGas": 2 * base_fee + self.priority_fee_wei,
            "type": 2,
        }
        estimate = int(await self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        tx["gas"] = int(Decimal(estimate) * GAS_MARGIN)
        del tx["from"]
        signed = signer.sign_transaction(tx)
        return bytes(signed.raw_transaction), SentTx("0x" + bytes(signed.hash).hex(), nonce, sender)

    def forget_nonce(self, sender: str) -> None:
        """Re-read the nonce from the node next time (after a refusal or a lost transaction)."""
        self._nonces.pop(sender, None)

    async def send_raw(self, raw: bytes) -> None:
        await self.w3.eth.send_raw_transaction(raw)

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        from web3.exceptions import TransactionNotFound

        try:
            return dict(await self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    async def max_fee_per_gas(self) -> int:
        block = await self.w3.eth.get_block("latest")
        return 2 * int(block.get("baseFeePerGas", 0) or 0) + self.priority_fee_wei


def local_account(key: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(key)
    return account
