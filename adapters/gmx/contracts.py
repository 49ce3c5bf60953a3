"""The ABI fragments mirrorbot uses (data/abi.json, copied from gmx-synthetics; data/abi-standard.json),
and the codec of GMX's `EventLog1` / `EventLog2` logs (`EventUtils.EventLogData`).

Everything here is computed from the ABI data, never hand-written: a signature, a selector, a topic or an
`eth_abi` type string changes with the data file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from adapters.gmx.network import DATA_DIR

Abi = list[dict[str, Any]]


@cache
def _abis() -> dict[str, Abi]:
    merged: dict[str, Abi] = {}
    for name in ("abi.json", "abi-standard.json"):
        with (DATA_DIR / name).open(encoding="utf-8") as handle:
            merged.update(json.load(handle)["contracts"])
    return merged


def abi(contract: str) -> Abi:
    return _abis()[contract]


def fragment(contract: str, name: str) -> dict[str, Any]:
    for item in abi(contract):
        if item.get("name") == name:
            return item
    raise KeyError(f"{contract}.{name} is not in the ABI data")


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type of one ABI parameter (`(address,uint256)[]` for a tuple array)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(abi_type(p) for p in item['inputs'])})"


def selector(contract: str, name: str) -> bytes:
    return keccak(text=signature(fragment(contract, name)))[:4]


def input_types(contract: str, name: str) -> list[str]:
    return [abi_type(p) for p in fragment(contract, name)["inputs"]]


def output_types(contract: str, name: str) -> list[str]:
    return [abi_type(p) for p in fragment(contract, name)["outputs"]]


def calldata(contract: str, name: str, *args: Any) -> bytes:
    return selector(contract, name) + encode(input_types(contract, name), list(args))


def event_topic(name: str) -> bytes:
    return keccak(text=signature(fragment("EventEmitter", name)))


def name_hash(event_name: str) -> bytes:
    """Topic 1 of every EventLog: `string indexed eventNameHash` is the keccak of the event name."""
    return keccak(text=event_name)


def address_topic(address: str) -> bytes:
    """`Cast.toBytes32(account)`: the address left-padded to 32 bytes."""
    return bytes(12) + bytes.fromhex(address.removeprefix("0x").lower())


def topic_address(topic: bytes) -> str:
    return "0x" + topic[12:].hex()


EVENT_LOG1: Final = event_topic("EventLog1")
EVENT_LOG2: Final = event_topic("EventLog2")


def _data_types(event: str) -> list[str]:
    return [abi_type(p) for p in fragment("EventEmitter", event)["inputs"] if not p["indexed"]]


# The seven item groups of EventLogData, in ABI order, and the Python value each holds.
GROUPS: Final = ("address", "uint", "int", "bool", "bytes32", "bytes", "string")


@dataclass(frozen=True, slots=True)
class EventData:
    """One EventLog's payload: the emitting contract, the event name and its key → value items."""

    sender: str
    name: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # group → key → value
    array_items: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def get(self, group: str, key: str) -> Any:
        try:
            return self.items[group][key]
        except KeyError:
            raise KeyError(f"{self.name}: no {group} item {key!r}") from None

    def address(self, key: str) -> str:
        return str(self.get("address", key)).lower()

    def uint(self, key: str) -> int:
        return int(self.get("uint", key))

    def int(self, key: str) -> int:
        return int(self.get("int", key))

    def bool(self, key: str) -> bool:
        return bool(self.get("bool", key))

    def bytes32(self, key: str) -> bytes:
        return bytes(self.get("bytes32", key))

    def string(self, key: str, default: str = "") -> str:
        return str(self.items.get("string", {}).get(key, default))


def decode_event_data(data: bytes) -> EventData:
    """The non-indexed part of an EventLog1/EventLog2 (the same layout: msgSender, eventName, eventData)."""
    sender, name, groups = decode(_data_types("EventLog1"), data)
    items: dict[str, dict[str, Any]] = {}
    arrays: dict[str, dict[str, list[Any]]] = {}
    for group, (pairs, array_pairs) in zip(GROUPS, groups, strict=True):
        if pairs:
            items[group] = {key: value for key, value in pairs}
        if array_pairs:
            arrays[group] = {key: list(value) for key, value in array_pairs}
    return EventData(str(sender).lower(), str(name), items, arrays)


def encode_event_data(event: EventData) -> bytes:
    """The inverse of `decode_event_data` (test doubles and recorded fixtures use it)."""
    groups = [
        (
            [(key, value) for key, value in event.items.get(group, {}).items()],
            [(key, list(value)) for key, value in event.array_items.get(group, {}).items()],
        )
        for group in GROUPS
    ]
    return encode(_data_types("EventLog1"), [event.sender, event.name, groups])


@dataclass(frozen=True, slots=True)
class RawLog:
    """A log as a node returns it, reduced to what decoding needs."""

    address: str
    topics: Sequence[bytes]
    data: bytes
    block_number: int
    log_index: int
    tx_hash: str

    @classmethod
    def from_web3(cls, log: Mapping[str, Any]) -> RawLog:
        tx_hash = log["transactionHash"]
        return cls(
            address=str(log["address"]).lower(),
            topics=[bytes(t) for t in log["topics"]],
            data=bytes(log["data"]),
            block_number=int(log["blockNumber"]),
            log_index=int(log["logIndex"]),
            tx_hash=tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex(),
        )
