"""Per-signer nonce rules, as the venue's "Nonces and API wallets" page states them.

The venue keeps the highest 100 nonces of each signer (the user's own key, or the agent's key when an
API wallet signs). A new nonce must never have been used, must be larger than the smallest of that set
once the set is full, and must lie within (T - 2 days, T + 1 day) of the server's time T.
Refusals are worded as the venue words them (`Invalid nonce: …`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

KEPT_PER_SIGNER = 100
WINDOW_BEFORE_MS = 2 * 24 * 3600 * 1000
WINDOW_AFTER_MS = 24 * 3600 * 1000


class NonceError(Exception):
    """A nonce the venue would refuse; `str(exc)` is the venue's wording."""


@dataclass(slots=True)
class _SignerNonces:
    heap: list[int] = field(default_factory=list)  # min-heap of the kept (highest) nonces
    seen: set[int] = field(default_factory=set)  # the same nonces, for O(1) duplicate checks


class NonceBook:
    """Nonce state for every signer. Check, then `commit`: a request refused later in the pipeline
    for another reason (unknown signer, bad vault) must not spend its nonce here."""

    def __init__(self, kept: int = KEPT_PER_SIGNER) -> None:
        self._kept = kept
        self._signers: dict[str, _SignerNonces] = {}

    def check_window(self, nonce: int, now_ms: int) -> None:
        """Raise `NonceError` if `nonce` is outside (T - 2 days, T + 1 day) of server time `now_ms`.
        Needs no signer, so it runs before the (costlier) signature recovery."""
        lowest = now_ms - WINDOW_BEFORE_MS
        highest = now_ms + WINDOW_AFTER_MS
        if nonce <= lowest:
            raise NonceError(f"Invalid nonce: nonce too low {nonce} < {lowest}")
        if nonce >= highest:
            raise NonceError(f"Invalid nonce: nonce too high {nonce} > {highest}")

    def check_signer(self, signer: str, nonce: int) -> None:
        """Raise `NonceError` if `signer` used `nonce` already or it is not above the smallest kept."""
        state = self._signers.get(signer.lower())
        if state is None:
            return
        if nonce in state.seen:
            raise NonceError(f"Invalid nonce: duplicate nonce {nonce}")
        if len(state.heap) >= self._kept and nonce <= state.heap[0]:
            raise NonceError(f"Invalid nonce: nonce too low {nonce} < {state.heap[0]}")

    def check(self, signer: str, nonce: int, now_ms: int) -> None:
        self.check_window(nonce, now_ms)
        self.check_signer(signer, nonce)

    def commit(self, signer: str, nonce: int) -> None:
        """Record `nonce` as used by `signer` (after `check` passed)."""
        state = self._signers.setdefault(signer.lower(), _SignerNonces())
        if len(state.heap) >= self._kept:
            state.seen.discard(heapq.heappushpop(state.heap, nonce))
        else:
            heapq.heappush(state.heap, nonce)
        state.seen.add(nonce)

    def clear(self) -> None:
        self._signers.clear()
