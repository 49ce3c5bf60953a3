"""Which tokens a follow covers, and where two follows of one follower overlap (SPEC §2: one source per
(follower, token)). A follow covers its `include` list (None = every token) minus its `exclude` list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from strategies.config import Filters


@dataclass(frozen=True, slots=True)
class Coverage:
    include: frozenset[str] | None  # None: every token the venue lists
    exclude: frozenset[str] = frozenset()

    @classmethod
    def of(cls, filters: Filters) -> Coverage:
        return cls(filters.include, filters.exclude)

    @property
    def is_empty(self) -> bool:
        return self.include is not None and not (self.include - self.exclude)

    def covers(self, coin: str) -> bool:
        return coin not in self.exclude and (self.include is None or coin in self.include)

    def tokens(self, universe: Iterable[str] | None = None) -> frozenset[str] | None:
        """The covered tokens as a set; None when it is "every token" and no universe is known."""
        if self.include is not None:
            return self.include - self.exclude
        if universe is None:
            return None
        return frozenset(universe) - self.exclude

    def overlap(self, other: Coverage) -> Coverage:
        if self.include is None:
            include = other.include
        elif other.include is None:
            include = self.include
        else:
            include = self.include & other.include
        return Coverage(include, self.exclude | other.exclude)

    def minus(self, other: Coverage) -> Coverage:
        """What this coverage keeps once `other` takes every token it covers."""
        if other.include is None:  # other takes all but its exclusions: we keep only those
            kept = other.exclude if self.include is None else self.include & other.exclude
            return Coverage(frozenset(kept - self.exclude), self.exclude)
        taken = other.include - other.exclude
        if self.include is None:
            return Coverage(None, self.exclude | taken)
        return Coverage(self.include - taken, self.exclude)

    def contains(self, other: Coverage) -> bool:
        """Whether every token `other` covers is covered here (so going from here to `other` drops none)."""
        return other.minus(self).is_empty

    def describe(self) -> str:
        if self.include is None:
            return "every token" + (f" except {', '.join(sorted(self.exclude))}" if self.exclude else "")
        covered = sorted(self.include - self.exclude)
        return ", ".join(covered) if covered else "no token"
