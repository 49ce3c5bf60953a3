"""One redaction (bot/redaction.py) for logs, `mirrorbot config` and errors: URL secrets hidden, the
product's own decision ids kept (issue #14, items 3 and 12)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app
from bot.config import LogFormat, SettingsError, load_settings
from bot.ledger.ids import instruction_id
from bot.logs import configure_logging, log_event
from bot.redaction import MASK, redact_text, redact_url

PG_PASSWORD = "s3cr3t-Pa55word"
PG_URL = f"postgresql://mirror:{PG_PASSWORD}@db.internal:5432/mirrorbot"
ALCHEMY_KEY = "Xk3dP9qLr2Zt7Wv5Ny8Bc1Hf4Jm6Sg0A"
INFURA_KEY = "9aa3d95b3bc440fa88ea12eaa4456161"
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
DECISION = instruction_id("0x" + "ab" * 20, "ETH", "event-1", 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (PG_URL, f"postgresql://mirror:{MASK}@db.internal:5432/mirrorbot"),
        ("postgresql+asyncpg://u:p%40ss@h/db?ssl=require", f"postgresql+asyncpg://u:{MASK}@h/db?ssl=require"),
        ("postgresql://u:p@ss@h/db", f"postgresql://u:{MASK}@h/db"),  # an unencoded `@` in the password
        ("postgresql://mirror@db/x", "postgresql://mirror@db/x"),  # no password: nothing to hide
        (
            f"https://arb-mainnet.g.alchemy.com/v2/{ALCHEMY_KEY}",
            f"https://arb-mainnet.g.alchemy.com/v2/{MASK}",
        ),
        (f"https://mainnet.infura.io/v3/{INFURA_KEY}", f"https://mainnet.infura.io/v3/{MASK}"),
        ("https://rpc.example/?apikey=abc&chain=42161", f"https://rpc.example/?apikey={MASK}&chain=42161"),
        ("https://rpc.example/x?access_token=t0k", f"https://rpc.example/x?access_token={MASK}"),
        (f"https://{ALCHEMY_KEY}@rpc.example/", f"https://{MASK}@rpc.example/"),
        ("https://api.hyperliquid.xyz/info", "https://api.hyperliquid.xyz/info"),
        (
            "sqlite+aiosqlite:///home/me/.mirrorbot/mirrorbot.db",
            "sqlite+aiosqlite:///home/me/.mirrorbot/mirrorbot.db",
        ),
    ],
)
def test_urls_lose_their_secrets_and_keep_their_shape(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_text(f"connect to {url} failed") == f"connect to {expected} failed"


@settings(max_examples=60, deadline=None)
@given(password=st.text(min_size=1, max_size=40).filter(lambda p: p.strip() == p))
def test_any_userinfo_password_is_hidden(password: str) -> None:
    url = f"postgresql://mirror:{quote(password, safe='')}@db:5432/ledger"
    assert redact_text(f"error: {url}") == f"error: postgresql://mirror:{MASK}@db:5432/ledger"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_mirror_handler", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def test_logs_hide_url_secrets_in_messages_and_fields(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    log = logging.getLogger("bot.test")
    log.warning("cannot reach %s", PG_URL)
    log_event(log, "rpc_failed", url=f"https://mainnet.infura.io/v3/{INFURA_KEY}")
    text = stream.getvalue()
    assert PG_PASSWORD not in text and INFURA_KEY not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["msg"] == f"cannot reach postgresql://mirror:{MASK}@db.internal:5432/mirrorbot"
    assert second["url"] == f"https://mainnet.infura.io/v3/{MASK}"


def test_decision_ids_survive_in_id_fields_and_prefixed_text_keys_do_not(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    log = logging.getLogger("bot.test")
    log_event(log, "alert", decision_id=DECISION, ids=[DECISION], alert=f"see why instruction:{DECISION}")
    log_event(log, "leak", note=f"key {KEY}", detail=DECISION, id_hint=KEY.upper())
    kept, leak = (json.loads(line) for line in stream.getvalue().splitlines())
    assert kept["decision_id"] == DECISION and kept["ids"] == [DECISION]
    assert kept["alert"] == f"see why instruction:{DECISION}"
    # Outside an id field or the prefixed form, 64 hex digits are a key: masked.
    assert leak["note"] == f"key {MASK}" and leak["detail"] == MASK
    assert KEY not in stream.getvalue() and KEY.upper() not in stream.getvalue()


def test_a_key_in_an_id_field_written_with_0x_or_upper_case_is_still_masked(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    log_event(logging.getLogger("bot.test"), "x", key_id=f"0x{KEY}", order_id=KEY.upper())
    (line,) = (json.loads(x) for x in stream.getvalue().splitlines())
    assert line["key_id"] == MASK and line["order_id"] == MASK


def test_cli_config_prints_urls_without_their_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_DATABASE_URL", PG_URL)
    monkeypatch.setenv("MIRROR_GMX_RPC_URL", f"https://arb-mainnet.g.alchemy.com/v2/{ALCHEMY_KEY}")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert PG_PASSWORD not in result.output and ALCHEMY_KEY not in result.output
    shown = f"postgresql+asyncpg://mirror:{MASK}@db.internal:5432/mirrorbot"
    assert f"MIRROR_DATABASE_URL={shown}" in result.output
    assert f"# database:  {shown}" in result.output
    assert f"MIRROR_GMX_RPC_URL=https://arb-mainnet.g.alchemy.com/v2/{MASK}" in result.output


def test_a_refused_setting_never_echoes_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_DATABASE_URL", f"mysql://root:{PG_PASSWORD}@db/x")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert PG_PASSWORD not in str(info.value)
    assert "MIRROR_DATABASE_URL" in str(info.value) and "postgresql://" in str(info.value)


def test_a_cli_error_quoting_the_venue_url_hides_its_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.service.support import fixed_key, write_fast_keystore

    monkeypatch.chdir(tmp_path)
    keystore, _ = write_fast_keystore(tmp_path / "agent.json", "correct horse")
    env = {
        "MIRROR_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "MIRROR_HL_API_URL": f"http://127.0.0.1:9/{ALCHEMY_KEY}",  # a provider URL carrying its key
        "MIRROR_KEYSTORE_PASSWORD": "correct horse",
    }
    master = fixed_key("url-in-error").address
    args = ["account", "add", "--address", master, "--keystore", str(keystore), "--check-venue"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1
    assert f"venue URL http://127.0.0.1:9/{MASK}" in result.stderr and ALCHEMY_KEY not in result.stderr
