"""Structured logging: JSON lines, console lines, the redaction of keys and tokens, `log_event`."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.config import LogFormat, load_settings
from bot.domain import TradingAccount
from bot.logs import MASK, configure_from_settings, configure_logging, log_event, redact_text

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
D1 = Decimal("1.5")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Order:
    coin: str
    size: Decimal


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_mirror_handler", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_has_the_base_keys_and_the_extra_fields(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    logging.getLogger("bot.test").info(
        "placed %s", "ETH", extra={"size": Decimal("0.10"), "colour": Colour.RED, "order": Order("BTC", D1)}
    )
    (line,) = lines(stream)
    assert TS.match(line["ts"]), line["ts"]
    assert (line["level"], line["logger"], line["msg"]) == ("INFO", "bot.test", "placed ETH")
    assert line["size"] == "0.10"  # exact, as a string: never a float
    assert line["colour"] == "red"
    assert line["order"] == {"coin": "BTC", "size": "1.5"}


def test_levels_below_the_setting_are_dropped(stream: io.StringIO) -> None:
    configure_logging("WARNING", LogFormat.JSON, stream=stream)
    log = logging.getLogger("bot.test")
    log.info("quiet")
    log.warning("loud")
    assert [line["msg"] for line in lines(stream)] == ["loud"]


def test_log_event_carries_fields_even_with_logrecord_names(stream: io.StringIO) -> None:
    configure_logging("DEBUG", LogFormat.JSON, stream=stream)
    log_event(
        logging.getLogger("bot.pipe"), "order_placed", name="x", msg="clash", coin="ETH", px=Decimal("3000")
    )
    (line,) = lines(stream)
    assert line["msg"] == "order_placed" and line["event"] == "order_placed"
    assert (line["name"], line["msg_"], line["coin"], line["px"]) == ("x", "clash", "ETH", "3000")


def test_log_event_respects_the_level(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    log_event(logging.getLogger("bot.pipe"), "noise", level=logging.DEBUG, n=1)
    log_event(logging.getLogger("bot.pipe"), "trouble", level=logging.ERROR, n=2)
    assert [(line["level"], line["n"]) for line in lines(stream)] == [("ERROR", 2)]


def test_console_line_reads_as_key_value(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.CONSOLE, stream=stream)
    log_event(logging.getLogger("bot.pipe"), "deferred", coin="SOL", reason="below $10", size=Decimal("0.06"))
    text = stream.getvalue().strip()
    assert re.match(r"^\S+Z INFO +bot\.pipe: deferred ", text), text
    assert 'coin=SOL reason="below $10" size=0.06' in text
    assert "event=" not in text  # the message already names the event


def test_reconfiguring_replaces_only_our_handler(stream: io.StringIO) -> None:
    other = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(other)
    try:
        configure_logging("INFO", LogFormat.JSON, stream=io.StringIO())
        configure_logging("INFO", LogFormat.JSON, stream=stream)
        ours = [h for h in root.handlers if getattr(h, "_mirror_handler", False)]
        assert len(ours) == 1 and other in root.handlers
        logging.getLogger("x").warning("once")
        assert len(lines(stream)) == 1
    finally:
        root.removeHandler(other)


# --- redaction -----------------------------------------------------------------------------------------


def test_a_private_key_is_masked_in_message_args_and_fields(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    log = logging.getLogger("bot.test")
    log.info("key %s leaked", KEY, extra={"detail": f"k={KEY[2:]}", "nested": {"list": [KEY.upper()]}})
    output = stream.getvalue()
    assert KEY[2:].lower() not in output.lower()
    (line,) = lines(stream)
    assert line["msg"] == f"key {MASK} leaked"
    assert line["detail"] == f"k={MASK}"
    assert line["nested"] == {"list": [MASK]}


def test_a_bot_token_is_masked_also_inside_an_api_url(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.CONSOLE, stream=stream)
    logging.getLogger("telegram").warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
    assert TOKEN.split(":")[1] not in stream.getvalue()
    assert f"/bot{MASK}/getMe" in stream.getvalue()


def test_secret_named_fields_and_repr_hidden_dataclass_fields_are_masked(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    account = TradingAccount("0x" + "ab" * 20, signer_key="not-hex-but-secret")
    logging.getLogger("x").info(
        "start", extra={"password": "hunter22", "api_key": "abc", "account": account, "tokens": ["ETH"]}
    )
    assert "hunter22" not in stream.getvalue() and "not-hex-but-secret" not in stream.getvalue()
    (line,) = lines(stream)
    assert (line["password"], line["api_key"], line["tokens"]) == (MASK, MASK, ["ETH"])
    assert line["account"] == {"address": "0x" + "ab" * 20, "vault_address": None}


def test_a_key_in_an_exception_is_masked_in_the_traceback(stream: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, stream=stream)
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        logging.getLogger("x").exception("failed")
    (line,) = lines(stream)
    assert "ValueError: bad key" in line["exc"]
    assert KEY[2:] not in stream.getvalue()


def test_the_configured_secrets_are_masked_verbatim(stream: io.StringIO) -> None:
    settings = load_settings(
        log_format="json", log_level="info", keystore_password=SecretStr("correct horse"), telegram_token=None
    )
    configure_from_settings(settings, stream=stream)
    logging.getLogger("x").info("password is correct horse")
    assert lines(stream)[0]["msg"] == f"password is {MASK}"


def test_addresses_signatures_and_numbers_are_not_masked() -> None:
    address = Account.create().address
    signature = "0x" + "1f" * 65
    text = f"{address} {signature} oid=123456789 px=3000.5 ts=1732230000123"
    assert redact_text(text) == text


@given(key=st.binary(min_size=32, max_size=32), before=st.text(max_size=20), after=st.text(max_size=20))
def test_any_key_anywhere_is_masked(key: bytes, before: str, after: str) -> None:
    for spelling in (key.hex(), "0x" + key.hex(), "0X" + key.hex().upper()):
        text = redact_text(f"{before} {spelling} {after}")
        assert key.hex() not in text.lower()
