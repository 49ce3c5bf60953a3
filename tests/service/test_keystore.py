"""Keystores: encrypted round trip, 0600, no overwrite, clear errors, and the key never leaks."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.ledger import Ledger
from bot.ledger.models import metadata
from bot.service import Actor, Conflict, InvalidInput, KeystoreError, MirrorService, NotFound
from bot.service.keystore import keystore_address
from tests.service.support import fixed_key

PASSWORD = "correct horse battery"


async def everything_stored(ledger: Ledger) -> str:
    """Every row of every ledger table as text: what a database dump would show."""
    rows: list[str] = []
    async with ledger.engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in (await connection.execute(select(table))).all()]
    return "\n".join(rows)


async def test_new_keystore_round_trips_and_is_private(
    service: MirrorService, actor: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "keys" / "agent.json"
    made = await service.keystore_new(actor, path, PASSWORD)
    assert made.path == path and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keystore_address(path) == made.address
    account = await service.load_key(actor, path, PASSWORD)
    assert account.address.lower() == made.address
    assert [p.name for p in path.parent.iterdir()] == ["agent.json"]  # no temporary file left behind


async def test_import_keeps_the_key_and_never_stores_or_logs_it(
    service: MirrorService, actor: Actor, ledger: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = fixed_key("import")
    hex_key = key.key.hex()
    path = tmp_path / "imported.json"
    made = await service.keystore_import(actor, path, "0x" + hex_key, PASSWORD)
    assert made.address == key.address.lower()
    loaded = await service.load_key(actor, path, PASSWORD)
    assert loaded.key == key.key
    assert hex_key not in path.read_text()
    await service.account_add(actor, "0x" + "12" * 20, path, label="imported")
    stored = await everything_stored(ledger)
    assert made.address in stored  # the audit names the address …
    assert hex_key not in stored.lower()  # … never the key
    assert hex_key not in caplog.text.lower()


async def test_wrong_password_is_a_clear_error_without_key_material(
    service: MirrorService, actor: Actor, tmp_path: Path
) -> None:
    key = fixed_key("wrong-password")
    path = tmp_path / "k.json"
    await service.keystore_import(actor, path, key.key.hex(), PASSWORD)
    with pytest.raises(KeystoreError, match="wrong password") as caught:
        await service.load_key(actor, path, "not the password")
    assert key.key.hex() not in str(caught.value)


async def test_existing_files_are_never_overwritten(
    service: MirrorService, actor: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "agent.json"
    first = await service.keystore_new(actor, path, PASSWORD)
    before = path.read_bytes()
    with pytest.raises(Conflict, match="already exists"):
        await service.keystore_new(actor, path, PASSWORD)
    with pytest.raises(Conflict, match="already exists"):
        await service.keystore_import(actor, path, fixed_key("over").key.hex(), PASSWORD)
    assert path.read_bytes() == before
    assert keystore_address(path) == first.address


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("0x1234", "not a private key"),
        ("zz" * 32, "not a private key"),
        ("00" * 32, "outside the secp256k1 key range"),
        ("ff" * 32, "outside the secp256k1 key range"),
    ],
)
async def test_bad_private_keys_are_refused_without_echo(
    service: MirrorService, actor: Actor, tmp_path: Path, key: str, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem) as caught:
        await service.keystore_import(actor, tmp_path / "k.json", key, PASSWORD)
    assert caught.value.field == "private_key"
    assert key not in str(caught.value)
    assert not (tmp_path / "k.json").exists()


async def test_short_passwords_are_refused(service: MirrorService, actor: Actor, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"password: too short .*at least 8"):
        await service.keystore_new(actor, tmp_path / "k.json", "short")
    assert not (tmp_path / "k.json").exists()


async def test_loose_file_modes_and_non_keystores_are_refused(
    service: MirrorService, actor: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "k.json"
    await service.keystore_new(actor, path, PASSWORD)
    path.chmod(0o644)
    with pytest.raises(KeystoreError, match="readable by other users: run `chmod 600"):
        await service.load_key(actor, path, PASSWORD)
    plain = tmp_path / "plain.json"
    plain.write_text('{"privateKey": "' + "11" * 32 + '"}')
    plain.chmod(0o600)
    with pytest.raises(KeystoreError, match="encrypted eth-account v3 keystore") as caught:
        await service.load_key(actor, plain, PASSWORD)
    assert "11" * 32 not in str(caught.value)


async def test_refusals_are_audited_too(service: MirrorService, ledger: Ledger, tmp_path: Path) -> None:
    actor = Actor.telegram(42)
    with pytest.raises(NotFound):
        await service.load_key(actor, tmp_path / "missing.json", PASSWORD)
    (entry,) = await ledger.audit_entries()
    assert (entry.actor, entry.channel, entry.action) == ("telegram:42", "telegram", "keystore.load")
    assert "no such file" in entry.details["refused"]


def test_a_product_keystore_uses_the_default_scrypt_cost(tmp_path: Path) -> None:
    """Only tests lower the KDF cost; MirrorService's default leaves eth-account's (n = 2^18)."""
    import json

    from bot.service.keystore import write_keystore

    path = tmp_path / "k.json"
    write_keystore(path, PASSWORD, fixed_key("cost").key)
    params = json.loads(path.read_text())["crypto"]["kdfparams"]
    assert params["n"] == 2**18
