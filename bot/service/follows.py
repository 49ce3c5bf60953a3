"""The follow commands of `MirrorService`: add, update, remove and list follow plans (a new plan version
per change, SPEC §2's one source per token), checked against the venue's listing when one is reachable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.ledger import FollowPlan
from bot.service import inputs, venue_reads
from bot.service.actor import Actor
from bot.service.core import VENUE, ServiceCore, _settings_of
from bot.service.coverage import Coverage
from bot.service.errors import Conflict, InvalidInput, NotFound, VenueUnreachable
from bot.service.settings import OPTION_KEYS, RELEASE, FollowSettings, settings_from_json, settings_to_json
from bot.service.sizing_settings import SIZING_KEYS
from bot.service.views import FollowView, PlanChange
from strategies.config import ALL_TOKENS


@dataclass(frozen=True, slots=True)
class _Edit:
    """What a follow command asks to change, besides the settings it set directly."""

    tokens: object
    scale: Mapping[str, object] | None
    options: Mapping[str, object]
    release: str | None
    reassign: bool
    check_venue: bool | None


class FollowCommands(ServiceCore):
    # ---- follows --------------------------------------------------------------------------------

    async def follow_add(
        self,
        actor: Actor,
        follower: str | None,
        source: str,
        tokens: str | list[str] | tuple[str, ...] | None = None,
        scaling: object = 100,
        scale: Mapping[str, object] | None = None,
        copy_current: bool = False,
        *,
        reassign: bool = False,
        check_venue: bool | None = None,
        **options: object,
    ) -> PlanChange:
        """Start following `source` for `follower` (version 1, or a new version of an unfollowed plan).

        `tokens` None = every token; `scaling` is the default k (%), `scale` per token; `options` take
        the names of docs/simulate.md's follow settings (OPTION_KEYS). A token another source holds for
        this follower is refused, naming it, unless the follower is flat in it (venue checked) or
        `reassign` confirms that the follower's position there is closed first.
        """
        async with self._refusals(actor, "follow.add"):
            follower, source = await self._pair(follower, source)
            async with self._plans_lock:
                current = await self.ledger.current_plan(follower, source)
                if current is not None and _settings_of(current).active:
                    raise Conflict(
                        f"{follower} already follows {source} (plan v{current.version}): "
                        "change it with `follow update`, or remove it first"
                    )
                doc = settings_to_json(FollowSettings())
                doc["copy_current"] = inputs.flag(copy_current, "copy_current")
                doc["scaling"] = {ALL_TOKENS: inputs.scaling(scaling, "scaling")}
                edit = _Edit(tokens, scale, options, None, reassign, check_venue)
                return await self._write_follow(actor, "follow.add", follower, source, doc, edit, None)

    async def follow_update(
        self,
        actor: Actor,
        follower: str | None,
        source: str,
        *,
        tokens: str | list[str] | tuple[str, ...] | None = None,
        scaling: object = None,
        scale: Mapping[str, object] | None = None,
        copy_current: bool | None = None,
        release: str | None = None,
        reassign: bool = False,
        check_venue: bool | None = None,
        **options: object,
    ) -> PlanChange:
        """Change a follow's settings: always a new plan version (never in place); none when nothing
        changes. An update that stops copying some token needs `release` = close or keep for them."""
        async with self._refusals(actor, "follow.update"):
            follower, source = await self._pair(follower, source)
            async with self._plans_lock:
                current = await self._active_plan(follower, source)
                doc = dict(current.settings)
                doc["release"] = None
                if copy_current is not None:
                    doc["copy_current"] = inputs.flag(copy_current, "copy_current")
                if scaling is not None:
                    doc["scaling"] = {
                        **doc.get("scaling", {}),
                        ALL_TOKENS: inputs.scaling(scaling, "scaling"),
                    }
                edit = _Edit(tokens, scale, options, release, reassign, check_venue)
                return await self._write_follow(actor, "follow.update", follower, source, doc, edit, current)

    async def follow_remove(
        self, actor: Actor, follower: str | None, source: str, *, close: bool
    ) -> PlanChange:
        """Unfollow: a new version with the follow off, and the follower's positions in its tokens
        closed (`close=True`) or kept, detached and no longer managed (`close=False`). No default."""
        async with self._refusals(actor, "follow.remove"):
            if not isinstance(close, bool):
                raise InvalidInput(
                    "close", "choose whether to close or keep the positions", "true (close), false (keep)"
                )
            follower, source = await self._pair(follower, source)
            async with self._plans_lock:
                current = await self._active_plan(follower, source)
                before = _settings_of(current)
                settings = replace(before, active=False, release="close" if close else "keep")
                plan = await self.ledger.new_plan_version(
                    follower, source, settings_to_json(settings), actor=actor.name
                )
            view = FollowView.of(plan)
            await self._audit(
                actor,
                "follow.remove",
                {
                    "follower": follower,
                    "source": source,
                    "version": plan.version,
                    "release": settings.release,
                },
            )
            return PlanChange(view, changed=True)

    async def follow_list(self, actor: Actor, follower: str | None = None) -> tuple[FollowView, ...]:
        """The current version of every follow (of one follower, or all), unfollowed ones included."""
        address = inputs.address(follower, "account") if follower is not None else None
        views = tuple(FollowView.of(plan) for plan in await self.ledger.current_plans(address))
        await self._audit(actor, "follow.list", {"follower": address, "count": len(views)})
        return views

    async def _pair(self, follower: str | None, source: str) -> tuple[str, str]:
        address = await self.resolve_follower(follower)
        leader = inputs.address(source, "source")
        if leader == address:
            raise InvalidInput("source", "an account cannot follow itself", "another wallet's address")
        return address, leader

    async def _active_plan(self, follower: str, source: str) -> FollowPlan:
        current = await self.ledger.current_plan(follower, source)
        if current is None or not _settings_of(current).active:
            raise NotFound(f"{follower} does not follow {source} (see `mirrorbot follow list`)")
        return current

    async def _write_follow(
        self,
        actor: Actor,
        action: str,
        follower: str,
        source: str,
        doc: dict[str, Any],
        edit: _Edit,
        current: FollowPlan | None,
    ) -> PlanChange:
        """Apply `edit` to the settings `doc`, validate, resolve token ownership, write the version."""
        for key in edit.options:
            if key not in OPTION_KEYS:
                raise InvalidInput(key, "unknown follow option", ", ".join(OPTION_KEYS))
        if edit.options.get("strategy", doc.get("strategy")) != doc.get("strategy"):
            doc.update(dict.fromkeys(SIZING_KEYS))  # a new strategy: the old one's keys go with it
        doc.update(edit.options)
        if edit.tokens is not None:
            every = edit.tokens in (ALL_TOKENS, [ALL_TOKENS], (ALL_TOKENS,))
            doc["include"] = None if every else inputs.tokens(edit.tokens, "tokens")
        for coin, k in (edit.scale or {}).items():
            name = inputs.token(coin, "scale")
            doc["scaling"] = {**doc.get("scaling", {}), name: inputs.scaling(k, f"scale.{name}")}
        reads = await self._venue(edit.check_venue, "checking the tokens")
        listed: list[str] | None = None
        if reads is not None:
            try:
                listed = list(await venue_reads.instruments(reads))
            except VenueUnreachable:
                if edit.check_venue:
                    raise
        if listed is not None:
            _respell(doc, listed)
        settings = settings_from_json(doc)
        coverage = Coverage.of(settings.config.filters)
        if current is not None:
            before = Coverage.of(_settings_of(current).config.filters)
            if not coverage.contains(before):
                if edit.release is None:
                    dropped = before.minus(coverage).describe()
                    raise InvalidInput(
                        "release",
                        f"this change stops copying {dropped}: close or keep those positions?",
                        "close, keep",
                    )
                settings = replace(settings, release=inputs.choice(edit.release, "release", RELEASE))
            if settings_to_json(settings) == settings_to_json(_settings_of(current)):
                return PlanChange(FollowView.of(current), changed=False, venue_checked=listed is not None)
        released = await self._release_to(
            actor, follower, source, coverage, edit.reassign, listed is not None
        )
        plan = await self.ledger.new_plan_version(
            follower, source, settings_to_json(settings), actor=actor.name
        )
        view = FollowView.of(plan)
        await self._audit(
            actor,
            action,
            {
                "follower": follower,
                "source": source,
                "version": plan.version,
                "settings": plan.settings,
                "taken_from": [f"{r.source} v{r.version}" for r in released],
            },
        )
        replaced = current.settings if current is not None and action == "follow.update" else None
        return PlanChange(
            view, changed=True, released=released, venue_checked=listed is not None, before=replaced
        )

    async def _release_to(
        self, actor: Actor, follower: str, source: str, wanted: Coverage, reassign: bool, venue_known: bool
    ) -> tuple[FollowView, ...]:
        """Make the other sources of `follower` give up the tokens `wanted` covers (SPEC §2), or refuse.

        Without confirmation this is allowed only when the venue shows the follower flat in every
        contested token; those plans then release with `keep` (there is nothing to close). Confirmed,
        they release with `close`. Holders are released before the new plan is written: if the
        second write failed, a token would be left with no source (safe), never with two.
        """
        holders: list[tuple[FollowPlan, FollowSettings, Coverage]] = []
        for plan in await self.ledger.current_plans(follower):
            settings = _settings_of(plan)
            if plan.source == source or not settings.active:
                continue
            theirs = Coverage.of(settings.config.filters)
            if not theirs.overlap(wanted).is_empty:
                holders.append((plan, settings, theirs))
        if not holders:
            return ()
        mode = "close"
        if not reassign:
            contested = [
                f"{theirs.overlap(wanted).describe()} (from {plan.source}, plan v{plan.version})"
                for plan, _, theirs in holders
            ]
            flat = venue_known and await self._flat_in(
                follower, [theirs.overlap(wanted) for _, _, theirs in holders]
            )
            if not flat:
                raise Conflict(
                    f"{follower} already copies {'; '.join(contested)}: a token follows one source at a "
                    "time. Exclude those tokens, or confirm the re-assignment, which closes the follower's "
                    "position in them first",
                    holders=tuple(plan.source for plan, _, _ in holders),
                )
            mode = "keep"
        released: list[FollowView] = []
        for plan, settings, theirs in holders:
            kept = theirs.minus(wanted)
            filters = replace(settings.config.filters, include=kept.include, exclude=kept.exclude)
            new = replace(settings.with_config(filters=filters), release=mode)
            row = await self.ledger.new_plan_version(
                follower, plan.source, settings_to_json(new), actor=actor.name
            )
            await self._audit(
                actor,
                "follow.release",
                {
                    "follower": follower,
                    "source": plan.source,
                    "version": row.version,
                    "to": source,
                    "release": mode,
                },
            )
            released.append(FollowView.of(row))
        return tuple(released)

    async def _flat_in(self, follower: str, contested: list[Coverage]) -> bool:
        on = next((row.venue for row in await self.ledger.accounts() if row.address == follower), VENUE)
        try:
            state = (await self._states([(on, follower)]))[follower]
        except VenueUnreachable:
            return False
        return not any(c.covers(p.coin) for p in state.positions for c in contested)


def _respell(doc: dict[str, Any], listed: list[str]) -> None:
    """Check every coin the settings name against the venue's list, in the venue's spelling."""
    if doc.get("include"):
        doc["include"] = list(inputs.venue_tokens(inputs.tokens(doc["include"], "tokens"), listed, "tokens"))
    if doc.get("exclude"):
        doc["exclude"] = list(
            inputs.venue_tokens(inputs.tokens(doc["exclude"], "exclude"), listed, "exclude")
        )
    doc["scaling"] = {
        coin
        if coin == ALL_TOKENS
        else inputs.venue_tokens([inputs.token(coin, "scale")], listed, "scale")[0]: k
        for coin, k in (doc.get("scaling") or {}).items()
    }
