"""Every follower's guard state and the sources' peak equities, kept where a `BookStore` keeps them: a
JSON state file (`RiskStore`, `mirrorbot run`), or the ledger (bot/cluster/guard_state.py, the copy
workers: the state moves with a follower's lease).

The file is rewritten atomically (temp file + rename) after every change, so a crash leaves either the
old or the new state — never half of one — and a restart neither forgets a trip nor resets a peak.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from bot.risk.guards import (
    AccountRisk,
    RiskLimits,
    RiskReason,
    account_block,
    observe_equity,
    resume_account,
    source_drawdown_trips,
)

FORMAT = 1


class BookStore(Protocol):
    """Where a book is kept: read whole at open (`load`), written as it changes (`write`: the store
    takes the book's changes, `RiskBook.take_changes`), and — a store shared by several processes —
    followers' state read when a process takes them on (`adopt`) and let go when it drops them."""

    def load(self) -> dict[str, Any]: ...

    def write(self, book: RiskBook) -> None: ...

    async def adopt(self, book: RiskBook, followers: Collection[str]) -> None: ...

    def let_go(self, book: RiskBook, followers: Collection[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class RiskStore:
    """The book in a JSON file, whole (None path: in memory only, e.g. tests that do not restart). One
    process holds every follower's state, so there is nothing to adopt or let go."""

    path: Path | None = None

    def write(self, book: RiskBook) -> None:
        book.take_changes()
        self.save(book.to_doc())

    async def adopt(self, book: RiskBook, followers: Collection[str]) -> None:
        return None

    def let_go(self, book: RiskBook, followers: Collection[str]) -> None:
        return None

    def load(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        doc = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"{self.path}: not a risk state file of format {FORMAT}")
        return doc

    def save(self, doc: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(doc, sort_keys=True, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _account_doc(state: AccountRisk) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(state).items()}


def _account_of(doc: dict[str, Any]) -> AccountRisk:
    return AccountRisk(
        day=doc.get("day"),
        day_start_equity=_dec(doc.get("day_start_equity")),
        peak_equity=_dec(doc.get("peak_equity")),
        daily_loss_day=doc.get("daily_loss_day"),
        stopped=bool(doc.get("stopped", False)),
        suspended=bool(doc.get("suspended", False)),
    )


@dataclass
class RiskBook:
    store: BookStore = field(default_factory=RiskStore)
    accounts: dict[str, AccountRisk] = field(default_factory=dict)
    source_peaks: dict[str, Decimal] = field(default_factory=dict)
    # "follower source v<version>" → the source guard that auto-unfollowed it (a RiskReason value)
    dropped: dict[str, str] = field(default_factory=dict)
    controls: dict[str, int] = field(default_factory=dict)  # follower → the ControlState row carried out
    # "follower source v<version>" whose source's inactivity was told (SPEC §12: one alert per episode)
    inactive: set[str] = field(default_factory=set)
    _deferring: int = field(default=0, repr=False)  # `deferred` blocks open now
    _dirty: bool = field(default=False, repr=False)  # bookkeeping noted in them, not saved yet
    _changed: set[str] = field(default_factory=set, repr=False)  # followers changed since the last write
    _peaks_changed: set[str] = field(default_factory=set, repr=False)  # sources whose peak rose since

    @classmethod
    def open(cls, store: BookStore) -> RiskBook:
        doc = store.load()
        return cls(
            store,
            {k: _account_of(v) for k, v in doc.get("accounts", {}).items()},
            {k: Decimal(v) for k, v in doc.get("source_peaks", {}).items()},
            _dropped_of(doc),
            {k: int(v) for k, v in doc.get("controls", {}).items()},
            set(doc.get("inactive", [])),
        )

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Equity bookkeeping noted inside (a peak, a day's start) is saved once, when the last open
        block ends: a pass observing 10,000 followers rewrote the whole file once per follower, O(n²)
        on the event loop (a worker's start-up at 10,000 followers: its loop held for seconds at a
        time, minutes in all). A guard that trips, and every other change, is still saved at once; a
        crash inside a block forgets only the peaks noted in it, read again by the next pass."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring and self._dirty:
                self.save()

    def _noted(self) -> None:
        if self._deferring:
            self._dirty = True
        else:
            self.save()

    def save(self) -> None:
        self._dirty = False
        self.store.write(self)

    def _save_for(self, follower: str) -> None:
        """`follower`'s state changed: saved at once (a store kept per follower writes its part)."""
        self._changed.add(follower)
        self.save()

    def to_doc(self) -> dict[str, Any]:
        """The whole book, as the state file holds it."""
        return {
            "format": FORMAT,
            "accounts": {k: _account_doc(v) for k, v in sorted(self.accounts.items())},
            "source_peaks": {k: str(v) for k, v in sorted(self.source_peaks.items())},
            "dropped": sorted(self.dropped),
            "dropped_reasons": dict(sorted(self.dropped.items())),
            "controls": dict(sorted(self.controls.items())),
            "inactive": sorted(self.inactive),
        }

    def take_changes(self) -> tuple[set[str], set[str]]:
        """The followers whose state changed and the sources whose peak rose since the last call."""
        changed, self._changed = self._changed, set()
        peaks, self._peaks_changed = self._peaks_changed, set()
        return changed, peaks

    # --- one follower's part (the ledger keeps the book a row per follower) ---------------------------
    def follower_doc(self, follower: str) -> dict[str, Any]:
        prefix = f"{follower} "
        state = self.accounts.get(follower)
        return {
            "format": FORMAT,
            "account": None if state is None else _account_doc(state),
            "dropped": {k: v for k, v in sorted(self.dropped.items()) if k.startswith(prefix)},
            "control": self.controls.get(follower),
            "inactive": sorted(k for k in self.inactive if k.startswith(prefix)),
        }

    def absorb(self, follower: str, doc: Mapping[str, Any] | None) -> None:
        """Take `follower`'s state from `doc` (`follower_doc`'s; None: none stored), replacing what the
        book held for it. Not a change to write back."""
        self.forget(follower)
        if doc is None:
            return
        if doc.get("format") != FORMAT:
            raise ValueError(f"guard state of {follower}: not of format {FORMAT}")
        prefix = f"{follower} "
        if isinstance(doc.get("account"), dict):
            self.accounts[follower] = _account_of(doc["account"])
        dropped = doc.get("dropped", {})
        self.dropped.update({str(k): str(v) for k, v in dropped.items() if str(k).startswith(prefix)})
        if doc.get("control") is not None:
            self.controls[follower] = int(doc["control"])
        self.inactive.update(str(k) for k in doc.get("inactive", []) if str(k).startswith(prefix))

    def absorb_peaks(self, peaks: Mapping[str, Decimal]) -> None:
        """Sources' peaks noted elsewhere: each kept where higher than this book's."""
        for source, peak in peaks.items():
            current = self.source_peaks.get(source)
            if current is None or peak > current:
                self.source_peaks[source] = peak

    def forget(self, follower: str) -> None:
        """Drop `follower`'s state from memory (it moved to another process): not a change either."""
        prefix = f"{follower} "
        self.accounts.pop(follower, None)
        self.controls.pop(follower, None)
        for key in [k for k in self.dropped if k.startswith(prefix)]:
            del self.dropped[key]
        self.inactive = {k for k in self.inactive if not k.startswith(prefix)}
        self._changed.discard(follower)

    def account(self, follower: str) -> AccountRisk:
        return self.accounts.get(follower, AccountRisk())

    def observe_follower(
        self, follower: str, equity: Decimal, now_ms: int, limits: RiskLimits
    ) -> list[RiskReason]:
        """Fold the follower's equity in; the guards that tripped now (saved before returning)."""
        before = self.account(follower)
        after, tripped = observe_equity(before, equity, now_ms, limits)
        if after != before:
            self.accounts[follower] = after
            self._changed.add(follower)
            flags = (after.stopped, after.suspended, after.daily_loss_day)
            if tripped or flags != (before.stopped, before.suspended, before.daily_loss_day):
                self.save()
            else:
                self._noted()
        return tripped

    def observe_source(self, source: str, equity: Decimal) -> Decimal | None:
        """Track the source's peak equity; returns the peak before this reading (None: first seen)."""
        peak = self.source_peaks.get(source)
        if peak is None or equity > peak:
            self.source_peaks[source] = equity
            self._peaks_changed.add(source)
            self._noted()
        return peak

    def source_trips(
        self, follower: str, source: str, version: int, equity: Decimal, limit: Decimal | None
    ) -> bool:
        """The source's drawdown went past this follow's limit now: the follow (this plan version) is
        marked dropped. A new plan version (the user follows again) starts clean."""
        if not source_drawdown_trips(self.source_peaks.get(source), equity, limit):
            return False
        return self.drop(follower, source, version, RiskReason.SOURCE_DRAWDOWN)

    def drop(self, follower: str, source: str, version: int, reason: RiskReason) -> bool:
        """Mark the follow (this plan version) ended by a source guard; False when it already was."""
        key = _drop_key(follower, source, version)
        if key in self.dropped:
            return False
        self.dropped[key] = reason.value
        self._save_for(follower)
        return True

    def note_inactive(self, follower: str, source: str, version: int, inactive: bool) -> bool:
        """Record whether the follow's source is inactive; True when it just became so (tell once)."""
        key = _drop_key(follower, source, version)
        if inactive == (key in self.inactive):
            return False
        if inactive:
            self.inactive.add(key)
        else:
            self.inactive.discard(key)
        self._save_for(follower)
        return inactive

    def is_dropped(self, follower: str, source: str, version: int) -> bool:
        return _drop_key(follower, source, version) in self.dropped

    def drop_reason(self, follower: str, source: str, version: int) -> RiskReason | None:
        reason = self.dropped.get(_drop_key(follower, source, version))
        return None if reason is None else RiskReason(reason)

    def block(
        self,
        follower: str,
        now_ms: int,
        *,
        reduce_only: bool,
        source: str | None = None,
        version: int | None = None,
    ) -> RiskReason | None:
        """The guard that forbids this order now, if any (checked before every order). A follow a
        source guard dropped sends reductions only (its unfollow's closes)."""
        reason = account_block(self.account(follower), now_ms, reduce_only=reduce_only)
        if reason is not None or reduce_only or source is None or version is None:
            return reason
        return self.drop_reason(follower, source, version)

    def control_applied(self, follower: str) -> int | None:
        return self.controls.get(follower)

    def set_control_applied(self, follower: str, row_id: int) -> None:
        if self.controls.get(follower) != row_id:
            self.controls[follower] = row_id
            self._save_for(follower)

    def reset(self, follower: str) -> None:
        """Trips cleared and the peak restarted, with no equity to rebase on (tests, tools)."""
        self.accounts[follower] = self.account(follower).reset()
        self._save_for(follower)

    def resume(
        self, follower: str, equity: Decimal | None, now_ms: int, limits: RiskLimits
    ) -> list[RiskReason]:
        """The user resumed: see `guards.resume_account`. Returns the guards still holding."""
        state, holding = resume_account(self.account(follower), equity, now_ms, limits)
        self.accounts[follower] = state
        self._save_for(follower)
        return holding


def _dropped_of(doc: dict[str, Any]) -> dict[str, str]:
    """Format 1 files written before the reasons were kept list drawdown drops only."""
    reasons = doc.get("dropped_reasons")
    if isinstance(reasons, dict):
        return {str(k): str(v) for k, v in reasons.items()}
    return dict.fromkeys(doc.get("dropped", []), RiskReason.SOURCE_DRAWDOWN.value)


def _drop_key(follower: str, source: str, version: int) -> str:
    return f"{follower} {source} v{version}"
