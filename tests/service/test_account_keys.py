"""Keystores and accounts (issue #14 item 9): `account add` refuses a keystore that does not open with
MIRROR_KEYSTORE_PASSWORD; at run, an account whose keystore cannot be opened is skipped (named in a log
line and an alert, never its key) and the others run; `account remove` refuses while the account
follows a source unless told what to do, is audited, and never deletes the keystore file."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.alerts import AlertBus, AlertKind
from bot.cli import app
from bot.config import LogFormat
from bot.ledger import Ledger
from bot.logs import configure_logging
from bot.pipeline.accounts import RunnerError, load_accounts
from bot.service import Actor, MirrorService
from tests.service.conftest import MakeKeystore
from tests.service.support import fixed_key, write_fast_keystore

PASSWORD = "correct horse"
SOURCE = "0x" + "5e" * 20


def cli(db_url: str, tmp_path: Path, *args: str, password: str = PASSWORD) -> Result:
    env = {
        "MIRROR_DATA_DIR": str(tmp_path / "data"),
        "MIRROR_DATABASE_URL": db_url,
        "MIRROR_HL_API_URL": "http://127.0.0.1:9",
        "MIRROR_KEYSTORE_PASSWORD": password,
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_account_add_refuses_a_keystore_the_password_does_not_open(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keystore, _ = write_fast_keystore(tmp_path / "agent.json", "another password")
    master = fixed_key("wrong-password").address
    added = cli(db_url, tmp_path, "account", "add", "--address", master, "--keystore", str(keystore))
    assert added.exit_code == 1
    (line,) = added.stderr.strip().splitlines()
    assert "wrong password" in line and "MIRROR_KEYSTORE_PASSWORD" in line and PASSWORD not in line
    assert json.loads(cli(db_url, tmp_path, "account", "list", "--json").stdout) == []
    good = cli(
        db_url,
        tmp_path,
        "account",
        "add",
        "--address",
        master,
        "--keystore",
        str(keystore),
        password="another password",
    )
    assert good.exit_code == 0, good.stderr


async def test_an_account_whose_keystore_does_not_open_is_skipped_the_others_run(
    service: MirrorService, ledger: Ledger, actor: Actor, make_keystore: MakeKeystore
) -> None:
    good_store, _ = make_keystore(PASSWORD)
    bad_store, _ = make_keystore("not the runner's password")
    good, bad = fixed_key("good").address.lower(), fixed_key("bad").address.lower()
    await service.account_add(actor, good, good_store, check_venue=False)
    await service.account_add(actor, bad, bad_store, check_venue=False)
    gone_store, _ = make_keystore(PASSWORD)
    gone = fixed_key("gone").address.lower()
    await service.account_add(actor, gone, gone_store, check_venue=False)
    gone_store.unlink()  # the file was moved away since

    stream = io.StringIO()
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    alerts = AlertBus()
    try:
        accounts = await load_accounts(ledger, PASSWORD, "hyperliquid", alerts)
    finally:
        logging.getLogger().handlers = [
            h for h in logging.getLogger().handlers if not getattr(h, "_mirror_handler", False)
        ]
    assert [a.address for a in accounts] == [good]
    skipped = {
        a.follower: a.message for a in alerts.of_kind(AlertKind.FAILURE) if a.reason == "account_skipped"
    }
    assert set(skipped) == {bad, gone}
    assert "wrong password" in skipped[bad] and "no such file" in skipped[gone]
    logged = [
        x for x in map(json.loads, stream.getvalue().splitlines()) if x.get("event") == "account_skipped"
    ]
    assert {x["account"] for x in logged} == {bad, gone}
    assert PASSWORD not in stream.getvalue()


async def test_the_run_refuses_when_no_account_opens(
    service: MirrorService, ledger: Ledger, actor: Actor, make_keystore: MakeKeystore
) -> None:
    store, _ = make_keystore("not the runner's password")
    await service.account_add(actor, fixed_key("only").address, store, check_venue=False)
    with pytest.raises(RunnerError, match="wrong password"):
        await load_accounts(ledger, PASSWORD, "hyperliquid", AlertBus())


def test_account_remove_refuses_while_following_then_keeps_positions_and_the_keystore(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keystore, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD)
    master = fixed_key("remove-me").address.lower()
    assert (
        cli(db_url, tmp_path, "account", "add", "--address", master, "--keystore", str(keystore)).exit_code
        == 0
    )
    followed = cli(db_url, tmp_path, "follow", "add", SOURCE, "--account", master, "--no-check-venue")
    assert followed.exit_code == 0, followed.stderr

    refused = cli(db_url, tmp_path, "account", "remove", master)
    assert refused.exit_code == 1
    (line,) = refused.stderr.strip().splitlines()
    assert f"still follows {SOURCE}" in line and "--keep-positions" in line
    assert len(json.loads(cli(db_url, tmp_path, "account", "list", "--json").stdout)) == 1

    removed = cli(db_url, tmp_path, "account", "remove", master, "--keep-positions")
    assert removed.exit_code == 0, removed.stderr
    assert f"Unfollowed {SOURCE}" in removed.stdout and f"keystore {keystore} is kept" in removed.stdout
    assert keystore.exists()
    assert json.loads(cli(db_url, tmp_path, "account", "list", "--json").stdout) == []
    (follow,) = json.loads(cli(db_url, tmp_path, "follow", "list", "--json").stdout)
    assert follow["active"] is False and follow["release"] == "keep"
    unknown = cli(db_url, tmp_path, "account", "remove", master)
    assert unknown.exit_code == 1 and "is not registered" in unknown.stderr


async def test_account_remove_is_audited_refusals_too(
    service: MirrorService, ledger: Ledger, actor: Actor, make_keystore: MakeKeystore
) -> None:
    store, _ = make_keystore(PASSWORD)
    master = fixed_key("audited").address.lower()
    await service.account_add(actor, master, store, check_venue=False)
    await service.follow_add(actor, master, SOURCE, check_venue=False)
    with pytest.raises(Exception, match="still follows"):
        await service.account_remove(actor, master)
    await service.account_remove(actor, master, keep_positions=True)
    entries = [e for e in await ledger.audit_entries(limit=50) if e.action == "account.remove"]
    assert len(entries) == 2
    details = sorted((e.details for e in entries), key=lambda d: "refused" in d)
    assert details[0]["unfollowed"] == [SOURCE] and details[0]["keystore_kept"] == str(store)
    assert "still follows" in details[1]["refused"]
