"""No key in clear: no column made for one, and the account API accepts only encrypted keystores."""

from __future__ import annotations

import json
import re

import pytest
from eth_account import Account as EthAccount
from sqlalchemy import text

from bot.ledger import AccountKind, Ledger, LedgerError
from bot.ledger.models import metadata

FORBIDDEN = re.compile(r"private|secret|password|passphrase|mnemonic|seed|api_?key|token_value|^key$")
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS = "0x" + "2c7536e3605d9c16a7a3d7b1898e529396a65c23"


def test_no_column_is_made_to_hold_a_secret() -> None:
    columns = [
        f"{table.name}.{column.name}" for table in metadata.tables.values() for column in table.columns
    ]
    assert columns, "the scan must see the schema"
    assert [name for name in columns if FORBIDDEN.search(name.split(".")[1])] == []


@pytest.mark.parametrize(
    "material",
    [
        KEY,
        KEY[2:],
        json.dumps({"privateKey": KEY}),
        json.dumps({"version": 3, "crypto": {"ciphertext": KEY}}),
    ],
    ids=["hex-key", "bare-hex-key", "json-with-key", "keystore-missing-kdf"],
)
async def test_clear_key_material_is_refused_without_being_echoed(ledger: Ledger, material: str) -> None:
    with pytest.raises(LedgerError, match="keystore") as caught:
        await ledger.add_account(venue="hyperliquid", address=ADDRESS, keystore_json=material)
    assert KEY[2:] not in str(caught.value)
    assert await ledger.get_account("hyperliquid", ADDRESS) is None


async def test_an_encrypted_keystore_is_stored_and_the_key_appears_nowhere(ledger: Ledger) -> None:
    # pbkdf2 with few iterations keeps the test fast; the format is what the CLI's keystore writes.
    keystore = json.dumps(
        EthAccount.encrypt(bytes.fromhex(KEY[2:]), "correct horse", kdf="pbkdf2", iterations=2)
    )
    agent = "0x" + "AB" * 20
    first = await ledger.add_account(
        venue="hyperliquid",
        address=ADDRESS.upper().replace("0X", "0x"),
        kind=AccountKind.SUB_ACCOUNT,
        label="desk",
        agent_address=agent,
        keystore_json=keystore,
    )
    again = await ledger.add_account(venue="hyperliquid", address=ADDRESS, label="other")
    assert first.created and not again.created and again.row.label == "desk"
    stored = await ledger.get_account("hyperliquid", ADDRESS)
    assert stored is not None
    assert (stored.address, stored.kind, stored.agent_address) == (ADDRESS, "sub_account", agent.lower())
    assert stored.keystore_json is not None
    assert EthAccount.decrypt(stored.keystore_json, "correct horse").hex() == KEY[2:]
    async with ledger.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM account"))).all()
    assert KEY[2:] not in repr(rows)
    assert [a.address for a in await ledger.accounts()] == [ADDRESS]
