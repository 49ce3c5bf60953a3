"""MIRROR_DATABASE_URL's spelling rules live in the base layer (bot/database_url.py, standard library only)
so that the settings need not import the ledger. They must accept and refuse exactly what the ledger's
former check did with SQLAlchemy's URL parser: generated URLs are judged by both."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from bot.config import SettingsError, load_settings
from bot.database_url import DatabaseUrlError, database_url

SCHEMES = st.sampled_from(["sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg"])
PIECES = st.text(alphabet="ab1:/@?[]%2 _+-.=", max_size=24)


def _sqlalchemy_verdict(driver_url: str) -> str | None:
    """What the former check (SQLAlchemy's `make_url`) said about a URL already in driver spelling."""
    try:
        parsed = make_url(driver_url)
    except Exception:
        return "malformed URL"
    if driver_url.startswith("postgresql") and not parsed.database:
        return "no database name"
    return None


def _verdict(url: str) -> str | None:
    try:
        database_url(url)
    except DatabaseUrlError as exc:
        return "malformed URL" if "malformed URL" in str(exc) else "no database name"
    return None


@settings(max_examples=300, deadline=None)
@given(scheme=SCHEMES, rest=PIECES)
def test_the_rules_judge_a_url_as_sqlalchemys_parser_does(scheme: str, rest: str) -> None:
    driver = {
        "sqlite": "sqlite+aiosqlite",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
    }
    url = f"{scheme}://{rest}"
    assert _verdict(url) == _sqlalchemy_verdict(f"{driver.get(scheme, scheme)}://{rest.rstrip()}"), url


def test_the_settings_refuse_a_bad_url_with_the_rules_words() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(database_url="postgresql://u:hunter22@h:notaport/db")
    message = str(info.value)
    assert "MIRROR_DATABASE_URL" in message and "malformed URL" in message and "hunter22" not in message
