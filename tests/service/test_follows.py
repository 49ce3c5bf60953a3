"""Follows through the service: plan versions, one source per token, unfollow, validation, audit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.ledger import Ledger
from bot.service import Actor, Conflict, InvalidInput, MirrorService, NotFound, to_config
from strategies.fixed_ratio import FixedRatioSizing
from tests.service.conftest import MakeKeystore

FOLLOWER = "0x" + "f0" * 20
SOURCE_A = "0x" + "a1" * 20
SOURCE_B = "0x" + "b2" * 20


@pytest.fixture
async def follower(service: MirrorService, actor: Actor, make_keystore: MakeKeystore) -> str:
    await service.account_add(actor, FOLLOWER, make_keystore()[0])
    return FOLLOWER


async def test_every_change_is_a_new_version_and_old_versions_stay(
    service: MirrorService, actor: Actor, ledger: Ledger, follower: str
) -> None:
    added = await service.follow_add(actor, None, SOURCE_A, "eth,BTC", 100, {"ETH": "50"}, copy_current=True)
    assert (added.plan.version, added.changed, added.plan.tokens) == (1, True, "BTC, ETH")
    config = to_config(added.plan.settings)
    assert (config.k("ETH"), config.k("BTC"), config.copy_current) == (Decimal(50), Decimal(100), True)

    updated = await service.follow_update(
        actor, follower, SOURCE_A, scaling="150", strategy="fixed_ratio", ratio="2"
    )
    assert updated.plan.version == 2
    config = to_config(updated.plan.settings)
    assert (config.k("ETH"), config.k("BTC")) == (
        Decimal(50),
        Decimal(150),
    )  # a per-token k survives a default change
    assert config.sizing == FixedRatioSizing(Decimal(2))

    same = await service.follow_update(actor, follower, SOURCE_A, scaling="150")
    assert (same.changed, same.plan.version) == (False, 2)  # nothing changed: no version written

    removed = await service.follow_remove(actor, follower, SOURCE_A, close=False)
    assert (removed.plan.version, removed.plan.active, removed.plan.release) == (3, False, "keep")
    again = await service.follow_add(actor, follower, SOURCE_A)
    assert (again.plan.version, again.plan.active, again.plan.tokens) == (4, True, "every token")

    versions = await ledger.plan_versions(follower, SOURCE_A)
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert versions[0].settings == added.plan.settings  # never updated in place
    assert versions[1].settings == updated.plan.settings
    assert {v.actor for v in versions} == {"cli:tester"}
    actions = [e.action for e in reversed(await ledger.audit_entries())]
    assert actions.count("follow.add") == 2 and actions.count("follow.remove") == 1


async def test_a_token_held_by_another_source_is_refused_naming_it(
    service: MirrorService, actor: Actor, ledger: Ledger, follower: str
) -> None:
    await service.follow_add(actor, follower, SOURCE_A, tokens="ETH,BTC")
    with pytest.raises(Conflict, match=rf"already copies ETH \(from {SOURCE_A}, plan v1\)") as refused:
        await service.follow_add(actor, follower, SOURCE_B, tokens="ETH,SOL")
    assert refused.value.holders == (SOURCE_A,)
    assert await ledger.current_plan(follower, SOURCE_B) is None  # nothing half-written
    with pytest.raises(Conflict, match=r"already copies BTC, ETH \(from"):
        await service.follow_add(actor, follower, SOURCE_B)  # every token overlaps both
    refusal = (await ledger.audit_entries())[0]
    assert refusal.action == "follow.add" and SOURCE_A in refusal.details["refused"]
    # disjoint tokens are fine, and so is "every token except" the held ones
    assert (await service.follow_add(actor, follower, SOURCE_B, tokens="SOL")).plan.version == 1
    await service.follow_remove(actor, follower, SOURCE_B, close=True)
    assert (await service.follow_add(actor, follower, SOURCE_B, exclude="ETH,BTC")).plan.version == 3


async def test_a_confirmed_reassignment_moves_the_token_and_closes_it_first(
    service: MirrorService, actor: Actor, ledger: Ledger, follower: str
) -> None:
    await service.follow_add(actor, follower, SOURCE_A)  # every token
    change = await service.follow_add(actor, follower, SOURCE_B, tokens="ETH", reassign=True)
    (released,) = change.released
    assert (released.source, released.version, released.release) == (SOURCE_A, 2, "close")
    assert released.tokens == "every token except ETH"
    a = to_config((await ledger.current_plan(follower, SOURCE_A)).settings)  # type: ignore[union-attr]
    b = to_config(change.plan.settings)
    assert not a.filters.covers("ETH") and a.filters.covers("BTC")
    assert b.filters.covers("ETH") and not b.filters.covers("BTC")


async def test_an_update_that_stops_copying_a_token_asks_close_or_keep(
    service: MirrorService, actor: Actor, follower: str
) -> None:
    await service.follow_add(actor, follower, SOURCE_A, tokens="ETH,BTC")
    with pytest.raises(
        InvalidInput, match=r"release: this change stops copying BTC: close or keep .*close, keep"
    ):
        await service.follow_update(actor, follower, SOURCE_A, tokens="ETH")
    narrowed = await service.follow_update(actor, follower, SOURCE_A, tokens="ETH", release="close")
    assert (narrowed.plan.version, narrowed.plan.release, narrowed.plan.tokens) == (2, "close", "ETH")
    widened = await service.follow_update(actor, follower, SOURCE_A, tokens="*")
    assert (widened.plan.version, widened.plan.release, widened.plan.tokens) == (3, None, "every token")


async def test_following_twice_and_unknown_follows(
    service: MirrorService, actor: Actor, follower: str
) -> None:
    await service.follow_add(actor, follower, SOURCE_A)
    with pytest.raises(Conflict, match=r"already follows .* change it with `follow update`"):
        await service.follow_add(actor, follower, SOURCE_A)
    with pytest.raises(NotFound, match=f"does not follow {SOURCE_B}"):
        await service.follow_update(actor, follower, SOURCE_B, scaling=50)
    with pytest.raises(NotFound, match=f"does not follow {SOURCE_B}"):
        await service.follow_remove(actor, follower, SOURCE_B, close=True)
    with pytest.raises(NotFound, match="is not registered"):
        await service.follow_add(actor, SOURCE_B, SOURCE_A)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"source": "0xnope"},
            r"source: not an address: '0xnope' \(accepted: 0x followed by 40 hex digits\)",
        ),
        ({"source": FOLLOWER}, r"source: an account cannot follow itself"),
        ({"scaling": "-10"}, r"scaling: out of range: -10 \(accepted: \(0, 1000\]\)"),
        ({"scaling": "1000.5"}, r"scaling: out of range: 1000.5 \(accepted: \(0, 1000\]\)"),
        ({"scaling": 1.5}, r"scaling: expected a decimal number, got a float"),
        ({"scale": {"ETH": "abc"}}, r"scale\.ETH: not a number: 'abc'"),
        ({"tokens": "ETH,,$$"}, r"tokens\[1\]: not a token name: '\$\$'"),
        ({"leverage": "5"}, r"leverage: unknown follow option \(accepted: strategy, ratio, notional"),
        ({"strategy": "fixed_notional"}, r"notional: missing: strategy fixed_notional needs it"),
        ({"side": "sideways"}, r"side: unknown value 'sideways' \(accepted: both, long_only, short_only\)"),
    ],
)
async def test_bad_follow_input_names_the_field_and_accepted_values(
    service: MirrorService, actor: Actor, ledger: Ledger, follower: str, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"source": SOURCE_A} | kwargs
    source = args.pop("source")
    with pytest.raises(InvalidInput, match=message):
        await service.follow_add(actor, follower, source, **args)
    assert await ledger.current_plans(follower) == []


async def test_unfollow_requires_the_choice(service: MirrorService, actor: Actor, follower: str) -> None:
    await service.follow_add(actor, follower, SOURCE_A)
    with pytest.raises(InvalidInput, match=r"close: choose whether to close or keep"):
        await service.follow_remove(actor, follower, SOURCE_A, close="yes")  # type: ignore[arg-type]
    closed = await service.follow_remove(actor, follower, SOURCE_A, close=True)
    assert (closed.plan.active, closed.plan.release, closed.plan.tokens) == (
        False,
        "close",
        "none (unfollowed)",
    )
    listed = await service.follow_list(actor)
    assert [(f.source, f.version, f.active) for f in listed] == [(SOURCE_A, 2, False)]
