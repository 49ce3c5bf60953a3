"""Settings: MIRROR_ variables, defaults, and a clear refusal naming a bad variable."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import MAINNET_API_URL, TESTNET_API_URL, Network, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No developer .env or MIRROR_* variable may leak into these tests.
    monkeypatch.chdir(tmp_path)
    import os

    for name in list(os.environ):
        if name.startswith("MIRROR_"):
            monkeypatch.delenv(name)


def test_defaults_are_localnet_with_sqlite_file() -> None:
    settings = load_settings()
    assert settings.network is Network.LOCALNET
    assert settings.api_url == "http://127.0.0.1:8787"
    assert settings.db_url == "sqlite+aiosqlite:///.mirrorbot/mirrorbot.db"
    assert settings.slippage_cap == Decimal("0.01")
    assert not settings.is_mainnet


@pytest.mark.parametrize(("network", "url"), [("mainnet", MAINNET_API_URL), ("testnet", TESTNET_API_URL)])
def test_network_selects_url(monkeypatch: pytest.MonkeyPatch, network: str, url: str) -> None:
    monkeypatch.setenv("MIRROR_NETWORK", network)
    settings = load_settings()
    assert settings.api_url == url
    assert settings.is_mainnet is (network == "mainnet")


def test_api_url_override_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_NETWORK", "mainnet")
    monkeypatch.setenv("MIRROR_HL_API_URL", "http://127.0.0.1:9999/")
    settings = load_settings()
    assert settings.api_url == "http://127.0.0.1:9999"
    # Redirected away from mainnet: signatures use the testnet domain, as the SDK does.
    assert not settings.is_mainnet


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MIRROR_NETWORK=testnet\nMIRROR_DATABASE_URL=sqlite+aiosqlite:///x.db\n")
    settings = load_settings()
    assert settings.network is Network.TESTNET
    assert settings.db_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MIRROR_NETWORK", "moonnet", "accepted values are 'mainnet', 'testnet' or 'localnet'"),
        ("MIRROR_HL_API_URL", "ftp://x", "must start with http:// or https://"),
        ("MIRROR_LOCALNET_PORT", "70000", "MIRROR_LOCALNET_PORT"),
        ("MIRROR_SLIPPAGE_CAP", "2", "MIRROR_SLIPPAGE_CAP"),
        ("MIRROR_LOG_LEVEL", "LOUD", "must be one of DEBUG, INFO"),
        ("MIRROR_TELEGRAM_ADMINS", "12,bob", "numeric Telegram user ids"),
        ("MIRROR_HL_NODE_DATA", "/nonexistent/hl/data", "must be an existing directory"),
        ("MIRROR_BUS_STREAM_MAX_LEN", "50", "greater than or equal to 100"),
        ("MIRROR_BUS_STREAM_MAX_LEN", "99999999999", "less than or equal to 10000000"),
        ("MIRROR_BUS_STREAM_MAX_LEN", "abc", "valid integer"),
        ("MIRROR_ACCOUNTS_REFRESH_S", "0", "greater than or equal to 1"),
        ("MIRROR_RECONCILE_S", "100000", "less than or equal to 86400"),
        ("MIRROR_DEAD_MAN_REARM_S", "300", "less than or equal to 240"),
    ],
)
def test_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert name in str(info.value)
    assert expected in str(info.value)


def test_cli_stops_on_bad_setting_with_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_NETWORK", "moonnet")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert "MIRROR_NETWORK" in result.output


def test_cli_config_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_TELEGRAM_TOKEN", "123:supersecret")
    monkeypatch.setenv("MIRROR_TELEGRAM_ADMINS", "42")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "supersecret" not in result.output
    assert "MIRROR_TELEGRAM_TOKEN=**********" in result.output
    assert load_settings().telegram_admin_ids == frozenset({42})


def test_env_example_documents_every_setting() -> None:
    from bot.config import ENV_PREFIX, Settings

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    missing = [
        ENV_PREFIX + name.upper() for name in Settings.model_fields if ENV_PREFIX + name.upper() not in text
    ]
    assert not missing, f".env.example lacks {missing}"


def test_bus_url_is_taken_beside_a_postgresql_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_DATABASE_URL", "postgresql://u:p@db.internal:5432/mirror")
    monkeypatch.setenv("MIRROR_BUS_URL", "redis://127.0.0.1:6379/0")
    assert load_settings().bus_url == "redis://127.0.0.1:6379/0"
    monkeypatch.delenv("MIRROR_BUS_URL")
    assert load_settings().bus_url is None  # unset: one process, the embedded default


@pytest.mark.parametrize("database", [None, "sqlite:///x.db"])
def test_bus_url_with_a_sqlite_ledger_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, database: str | None
) -> None:
    if database is not None:
        monkeypatch.setenv("MIRROR_DATABASE_URL", database)
    monkeypatch.setenv("MIRROR_BUS_URL", "redis://:hunter2secret@10.0.0.5:6379/0")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert (
        message.startswith("invalid setting MIRROR_BUS_URL: ") and "PostgreSQL MIRROR_DATABASE_URL" in message
    )
    assert "\n" not in message and "hunter2secret" not in message


def test_bus_url_must_be_a_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_DATABASE_URL", "postgresql://u:p@db/mirror")
    monkeypatch.setenv("MIRROR_BUS_URL", "http://127.0.0.1:6379")
    with pytest.raises(SettingsError, match=r"MIRROR_BUS_URL: .*redis://"):
        load_settings()


def test_the_schedule_settings_reach_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.pipeline.runner_options import RunnerOptions

    assert RunnerOptions.of_settings(load_settings()) == RunnerOptions()  # the defaults are the same
    monkeypatch.setenv("MIRROR_ACCOUNTS_REFRESH_S", "300")
    monkeypatch.setenv("MIRROR_RECONCILE_S", "600")
    monkeypatch.setenv("MIRROR_DEAD_MAN_REARM_S", "240")
    options = RunnerOptions.of_settings(load_settings())
    assert (options.accounts_refresh_s, options.reconcile_s, options.dead_man_rearm_s) == (300, 600, 240)
