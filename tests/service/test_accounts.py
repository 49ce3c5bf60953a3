"""Registering follower accounts and their agent wallets (no venue: the checks that need none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ledger import Ledger
from bot.service import Actor, Conflict, InvalidInput, KeystoreError, MirrorService, NotFound, VenueError
from tests.service.conftest import MakeKeystore

MASTER = "0x" + "ab" * 20
VAULT = "0x" + "cd" * 20


async def test_an_account_is_registered_with_its_agent(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore, ledger: Ledger
) -> None:
    path, agent = make_keystore()
    added = await service.account_add(actor, MASTER.upper().replace("0X", "0x"), path, label="main")
    assert added.created and not added.venue_checked
    assert (added.account.address, added.account.kind, added.account.agent) == (MASTER, "master", agent)
    assert added.account.keystore == str(path)
    (stored,) = await ledger.accounts()
    assert stored.keystore_json is None and stored.keystore_path == str(path)  # the key stays in its file
    assert [a.address for a in await service.account_list(actor)] == [MASTER]
    entry = next(e for e in await ledger.audit_entries() if e.action == "account.add")
    assert entry.actor == "cli:tester" and entry.details["agent"] == agent


async def test_a_vault_is_the_traded_account(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore
) -> None:
    path, agent = make_keystore()
    added = await service.account_add(actor, MASTER, path, vault=VAULT)
    assert (added.account.address, added.account.kind, added.account.agent) == (VAULT, "vault", agent)


async def test_registering_twice_is_idempotent_but_a_different_agent_is_refused(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore
) -> None:
    path, _ = make_keystore()
    assert (await service.account_add(actor, MASTER, path)).created
    assert not (await service.account_add(actor, MASTER, path)).created
    other, _ = make_keystore()
    with pytest.raises(Conflict, match=f"account {MASTER} is already registered with agent"):
        await service.account_add(actor, MASTER, other)


@pytest.mark.parametrize(
    ("address", "vault", "label", "message"),
    [
        (
            "0x1234",
            None,
            None,
            r"address: not an address: '0x1234' \(accepted: 0x followed by 40 hex digits\)",
        ),
        (
            "ab" * 32,
            None,
            None,
            r"address: not an address: a value that looks like a private key \(not shown\)",
        ),
        (MASTER, "vault-1", None, r"vault: not an address: 'vault-1'"),
        (MASTER, None, "x" * 65, r"label: not a usable label \(accepted: 1 to 64 printable characters\)"),
        (MASTER, None, "a\nb", r"label: not a usable label"),
    ],
)
async def test_bad_input_names_the_field(
    service: MirrorService,
    actor: Actor,
    make_keystore: MakeKeystore,
    address: str,
    vault: str | None,
    label: str | None,
    message: str,
) -> None:
    path, _ = make_keystore()
    with pytest.raises(InvalidInput, match=message):
        await service.account_add(actor, address, path, label=label, vault=vault)
    assert await service.account_list(actor) == ()


async def test_the_keystore_must_exist_and_be_private(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore, tmp_path: Path
) -> None:
    with pytest.raises(NotFound, match="no such file"):
        await service.account_add(actor, MASTER, tmp_path / "nope.json")
    path, _ = make_keystore()
    path.chmod(0o640)
    with pytest.raises(KeystoreError, match="readable by other users"):
        await service.account_add(actor, MASTER, path)


async def test_a_required_venue_check_without_a_venue_is_refused(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore
) -> None:
    path, _ = make_keystore()
    with pytest.raises(VenueError, match="no venue URL is configured"):
        await service.account_add(actor, MASTER, path, check_venue=True)
    assert await service.account_list(actor) == ()


async def test_the_follower_defaults_to_the_only_account(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore
) -> None:
    with pytest.raises(NotFound, match="no follower account is registered yet"):
        await service.resolve_follower(None)
    await service.account_add(actor, MASTER, make_keystore()[0])
    assert await service.resolve_follower(None) == MASTER
    await service.account_add(actor, VAULT, make_keystore()[0])
    with pytest.raises(
        InvalidInput, match=r"account: several accounts are registered: name one \(accepted: "
    ):
        await service.resolve_follower(None)
    with pytest.raises(NotFound, match="is not registered"):
        await service.resolve_follower("0x" + "99" * 20)
    assert await service.resolve_follower(VAULT.upper().replace("0X", "0x")) == VAULT


async def test_a_refusal_for_many_accounts_names_ten_and_points_to_the_list(
    service: MirrorService, actor: Actor, make_keystore: MakeKeystore
) -> None:
    """A hosted ledger holds thousands of accounts: the refusal names the first ten, not all of them."""
    addresses = [f"0x{n:040x}" for n in range(1, 13)]
    for address in addresses:
        await service.account_add(actor, address, make_keystore()[0])
    with pytest.raises(InvalidInput) as refused:
        await service.resolve_follower(None)
    message = str(refused.value)
    assert all(a in message for a in addresses[:10]) and not any(a in message for a in addresses[10:])
    assert message.endswith("… (`mirrorbot account list`))")
    assert await service.resolve_follower(addresses[11]) == addresses[11]
